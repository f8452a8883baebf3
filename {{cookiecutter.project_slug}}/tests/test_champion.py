"""The champion is main's model, rebuilt from the base commit of a real git repository."""

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }}.caches import ENVIRONMENT_VARIABLE
from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.data.tables import read_table, write_table
from {{ cookiecutter.package_name }}.errors import ProjectError
from {{ cookiecutter.package_name }}.review import champion, champion_cache
from {{ cookiecutter.package_name }}.review.champion import build_champion

from conftest import PARAMS, PROJECT, out_of_range, require

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
    """This project's code, params and schema, training on a copy of `data`, as files of `repo`."""
    shutil.copytree(PROJECT / "src", repo / "src", ignore=shutil.ignore_patterns("__pycache__"))
    (repo / "data").mkdir(exist_ok=True)
    train = Path("data") / f"train{data.suffix}"
    shutil.copy(data, repo / train)
    shutil.copy(PARAMS.schema_path, repo / "schema.yaml")
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    params["data"] |= {"train": train.as_posix(), "schema": "schema.yaml"}
    (repo / "params.yaml").write_text(yaml.safe_dump(params))


def worktrees(repo: Path) -> list[str]:
    listing = git(repo, "worktree", "list", "--porcelain")
    return [line for line in listing.splitlines() if line.startswith("worktree ")]


def test_it_trains_the_base_commit_with_its_own_code_and_params(tmp_path, sample_file):
    repo = new_repo(tmp_path / "repo")
    add_project(repo, sample_file)
    runrecord = next((repo / "src").glob("*/training/runrecord.py"))
    original = runrecord.read_text()
    runrecord.write_text(original.replace("PACKAGES = (", 'PACKAGES = ("marker-of-the-base", ', 1))
    base = commit_all(repo, "base")
    git(repo, "checkout", "-q", "-b", "pr")
    runrecord.write_text(original)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    (repo / "params.yaml").write_text(yaml.safe_dump({**params, "seed": PARAMS.seed + 1}))
    commit_all(repo, "the pull request")

    out = tmp_path / "champion"
    code = main(
        ["champion", "--base", "main", "--out", str(out), "--params", str(repo / "params.yaml")]
    )

    assert code == 0
    run = json.loads((out / "run.json").read_text())
    assert run["git"] == {"commit": base, "dirty": False}
    assert run["seed"] == PARAMS.seed  # the base's params, not the PR's
    assert "marker-of-the-base" in run["packages"]  # the base's code, not the PR's
    assert (out / "metrics.json").is_file() and not (out / "status.json").exists()
    assert worktrees(repo) == [f"worktree {repo.resolve()}"]
    assert git(repo, "status", "--porcelain") == ""


def test_a_base_without_the_project_means_main_has_no_model_yet(tmp_path, sample_file):
    repo = new_repo(tmp_path / "repo")
    (repo / "README.md").write_text("an empty repository\n")
    base = commit_all(repo, "first commit")
    add_project(repo, sample_file)

    status = build_champion("main", tmp_path / "champion", params=repo / "params.yaml")

    assert status["status"] == "absent" and status["commit"] == base
    assert "main has no model yet" in status["reason"]
    written = json.loads((tmp_path / "champion" / "status.json").read_text())
    assert written == status
    assert worktrees(repo) == [f"worktree {repo.resolve()}"]


def test_a_base_that_cannot_be_trained_fails_with_the_end_of_its_error(tmp_path, sample_file):
    repo = new_repo(tmp_path / "repo")
    add_project(repo, sample_file)
    column, value, _ = require(out_of_range(), "bounded feature")
    train = next((repo / "data").glob("train.*"))
    broken = read_table(train).astype({column: object})
    broken.loc[3, column] = value
    write_table(broken, train)
    commit_all(repo, "data with a value out of range")
    out = tmp_path / "champion"
    out.mkdir()
    (out / "model.joblib").write_text("a stale model that must not pass for main's")

    status = build_champion("main", out, params=repo / "params.yaml")

    assert status["status"] == "failed"
    assert "exited 1" in status["reason"] and f"{column}: " in status["reason"]
    assert "(1 rows)" in status["reason"]
    assert [path.name for path in out.iterdir()] == ["status.json"]
    assert worktrees(repo) == [f"worktree {repo.resolve()}"]


def test_outside_git_or_with_an_unknown_base_it_is_an_error(tmp_path, sample_file, capsys):
    add_project(tmp_path, sample_file)
    with pytest.raises(ProjectError, match="not in a git repository"):
        build_champion("main", tmp_path / "out", params=tmp_path / "params.yaml")
    repo = new_repo(tmp_path / "repo")
    add_project(repo, sample_file)
    commit_all(repo, "base")
    args = ["champion", "--out", str(tmp_path / "out"), "--params", str(repo / "params.yaml")]
    assert main([*args, "--base", "no-such-branch"]) == 1
    assert "unknown git revision 'no-such-branch'" in capsys.readouterr().err
    assert main([*args, "--base=--output=pwned"]) == 1  # never passed to git as an option
    assert not (tmp_path / "out").exists()


