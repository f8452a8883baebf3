"""adopt makes a user's table the project's data, or leaves the project exactly as it was."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pytest
import yaml
from sklearn import datasets

from {{ cookiecutter.package_name }}.adopt.adopt import AdoptResult, adopt
from {{ cookiecutter.package_name }}.data.tables import read_table
from {{ cookiecutter.package_name }}.errors import ProjectError

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with the project's params.yaml, a schema and a CSV as its training
    data (whatever the project itself adopted: the tests below start from a CSV)."""
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    params = yaml.safe_load((PROJECT / "params.yaml").read_text(encoding="utf-8"))
    params["data"]["train"] = "data/train.csv"
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    (root / "schema.yaml").write_text("# the demo's contract\n", encoding="utf-8")
    (root / "data" / "train.csv").write_text("day,quantity\n2024-01-01,3\n", encoding="utf-8")
    return root


@pytest.fixture
def diabetes_csv(tmp_path: Path) -> Path:
    path = tmp_path / "diabetes.csv"
    datasets.load_diabetes(as_frame=True).frame.to_csv(path, index=False)
    return path


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its bytes: equal snapshots mean an untouched project."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def validate_and_read(project: Path) -> str:
    """A stand-in for the real check: the new data must pass the new schema."""
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    schema = pa.DataFrameSchema.from_yaml(project / params["data"]["schema"])
    schema.validate(read_table(project / params["data"]["train"]), lazy=True)
    return "trained"


def failing_check(project: Path) -> None:
    raise RuntimeError("training failed")


def test_it_writes_the_schema_the_params_and_the_data_then_checks(project, diabetes_csv):
    result = adopt(diabetes_csv, project, target="target", check=validate_and_read)
    assert isinstance(result, AdoptResult)
    assert result.checked == "trained"
    assert result.written == [
        project / "schema.yaml",
        project / "params.yaml",
        project / "data" / "train.csv",
    ]
    assert any(decision.startswith("Task: regression") for decision in result.decisions)
    pd.testing.assert_frame_equal(
        read_table(project / "data" / "train.csv"), read_table(diabetes_csv)
    )
    assert "Inferred by `adopt` from diabetes.csv" in (project / "schema.yaml").read_text()
    assert not list(project.rglob(".*"))  # no backup or temp file left behind


