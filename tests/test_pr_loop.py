"""The pull-request loop of a baked project, as its pr workflow runs it, in a real git repo."""

from __future__ import annotations

import json

import pytest
from git_repo import commit_all, git

from conftest import bake, run_cli

PACKAGE = "demand_forecast"
MARKER = "<!-- demand-forecast:model-report -->"


@pytest.mark.slow
def test_a_params_pull_request_gets_a_comparison_with_main(cookies):
    project = bake(cookies)
    git(project, "init", "-q", "-b", "main")
    base = commit_all(project, "the generated project")
    git(project, "checkout", "-q", "-b", "tune-learning-rate")
    params = project / "params.yaml"
    assert "learning_rate: 0.1," in params.read_text()
    params.write_text(params.read_text().replace("learning_rate: 0.1,", "learning_rate: 0.05,"))
    head = commit_all(project, "a slower learning rate")

    run_cli(project, PACKAGE, "validate", "data/train.csv", "--markdown", "reports/validation.md")
    run_cli(project, PACKAGE, "train", "--out", "models/challenger")
    run_cli(project, PACKAGE, "champion", "--base", "main", "--out", "models/champion")
    done = run_cli(
        project,
        PACKAGE,
        "compare",
        "--champion",
        "models/champion",
        "--challenger",
        "models/challenger",
        "--data",
        "data/train.csv",
        "--validation",
        "reports/validation.md",
        "--artifacts",
        "reports/compare",
        "--out",
        "reports/comment.md",
        check=False,
    )

    comment = (project / "reports" / "comment.md").read_text()
    report = json.loads((project / "reports" / "compare" / "report.json").read_text())
    assert done.returncode == (0 if report["passed"] else 1), done.stderr
    assert comment.splitlines()[0] == MARKER
    verdict = comment.splitlines()[2]
    assert verdict.startswith(("## ✅ ", "## ❌ ")) and "wape " in verdict
    assert report["verdict"] in ("better", "no clear change", "worse", "identical")
    assert "| `model.hyperparameters.learning_rate` | `0.1` | `0.05` |" in comment
    assert "Same training data." in comment and "**Data validation passed**" in comment
    assert "Same dependencies (`uv.lock`)." in comment  # the champion recorded main's lock
    assert f"`{base[:12]}`" in comment and f"`{head[:12]}`" in comment  # main's and the PR's
    assert "```mermaid\nxychart-beta" in comment and "95% interval of Δ" in comment
    assert json.loads((project / "models" / "champion" / "run.json").read_text())["git"] == {
        "commit": base,
        "dirty": False,
    }
    assert len(git(project, "worktree", "list").splitlines()) == 1  # the base's checkout is gone
    assert git(project, "status", "--porcelain") == ""  # models/ and reports/ are ignored