def add_lock(repo: Path) -> str:
    """This project's pyproject.toml and uv.lock, as files of `repo`; return the lock's sha256."""
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy(PROJECT / name, repo / name)
    return hashlib.sha256((repo / "uv.lock").read_bytes()).hexdigest()


def test_with_the_same_lock_the_base_is_trained_in_this_environment(tmp_path, sample_file):
    repo = new_repo(tmp_path / "repo")
    add_project(repo, sample_file)
    lock = add_lock(repo)
    commit_all(repo, "base")

    status = build_champion("main", tmp_path / "champion", params=repo / "params.yaml")

    assert status["status"] == "trained"
    run = json.loads((tmp_path / "champion" / "run.json").read_text())
    assert run["environment"] == {"lock": "uv.lock", "lock_sha256": lock, "base_lock": False}


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("uv") is None, reason="uv installs the base's locked environment")
def test_when_the_lock_changed_the_base_is_trained_in_its_own_locked_environment(
    tmp_path, sample_file
):
    """A dependency bump is measured: main's model is trained with main's versions (needs PyPI
    or uv's cache: the base's environment is installed from its lock)."""
    repo = new_repo(tmp_path / "repo")
    add_project(repo, sample_file)
    ours = add_lock(repo)
    uv = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run(
        ["uv", "lock", "--upgrade-package", "joblib==1.4.2"],  # main still has an older joblib
        cwd=repo, env=uv, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    theirs = hashlib.sha256((repo / "uv.lock").read_bytes()).hexdigest()
    base = commit_all(repo, "main, locked with joblib 1.4.2")
    git(repo, "checkout", "-q", "-b", "pr")
    add_lock(repo)
    commit_all(repo, "the pull request: a dependency bump")

    out = tmp_path / "champion"
    status = build_champion("main", out, params=repo / "params.yaml")

    assert status["status"] == "trained", status["reason"]
    run = json.loads((out / "run.json").read_text())
    assert theirs != ours and run["git"]["commit"] == base
    assert run["environment"] == {"lock": "uv.lock", "lock_sha256": theirs, "base_lock": True}
    assert run["packages"]["joblib"] == "1.4.2"  # recorded by the base's own environment
    assert worktrees(repo) == [f"worktree {repo.resolve()}"]

    challenger = tmp_path / "challenger"
    assert main(["train", "--out", str(challenger), "--params", str(repo / "params.yaml")]) == 0
    comment = tmp_path / "comment.md"
    args = ["--champion", str(out), "--challenger", str(challenger), "--out", str(comment)]
    args += ["--data", str(repo / "data" / "train.csv"), "--lock", str(repo / "uv.lock")]
    main(["compare", *args])
    what_changed = comment.read_text().split("### What changed")[1].split("<details>")[0]
    assert "**Dependencies changed: `uv.lock`** (main's model was rebuilt in an environment" in (
        what_changed
    )


# --- the champion cache: trained once per commit ----------------------------------------------


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(tmp_path / "cache"))
    return tmp_path / "cache" / "champions"


@pytest.fixture
def based(tmp_path: Path, sample_file: Path) -> tuple[Path, str]:
    """A repository whose main holds the project and its lock; (repo, main's commit)."""
    repo = new_repo(tmp_path / "repo")
    add_project(repo, sample_file)
    add_lock(repo)
    return repo, commit_all(repo, "base")


