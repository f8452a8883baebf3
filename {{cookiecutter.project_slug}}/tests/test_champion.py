"""The champion is main's model, rebuilt from the base commit of a real git repository."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.champion import build_champion
from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.errors import ProjectError

from conftest import PROJECT

IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        env={**os.environ, **IDENTITY},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def new_repo(path: Path) -> Path:
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    return path


def add_project(repo: Path, data: Path) -> None:
    """This project's code and params, training on a copy of `data`, as files of `repo`."""
    shutil.copytree(PROJECT / "src", repo / "src", ignore=shutil.ignore_patterns("__pycache__"))
    (repo / "data").mkdir(exist_ok=True)
    shutil.copy(data, repo / "data" / "train.csv")
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    params["data"]["train"] = "data/train.csv"
    (repo / "params.yaml").write_text(yaml.safe_dump(params))


def worktrees(repo: Path) -> list[str]:
    listing = git(repo, "worktree", "list", "--porcelain")
    return [line for line in listing.splitlines() if line.startswith("worktree ")]


def test_it_trains_the_base_commit_with_its_own_code_and_params(tmp_path, baseline_csv):
    repo = new_repo(tmp_path / "repo")
    add_project(repo, baseline_csv)
    runrecord = next((repo / "src").glob("*/runrecord.py"))
    original = runrecord.read_text()
    runrecord.write_text(original.replace("PACKAGES = (", 'PACKAGES = ("marker-of-the-base", ', 1))
    base = commit_all(repo, "base")
    git(repo, "checkout", "-q", "-b", "pr")
    runrecord.write_text(original)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    (repo / "params.yaml").write_text(yaml.safe_dump({**params, "seed": 7}))
    commit_all(repo, "the pull request")

    out = tmp_path / "champion"
    code = main(
        ["champion", "--base", "main", "--out", str(out), "--params", str(repo / "params.yaml")]
    )

    assert code == 0
    run = json.loads((out / "run.json").read_text())
    assert run["git"] == {"commit": base, "dirty": False}
    assert run["seed"] == 42  # the base's params, not the PR's
    assert "marker-of-the-base" in run["packages"]  # the base's code, not the PR's
    assert (out / "metrics.json").is_file() and not (out / "status.json").exists()
    assert worktrees(repo) == [f"worktree {repo.resolve()}"]
    assert git(repo, "status", "--porcelain") == ""


def test_a_base_without_the_project_means_main_has_no_model_yet(tmp_path, baseline_csv):
    repo = new_repo(tmp_path / "repo")
    (repo / "README.md").write_text("an empty repository\n")
    base = commit_all(repo, "first commit")
    add_project(repo, baseline_csv)

    status = build_champion("main", tmp_path / "champion", params=repo / "params.yaml")

    assert status["status"] == "absent" and status["commit"] == base
    assert "main has no model yet" in status["reason"]
    written = json.loads((tmp_path / "champion" / "status.json").read_text())
    assert written == status
    assert worktrees(repo) == [f"worktree {repo.resolve()}"]


def test_a_base_that_cannot_be_trained_fails_with_the_end_of_its_error(tmp_path, baseline_csv):
    repo = new_repo(tmp_path / "repo")
    add_project(repo, baseline_csv)
    broken = pd.read_csv(repo / "data" / "train.csv")
    broken.loc[3, "price"] = -1
    broken.to_csv(repo / "data" / "train.csv", index=False)
    commit_all(repo, "data with a negative price")
    out = tmp_path / "champion"
    out.mkdir()
    (out / "model.joblib").write_text("a stale model that must not pass for main's")

    status = build_champion("main", out, params=repo / "params.yaml")

    assert status["status"] == "failed"
    assert "exited 1" in status["reason"] and "price: must be > 0 (1 rows)" in status["reason"]
    assert [path.name for path in out.iterdir()] == ["status.json"]
    assert worktrees(repo) == [f"worktree {repo.resolve()}"]


def test_outside_git_or_with_an_unknown_base_it_is_an_error(tmp_path, baseline_csv, capsys):
    add_project(tmp_path, baseline_csv)
    with pytest.raises(ProjectError, match="not in a git repository"):
        build_champion("main", tmp_path / "out", params=tmp_path / "params.yaml")
    repo = new_repo(tmp_path / "repo")
    add_project(repo, baseline_csv)
    commit_all(repo, "base")
    args = ["champion", "--out", str(tmp_path / "out"), "--params", str(repo / "params.yaml")]
    assert main([*args, "--base", "no-such-branch"]) == 1
    assert "unknown git revision 'no-such-branch'" in capsys.readouterr().err
    assert main([*args, "--base=--output=pwned"]) == 1  # never passed to git as an option
    assert not (tmp_path / "out").exists()