def test_the_params_keep_the_model_seed_incoming_data_retrain_and_serving(project, diabetes_csv):
    before = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    adopt(diabetes_csv, project, target="target", check=validate_and_read)
    text = (project / "params.yaml").read_text(encoding="utf-8")
    after = yaml.safe_load(text)
    assert text.startswith("# Everything a reviewer may change")
    assert after["model"]["name"] == before["model"]["name"]
    kept = before["model"]["hyperparameters"]
    assert {key: after["model"]["hyperparameters"][key] for key in kept} == kept
    assert after["model"]["target_transform"] == "none"
    for section in ("seed", "retrain", "serving"):
        assert after[section] == before[section], section
    assert after["data"] == {
        "train": "data/train.csv",
        "schema": "schema.yaml",
        "incoming": before["data"]["incoming"],
    }
    assert after["target"] == "target"
    assert len(after["features"]["numeric"]) == 10
    assert after["gate"]["primary_metric"] == "mae"
    assert list(after) == [
        "description",
        "task",
        "target",
        "data",
        "features",
        "key",
        "slices",
        "model",
        "split",
        "seed",
        "gate",
        "drift",
        "retrain",
        "serving",
    ]


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_the_written_file_passes_the_written_schema_with_every_kind_of_column(
    project, tmp_path, suffix
):
    rows = 120
    frame = pd.DataFrame(
        {
            "day": pd.date_range("2024-01-01", periods=rows, freq="D").strftime("%Y-%m-%d"),
            "branch": [["north", "south", "east"][i % 3] for i in range(rows)],
            "on_offer": [None if i % 7 == 0 else i % 2 == 0 for i in range(rows)],
            "cost": [None if i % 11 == 0 else 1.0 + i % 9 for i in range(rows)],
            "note": [f"note {i}, long enough to count as free text, surely" for i in range(rows)],
            "label": [["yes", "no"][(i // 3) % 2] for i in range(rows)],
        }
    )
    source = tmp_path / f"mixed.{suffix}"
    if suffix == "csv":
        frame.to_csv(source, index=False)
    else:
        frame.to_parquet(source, index=False)
    result = adopt(source, project, target="label", time_column="day", check=validate_and_read)
    assert result.checked == "trained"
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    assert params["features"] == {
        "categorical": ["branch", "on_offer"],
        "numeric": ["cost"],
        "datetime": [],
    }
    assert params["split"]["time_column"] == "day"


def test_a_failing_check_leaves_every_file_as_it_was(project, diabetes_csv):
    before = snapshot(project)
    with pytest.raises(RuntimeError, match="training failed"):
        adopt(diabetes_csv, project, target="target", check=failing_check)
    assert snapshot(project) == before


def test_adopting_the_projects_own_training_file_in_place_rolls_back_too(project, diabetes_csv):
    own = project / "data" / "train.csv"
    shutil.copy(diabetes_csv, own)
    before = snapshot(project)
    with pytest.raises(RuntimeError):
        adopt(own, project, target="target", check=failing_check)
    assert snapshot(project) == before
    adopt(own, project, target="target", check=validate_and_read)
    pd.testing.assert_frame_equal(read_table(own), read_table(diabetes_csv))


def test_bad_input_changes_nothing(project, diabetes_csv):
    before = snapshot(project)
    with pytest.raises(ProjectError, match="target column 'weight' not found"):
        adopt(diabetes_csv, project, target="weight", check=validate_and_read)
    assert snapshot(project) == before


def test_a_parquet_source_becomes_parquet_training_data(project, tmp_path):
    source = tmp_path / "iris.parquet"
    datasets.load_iris(as_frame=True).frame.to_parquet(source, index=False)
    result = adopt(source, project, target="target", check=validate_and_read)
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    assert params["data"]["train"] == "data/train.parquet"
    assert project / "data" / "train.parquet" in result.written
    # the demo's CSV stays (adopt deletes nothing) and the decisions say it is unused now
    assert (project / "data" / "train.csv").exists()
    assert any("previous training data" in decision for decision in result.decisions)


def test_a_new_task_keeps_hyperparameters_its_estimator_accepts(project, tmp_path):
    source = tmp_path / "wine.csv"
    datasets.load_wine(as_frame=True).frame.to_csv(source, index=False)
    before = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))["model"]
    adopt(source, project, target="target", check=validate_and_read)
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    assert params["task"] == "classification"
    if before["name"] != "linear":  # the tree models take the same settings for both tasks
        written = params["model"]["hyperparameters"]
        assert {key: written[key] for key in before["hyperparameters"]} == before["hyperparameters"]


def test_gradient_boosting_stops_early_unless_told_otherwise(project, diabetes_csv):
    params_path = project / "params.yaml"
    params = yaml.safe_load(params_path.read_text(encoding="utf-8"))
    params["model"] = dict(name="gradient_boosting", hyperparameters=dict(max_iter=300))
    params_path.write_text(yaml.safe_dump(params), encoding="utf-8")

    result = adopt(diabetes_csv, project, target="target", check=validate_and_read)
    written = yaml.safe_load(params_path.read_text(encoding="utf-8"))["model"]
    assert written["hyperparameters"] == {"max_iter": 300, "early_stopping": True}
    stops_early = "Model: gradient boosting stops early"
    assert any(decision.startswith(stops_early) for decision in result.decisions)

    # a reviewer's choice is kept when the project adopts data again
    params = yaml.safe_load(params_path.read_text(encoding="utf-8"))
    params["model"]["hyperparameters"]["early_stopping"] = False
    params_path.write_text(yaml.safe_dump(params), encoding="utf-8")
    result = adopt(diabetes_csv, project, target="target", check=validate_and_read)
    written = yaml.safe_load(params_path.read_text(encoding="utf-8"))["model"]
    assert written["hyperparameters"]["early_stopping"] is False
    assert not any(decision.startswith("Model:") for decision in result.decisions)


def test_a_new_task_drops_hyperparameters_its_estimator_does_not_take(project, tmp_path):
    params_path = project / "params.yaml"
    params = yaml.safe_load(params_path.read_text(encoding="utf-8"))
    params["task"] = "regression"
    params["model"] = dict(name="linear", hyperparameters=dict(alpha=2.0))
    params_path.write_text(yaml.safe_dump(params), encoding="utf-8")
    source = tmp_path / "wine.csv"
    datasets.load_wine(as_frame=True).frame.to_csv(source, index=False)
    result = adopt(source, project, target="target", check=validate_and_read)
    written = yaml.safe_load(params_path.read_text(encoding="utf-8"))
    assert "hyperparameters" not in written["model"]
    assert any("The task changed" in decision for decision in result.decisions)


def test_a_rollback_removes_files_and_folders_that_did_not_exist(project, tmp_path):
    shutil.rmtree(project / "data")
    (project / "schema.yaml").unlink()
    before = snapshot(project)
    source = tmp_path / "cancer.parquet"
    datasets.load_breast_cancer(as_frame=True).frame.to_parquet(source, index=False)
    with pytest.raises(RuntimeError):
        adopt(source, project, target="target", check=failing_check)
    assert snapshot(project) == before
    assert not (project / "data").exists()


def test_a_keyboard_interrupt_during_the_check_also_rolls_back(project, diabetes_csv):
    def interrupted(project: Path) -> None:
        raise KeyboardInterrupt

    before = snapshot(project)
    with pytest.raises(KeyboardInterrupt):
        adopt(diabetes_csv, project, target="target", check=interrupted)
    assert snapshot(project) == before


def test_a_project_without_params_is_an_error(tmp_path, diabetes_csv):
    with pytest.raises(ProjectError, match=r"params\.yaml not found"):
        adopt(diabetes_csv, tmp_path, target="target", check=validate_and_read)


def test_adopt_says_plainly_whether_the_model_beats_its_baseline(project, tmp_path, capsys):
    from {{ cookiecutter.package_name }}.cli import main

    frame = datasets.load_diabetes(as_frame=True).frame
    learnable = tmp_path / "learnable.csv"
    frame.to_csv(learnable, index=False)
    noise = tmp_path / "noise.csv"
    rng = __import__("numpy").random.default_rng(0)
    frame.assign(target=rng.permutation(frame["target"].to_numpy())).to_csv(noise, index=False)
    params = str(project / "params.yaml")

    assert main(["adopt", str(learnable), "--target", "target", "--params", params]) == 0
    said = capsys.readouterr().out
    assert "Baseline: mae" in said and "for the baseline (the training median" in said
    assert "does NOT beat" not in said and "open a pull request" in said

    assert main(["adopt", str(noise), "--target", "target", "--params", params]) == 0
    said = capsys.readouterr().out
    assert "The model does NOT beat its baseline" in said
    assert "open a pull request." not in said and "Not ready for a pull request:" in said


@pytest.fixture
def whole_project(project: Path) -> Path:
    """The project with the repository files adopt also rewrites: README, pyproject, smoke."""
    for name in ("README.md", "pyproject.toml", ".github/smoke/predict.json"):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT / name, project / name)
    return project