def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """Training the base from here on fails the test: the champion must come from the cache."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("trained again instead of using the cache")

    monkeypatch.setattr(champion, "_train_base", refuse)


def model_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.name != "run.json"}


def test_a_champion_trained_once_is_reused_for_the_same_commit(cache, based, tmp_path, monkeypatch):
    repo, base = based
    first = build_champion("main", tmp_path / "first", params=repo / "params.yaml")
    assert first["status"] == "trained" and first["reused"] is False
    assert [entry.name.split("-")[0] for entry in cache.iterdir()] == [base]

    no_training(monkeypatch)
    second = build_champion("main", tmp_path / "second", params=repo / "params.yaml")

    assert second["status"] == "trained" and second["reused"] is True
    assert second["commit"] == base and second["environment"] == first["environment"]
    assert model_bytes(tmp_path / "second") == model_bytes(tmp_path / "first")
    run = json.loads((tmp_path / "second" / "run.json").read_text())
    assert run["git"]["commit"] == base
    assert worktrees(repo) == [f"worktree {repo.resolve()}"]


def test_the_cli_says_the_champion_was_reused(cache, based, tmp_path, monkeypatch, capsys):
    repo, base = based
    args = ["champion", "--base", "main", "--params", str(repo / "params.yaml"), "--out"]
    assert main([*args, str(tmp_path / "first")]) == 0
    assert "trained main's model from" in capsys.readouterr().out
    no_training(monkeypatch)
    assert main([*args, str(tmp_path / "second")]) == 0
    assert f"main's model for {base[:12]}: trained before for this commit, reused" in (
        capsys.readouterr().out
    )


def test_a_new_commit_on_main_is_trained_again(cache, based, tmp_path, sample_file):
    repo, base = based
    build_champion("main", tmp_path / "first", params=repo / "params.yaml")
    params = yaml.safe_load((repo / "params.yaml").read_text())
    (repo / "params.yaml").write_text(yaml.safe_dump({**params, "seed": PARAMS.seed + 1}))
    moved = commit_all(repo, "main moved on")

    status = build_champion("main", tmp_path / "second", params=repo / "params.yaml")

    assert status["reused"] is False and status["commit"] == moved != base
    assert json.loads((tmp_path / "second" / "run.json").read_text())["seed"] == PARAMS.seed + 1


def test_an_entry_that_holds_another_commits_model_is_a_miss(cache, based, tmp_path):
    repo, base = based
    build_champion("main", tmp_path / "first", params=repo / "params.yaml")
    (entry,) = cache.iterdir()
    run = json.loads((entry / "run.json").read_text())
    run["git"]["commit"] = "0" * 40
    (entry / "run.json").write_text(json.dumps(run))

    status = build_champion("main", tmp_path / "second", params=repo / "params.yaml")

    assert status["reused"] is False
    assert json.loads((tmp_path / "second" / "run.json").read_text())["git"]["commit"] == base


def test_a_damaged_entry_is_a_miss(cache, based, tmp_path):
    repo, _ = based
    build_champion("main", tmp_path / "first", params=repo / "params.yaml")
    (entry,) = cache.iterdir()
    (entry / "run.json").write_text("{ not json")

    status = build_champion("main", tmp_path / "second", params=repo / "params.yaml")

    assert status["status"] == "trained" and status["reused"] is False


def test_a_failure_is_never_kept(cache, tmp_path, sample_file):
    repo = new_repo(tmp_path / "repo")
    (repo / "README.md").write_text("no project yet\n")
    commit_all(repo, "first commit")
    add_project(repo, sample_file)
    status = build_champion("main", tmp_path / "champion", params=repo / "params.yaml")
    assert status["status"] == "absent"
    assert not cache.exists()


def test_off_always_trains(based, tmp_path, monkeypatch):
    repo, _ = based
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "off")
    for name in ("first", "second"):
        status = build_champion("main", tmp_path / name, params=repo / "params.yaml")
        assert status["status"] == "trained" and status["reused"] is False


def test_an_unwritable_cache_is_not_an_error(based, tmp_path, monkeypatch):
    repo, _ = based
    blocker = tmp_path / "a-file-not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, str(blocker / "cache"))
    status = build_champion("main", tmp_path / "champion", params=repo / "params.yaml")
    assert status["status"] == "trained" and (tmp_path / "champion" / "run.json").is_file()


def test_a_reused_champion_still_says_when_this_pr_changed_the_lock(
    cache, based, tmp_path, monkeypatch
):
    repo, _ = based
    first = build_champion("main", tmp_path / "first", params=repo / "params.yaml")
    assert first["environment"]["base_lock"] is False
    main_lock = first["environment"]["lock_sha256"]
    git(repo, "checkout", "-q", "-b", "pr")
    with (repo / "uv.lock").open("a") as lock:
        lock.write("\n")  # the pull request's lock differs from main's
    commit_all(repo, "the pull request: another lock")

    no_training(monkeypatch)
    second = build_champion("main", tmp_path / "second", params=repo / "params.yaml")

    assert second["reused"] is True
    expected = {"lock": "uv.lock", "lock_sha256": main_lock, "base_lock": True}
    assert second["environment"] == expected
    assert json.loads((tmp_path / "second" / "run.json").read_text())["environment"] == expected


def test_only_the_newest_entries_are_kept(cache, based, tmp_path):
    repo, _ = based
    for count in range(champion_cache.ENTRIES_KEPT + 2):
        (repo / "notes.md").write_text(f"commit {count}\n")
        commit_all(repo, f"commit {count}")
        build_champion("main", tmp_path / f"champion{count}", params=repo / "params.yaml")
    assert len(list(cache.iterdir())) == champion_cache.ENTRIES_KEPT
