"""Baking: the exact file set, every option value, no leftover Jinja, files that parse."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from conftest import TEMPLATE, bake

OPTIONS = json.loads((TEMPLATE / "cookiecutter.json").read_text())
CHOICES = {
    name: values
    for name, values in OPTIONS.items()
    if isinstance(values, list) and not name.startswith("_")
}

DEFAULT_FILES = {
    ".gitignore",
    "LICENSE",
    "README.md",
    "params.yaml",
    "schema.yaml",
    "pyproject.toml",
    "uv.lock",
    "data/train.csv",
    "data/incoming/README.md",
    ".pre-commit-config.yaml",
    ".github/CODEOWNERS",
    ".github/dependabot.yml",
    ".github/pull_request_template.md",
    ".github/actions/setup/action.yml",
    ".github/smoke/predict.json",
    "container/Dockerfile",
    *(
        f"deploy/{name}"
        for name in (
            "base/kustomization.yaml",
            "base/deployment.yaml",
            "base/service.yaml",
            "base/hpa.yaml",
            "base/pdb.yaml",
            "overlays/staging/kustomization.yaml",
            "overlays/staging/resources.yaml",
            "overlays/production/kustomization.yaml",
            "overlays/production/resources.yaml",
            "overlays/production/prediction-logs.yaml",
            "components/service-monitor/kustomization.yaml",
            "components/service-monitor/service-monitor.yaml",
            "argocd/staging.yaml",
            "argocd/production.yaml",
        )
    ),
    *(
        f".github/workflows/{name}.yml"
        for name in ("champion", "ci", "comment", "drift", "pr", "promote", "release")
    ),
    # the package: entry points and shared helpers at the top, one subpackage per stage
    *(
        f"src/demand_forecast/{name}.py"
        for name in (
            "__init__",
            "__main__",
            "caches",
            "cli",
            "commands",
            "demo",
            "errors",
            "folders",
            "github_actions",
            "markdown_text",
            "service",
        )
    ),
    *(
        f"src/demand_forecast/{stage}/{name}.py"
        for stage, names in (
            (
                "model",
                (
                    "__init__",
                    "artifacts",
                    "baseline",
                    "bootstrap",
                    "metrics",
                    "params",
                    "pipeline",
                    "refit",
                ),
            ),
            (
                "data",
                (
                    "__init__",
                    "contract",
                    "dataset",
                    "incoming",
                    "storage",
                    "tables",
                    "validation",
                    "validation_cache",
                ),
            ),
            ("training", ("__init__", "evaluate", "runrecord", "train")),
            (
                "review",
                (
                    "__init__",
                    "champion",
                    "champion_cache",
                    "changes",
                    "comment",
                    "compare",
                    "publish",
                    "repeated_splits",
                    "report",
                    "report_json",
                ),
            ),
            (
                "serve",
                (
                    "__init__",
                    "api",
                    "bento",
                    "card",
                    "predict",
                    "prediction_log",
                    "promote",
                    "shedding",
                ),
            ),
            (
                "monitor",
                (
                    "__init__",
                    "calibrated_params",
                    "calibration",
                    "collect",
                    "decay",
                    "drift",
                    "drift_summary",
                    "evidently_adapter",
                    "gate_tolerance",
                    "retrain",
                ),
            ),
            ("adopt", ("__init__", "adopt", "doubts", "infer", "readme", "smoke", "trivial")),
        )
        for name in names
    ),
    *(
        f"tests/{name}.py"
        for name in (
            "conftest",
            "test_adopt",
            "test_api",
            "test_baseline",
            "test_calibration",
            "test_card",
            "test_champion",
            "test_cli",
            "test_collect",
            "test_comment",
            "test_compare",
            "test_demo_data",
            "test_demo_drift",
            "test_demo_retrain",
            "test_demo_train",
            "test_drift",
            "test_gate_tolerance",
            "test_infer",
            "test_layers",
            "test_params",
            "test_predict",
            "test_prediction_log",
            "test_readme",
            "test_repeated_splits",
            "test_retrain",
            "test_serving",
            "test_smoke",
            "test_promote",
            "test_retrain",
            "test_serving",
            "test_shedding",
            "test_tables",
            "test_train",
            "test_validation",
            "test_validation_cache",
        )
    ),
}
# data_storage=dvc adds DVC's files and the data action, and keeps the data out of git (its
# bytes stay in the working tree and in DVC's cache, for the first `dvc push`)
DVC_FILES = {
    ".dvc/config",
    ".dvc/.gitignore",
    ".dvcignore",
    "data/.gitignore",
    "data/train.csv.dvc",
    ".github/actions/data/action.yml",
}
UNRENDERED = re.compile(r"{{|}}|{%|%}|cookiecutter\.")
GITHUB_EXPRESSION = re.compile(r"\$\{\{[^{}]*\}\}")


def files_of(project: Path) -> set[str]:
    return {
        path.relative_to(project).as_posix()
        for path in project.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_the_defaults_bake_exactly_the_expected_files(cookies):
    assert files_of(bake(cookies)) == DEFAULT_FILES


@pytest.mark.parametrize(
    ("option", "value"),
    [(name, value) for name, values in CHOICES.items() for value in values],
)
def test_every_value_of_every_option_bakes_a_consistent_project(cookies, option, value):
    project = bake(cookies, **{option: value})
    expected = DEFAULT_FILES - ({"LICENSE"} if value == "Not open source" else set())
    if option == "data_storage" and value == "dvc":
        md5 = hashlib.md5((project / "data/train.csv").read_bytes()).hexdigest()
        expected |= DVC_FILES | {f".dvc/cache/files/md5/{md5[:2]}/{md5[2:]}"}
    assert files_of(project) == expected
    assert_fully_rendered(project)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    params = yaml.safe_load((project / "params.yaml").read_text())
    if option in ("task", "model"):
        assert params[option if option == "task" else "model"] == value or (
            params["model"]["name"] == value
        )
    if option == "python_version":
        assert pyproject["project"]["requires-python"] == f">={value}"
    for source in project.rglob("*.py"):
        compile(source.read_text(), str(source), "exec")


def assert_fully_rendered(project: Path) -> None:
    for path in project.rglob("*"):
        if path.is_file() and path.suffix != ".csv":
            text = path.read_text(encoding="utf-8")
            if ".github" in path.parts:  # GitHub's own ${{ }} expressions are meant to stay
                text = GITHUB_EXPRESSION.sub("", text)
            leftovers = UNRENDERED.findall(text)
            assert not leftovers, f"{path} keeps unrendered Jinja: {leftovers}"
        assert not UNRENDERED.search(path.name), f"unrendered file name {path}"


def test_the_classification_task_targets_the_high_demand_flag(cookies):
    params = yaml.safe_load((bake(cookies, task="classification") / "params.yaml").read_text())
    assert (params["task"], params["target"]) == ("classification", "high_demand")


def test_the_names_follow_the_project_name(cookies):
    project = bake(cookies, project_name="Fresh Produce Sales")
    assert project.name == "fresh-produce-sales"
    assert (project / "src" / "fresh_produce_sales" / "cli.py").is_file()
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"] == {
        "fresh-produce-sales": "fresh_produce_sales.cli:main"
    }


@pytest.mark.parametrize(
    "name",
    [
        'Demand "Quoted" Forecast',
        "Prévision de la demande — Café",
        "O'Brien's   Forecast \\ v2",
    ],
)
def test_adversarial_names_and_descriptions_are_kept_as_data(cookies, name):
    project = bake(
        cookies,
        project_name=name,
        description=f'Says "{name}" and \\n means it',
        author_name=name,
    )
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["description"] == f'Says "{name}" and \\n means it'
    assert pyproject["project"]["authors"][0]["name"] == name
    assert (project / "README.md").read_text().startswith(f"# {name}\n")
    assert re.fullmatch(r"[a-z][a-z0-9-]*", project.name)
    assert_fully_rendered(project)