def test_the_readme_pyproject_and_smoke_request_describe_the_new_data(whole_project, tmp_path):
    frame = datasets.load_wine(as_frame=True).frame
    frame.to_csv(tmp_path / "wine.csv", index=False)

    result = adopt(tmp_path / "wine.csv", whole_project, target="target", check=validate_and_read)

    params = yaml.safe_load((whole_project / "params.yaml").read_text(encoding="utf-8"))
    assert params["description"].startswith("Predicts target (classification) from 13 columns")
    readme = (whole_project / "README.md").read_text(encoding="utf-8")
    assert params["description"] in readme and "| `proline` | feature (numeric) |" in readme
    assert "demo only" not in readme
    pyproject = (whole_project / "pyproject.toml").read_text(encoding="utf-8")
    assert f'description = "{params["description"]}"' in pyproject
    rows = json.loads((whole_project / ".github/smoke/predict.json").read_text())["rows"]
    assert len(rows) == 2 and set(rows[0]) == set(frame.columns) - {"target"}
    assert whole_project / "README.md" in result.written


def test_a_failing_check_leaves_the_readme_pyproject_and_smoke_request_as_they_were(
    whole_project, diabetes_csv
):
    before = snapshot(whole_project)
    with pytest.raises(RuntimeError):
        adopt(diabetes_csv, whole_project, target="target", check=failing_check)
    assert snapshot(whole_project) == before


def test_a_given_description_is_the_projects_line(whole_project, diabetes_csv):
    line = "Predicts how a disease progresses within a year."
    adopt(diabetes_csv, whole_project, target="target", description=line, check=validate_and_read)
    assert line in (whole_project / "README.md").read_text(encoding="utf-8")


def test_a_model_no_better_than_its_baseline_with_a_time_column_is_not_ready(params_file):
    from types import SimpleNamespace

    from {{ cookiecutter.package_name }}.adopt.trivial import doubt_about
    from {{ cookiecutter.package_name }}.model.params import load_params

    params = load_params(params_file)
    primary = params.gate.primary_metric
    worse = {"skill": {primary: -1.0}, "metrics": dict.fromkeys([primary], 1.0)}
    trained = SimpleNamespace(
        metrics={primary: 2.0}, baseline={"baseline": "the training median (1)", **worse}
    )
    said = doubt_about(params, trained)
    assert f"{primary} 2 is no better than the baseline's 1 (the training median (1))" in said
    if params.split.time_column:
        assert "adopt again without --time-column" in said
    skill = {primary: 0.5}
    better = SimpleNamespace(metrics={primary: 0.5}, baseline={**trained.baseline, "skill": skill})
    bounded = params.gate.absolute_min or params.gate.absolute_max  # may be missed on their own
    assert doubt_about(params, better) is None or bounded
