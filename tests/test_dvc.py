"""data_storage=dvc: the data lives in a DVC remote (here a local folder, offline), git holds
pointers, and the whole loop (pull request, champion, drift, retraining PR, release) still works.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from git_repo import git
from workflow_harness import Runner, github_record, pull_request_event, push_event

from conftest import bake, project_env, run_cli

PACKAGE = "demand_forecast"
REPOSITORY = "octo-org/demand-forecast"
MARKER = "<!-- demand-forecast:model-report -->"


def dvc(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=repo,
        env={**os.environ, "DVC_NO_ANALYTICS": "1"},
        capture_output=True,
        text=True,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"dvc {args}: {done.stdout}{done.stderr}")
    return done


def pointer(repo: Path) -> dict:
    return yaml.safe_load((repo / "data/train.csv.dvc").read_text())["outs"][0]


def in_store(store: Path, md5: str) -> bool:
    return (store / "files" / "md5" / md5[:2] / md5[2:]).is_file()


@pytest.fixture
def store(tmp_path) -> Path:
    path = tmp_path / "dvc-store"
    path.mkdir()
    return path


@pytest.fixture
def repo(cookies, store, tmp_path) -> Path:
    """A baked DVC project, committed on main, after the README's first `dvc push`."""
    project = bake(cookies, data_storage="dvc", dvc_remote=str(store))
    root = tmp_path / "repo"
    shutil.copytree(project, root)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Baked from the template")
    dvc(root, "push")
    return root


# ---------------------------------------------------------------- the bake


def test_the_bake_holds_a_pointer_and_git_never_sees_the_data(repo, store):
    tracked = git(repo, "ls-files").splitlines()
    assert "data/train.csv.dvc" in tracked and "data/train.csv" not in tracked
    assert {".dvc/config", ".dvc/.gitignore", "data/.gitignore"} <= set(tracked)
    assert not [name for name in tracked if name.startswith(".dvc/cache")]
    out = pointer(repo)
    content = (repo / "data/train.csv").read_bytes()
    assert out == {
        "md5": hashlib.md5(content).hexdigest(),
        "size": len(content),
        "hash": "md5",
        "path": "train.csv",
    }
    assert in_store(store, out["md5"])  # the first `dvc push` uploaded the baked data
    assert "Data and pipelines are up to date" in dvc(repo, "status").stdout  # DVC agrees


def test_with_git_the_project_has_no_trace_of_dvc(cookies):
    project = bake(cookies)
    assert not [p for p in project.rglob("*") if p.name.startswith(".dvc") or p.suffix == ".dvc"]
    assert not (project / ".github/actions/data").exists()
    for workflow in (project / ".github/workflows").glob("*.yml"):
        assert "id-token" not in workflow.read_text(), workflow.name


# ---------------------------------------------------------------- failure modes, one message each


def clone(repo: Path, tmp_path: Path, name: str = "clone") -> Path:
    target = tmp_path / name
    git(tmp_path, "clone", "-q", str(repo), str(target))
    return target


def fetch(project: Path):
    return run_cli(project, PACKAGE, "fetch", check=False)


def test_a_fresh_clone_fetches_exactly_the_pointed_version(repo, tmp_path):
    fresh = clone(repo, tmp_path)
    assert not (fresh / "data/train.csv").exists()
    done = fetch(fresh)
    assert done.returncode == 0, done.stderr
    assert f"md5 {pointer(repo)['md5']}" in done.stdout and "(verified)" in done.stdout
    assert (fresh / "data/train.csv").read_bytes() == (repo / "data/train.csv").read_bytes()


def test_training_before_fetching_says_how_to_fetch(repo, tmp_path):
    done = run_cli(clone(repo, tmp_path), PACKAGE, "train", "--out", "m", check=False)
    assert done.returncode == 1
    assert "tracked by DVC and not fetched yet" in done.stderr
    assert "python -m demand_forecast fetch" in done.stderr


def test_a_pointer_pushed_without_dvc_push_is_named(repo, store, tmp_path):
    new = (repo / "data/train.csv").read_text().replace(",city_centre,", ",city_centre ,", 1)
    (repo / "data/train.csv").write_text(new)
    dvc(repo, "add", "data/train.csv")
    git(repo, "commit", "-qam", "new data, forgot dvc push")
    fresh = clone(repo, tmp_path)
    done = fetch(fresh)
    assert done.returncode == 1
    assert "does not hold the data a pointer names" in done.stderr
    assert f"data/train.csv.dvc names md5 {pointer(repo)['md5']}" in done.stderr
    assert "pushed without `dvc push`" in done.stderr
    assert not (fresh / "data/train.csv").exists()  # nothing half-written


def test_a_missing_remote_is_named_with_the_command_that_adds_one(repo, tmp_path):
    fresh = clone(repo, tmp_path)
    dvc(fresh, "remote", "remove", "storage")
    done = fetch(fresh)
    assert done.returncode == 1
    assert "no DVC remote is configured" in done.stderr
    assert "dvc remote add -d storage" in done.stderr


def test_a_corrupt_object_in_the_remote_is_never_used(repo, store, tmp_path):
    md5 = pointer(repo)["md5"]
    damaged = store / "files" / "md5" / md5[:2] / md5[2:]
    damaged.chmod(0o644)
    damaged.write_bytes(damaged.read_bytes()[:-100])
    fresh = clone(repo, tmp_path)
    done = fetch(fresh)
    assert done.returncode == 1, done.stdout
    assert md5 in done.stderr
    assert not (fresh / "data/train.csv").exists()


def test_retrain_that_cannot_push_leaves_data_pointer_and_record_as_they_were(repo, tmp_path):
    recent = tmp_path / "recent.csv"
    run_cli(
        repo, PACKAGE, "data", "--scenario", "fuel-shock", "--rows", "1440", "--out", str(recent)
    )
    dvc(repo, "remote", "modify", "storage", "url", str(tmp_path / "not-a-dir" / "x"))
    (tmp_path / "not-a-dir").write_text("a file where the remote's folder should be")
    before = {p: (repo / p).read_bytes() for p in ("data/train.csv", "data/train.csv.dvc")}
    done = run_cli(repo, PACKAGE, "retrain", "--current", str(recent), check=False)
    assert done.returncode == 1, done.stdout
    assert "dvc push" in done.stderr
    assert {p: (repo / p).read_bytes() for p in before} == before
    assert not (repo / "data/retrain.json").exists()
    # no staging or backup files left behind
    assert sorted(p.name for p in (repo / "data").iterdir() if p.name.startswith(".")) == [
        ".gitignore"
    ]


def test_storage_errors_for_credentials_and_a_corrupt_download(repo, tmp_path):
    """What a cloud remote answers (no network here): DVC's own words, and bytes that do not
    match the pointer, through a stand-in for the dvc command."""
    script = f"""
import subprocess, sys
from pathlib import Path
from demand_forecast.data import storage
from demand_forecast.errors import ProjectError

def answering(code, stderr, write=None):
    def run(root, args):
        if write and args[0] == "pull":
            (root / "data/train.csv").write_bytes(write)
        out = "storage\\ts3://bucket/x" if args[:2] == ["remote", "list"] else "storage"
        return subprocess.CompletedProcess(args, 0 if args[0] == "remote" else code, out, stderr)
    return run

root = Path({str(clone(repo, tmp_path))!r})
for run in (
    answering(1, "ERROR: failed to pull data from the cloud - Unable to locate credentials"),
    answering(0, "", write=b"not the data"),
):
    try:
        storage.pull(root, run=run)
    except ProjectError as error:
        print(str(error).replace(chr(10), " "))
    print("exists", (root / "data/train.csv").exists())
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=project_env(repo),
        capture_output=True,
        text=True,
        check=True,
    )
    credentials, _, corrupt, _ = done.stdout.splitlines()
    assert "no valid credentials for the DVC remote s3://bucket/x" in credentials
    assert "AWS_ROLE_ARN" in credentials
    assert corrupt.startswith("corrupt download: ") and "the file was removed" in corrupt
    assert done.stdout.splitlines()[3] == "exists False"


# ---------------------------------------------------------------- the whole loop, in the harness


def run_workflow(repo: Path, state: Path, name: str, event_name: str, event: dict, **kw):
    return Runner(
        repo / ".github/workflows" / name,
        repo=repo,
        event_name=event_name,
        event=event,
        state=state,
        repository=REPOSITORY,
        **kw,
    )


def pr_and_comment(repo: Path, state: Path, number: int, base: str, branch: str, run_id: int):
    """pr.yml on GitHub's test merge (refs/pull/N/merge), then comment.yml on its workflow_run."""
    from workflow_harness import workflow_run_event

    head = git(repo, "rev-parse", branch)
    record = github_record(state)
    if not [pull for pull in record["pulls"] if pull["number"] == number]:  # not the bot's PR
        record["pulls"].append(
            {
                "number": number,
                "state": "open",
                "head": {"ref": branch, "sha": head, "repo": {"owner": {"login": "octo-org"}}},
                "base": {"ref": "main", "sha": base},
            }
        )
    state.mkdir(parents=True, exist_ok=True)
    (state / "github.json").write_text(json.dumps(record))
    git(repo, "checkout", "-q", "--detach", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", f"Merge {branch} into main", branch)
    merge = git(repo, "rev-parse", "HEAD")
    git(repo, "update-ref", f"refs/pull/{number}/merge", merge)
    git(repo, "checkout", "-q", "main")
    event = pull_request_event(
        number=number, base_sha=base, head_sha=head, head_ref=branch, repository=REPOSITORY
    )
    pr = run_workflow(
        repo,
        state,
        "pr.yml",
        "pull_request",
        event,
        sha=merge,
        run_id=run_id,
        ref=f"refs/pull/{number}/merge",
    ).run_job("model-report", check=False)
    # the gate may pass or fail (that is the data's verdict); the report must exist either way
    assert pr.step("Upload the report data for the comment").outcome == "success", pr.logs()
    assert pr.step("$/.github/actions/data").outcome == "success", pr.logs()
    assert pr.step("fit").outputs["champion"] == "success", pr.logs()  # trained at main's pointer
    run_workflow(
        repo,
        state,
        "comment.yml",
        "workflow_run",
        workflow_run_event(
            pr_event=event, run_id=run_id, conclusion=pr.status, repository=REPOSITORY
        ),
        sha=git(repo, "rev-parse", "main"),
        run_id=run_id + 1,
    ).run_job("post")
    return pr


@pytest.mark.slow
def test_the_whole_loop_keeps_only_pointers_in_git(repo, store, tmp_path):
    state = tmp_path / "state"
    base = git(repo, "rev-parse", "main")
    old = pointer(repo)

    # 1. A pull request that changes the data: a new version, added and pushed with DVC.
    git(repo, "checkout", "-q", "-b", "more-data")
    run_cli(
        repo, PACKAGE, "data", "--scenario", "baseline", "--seed", "3", "--out", "data/train.csv"
    )
    dvc(repo, "add", "data/train.csv")
    dvc(repo, "push")
    git(repo, "commit", "-qam", "A new data version")
    new = pointer(repo)
    assert new["md5"] != old["md5"] and in_store(store, new["md5"])
    assert git(repo, "diff", "--name-only", "main", "more-data").splitlines() == [
        "data/train.csv.dvc"
    ]
    git(repo, "checkout", "-q", "main")
    pr_and_comment(repo, state, 5, base, "more-data", run_id=100)
    body = next(c["body"] for c in github_record(state)["comments"] if c["issue"] == 5)
    assert body.startswith(MARKER)
    assert f"md5 `{old['md5']}`, {old['size']:,} bytes" in body  # main's version (champion)
    assert f"md5 `{new['md5']}`, {new['size']:,} bytes" in body  # this PR's version
    assert "**The training data changed.**" in body
    assert "no champion" not in body.lower()

    # 2. Merged: main points at the new version.
    git(repo, "merge", "-q", "--ff-only", "more-data")

    # 3. Drift: a retraining PR that pushed its snapshot and commits only its pointer + record.
    run_cli(repo, PACKAGE, "data", "--scenario", "fuel-shock", "--rows", "1440",
            "--out", "data/incoming/shock.csv")  # fmt: skip
    git(repo, "add", "data/incoming")
    git(repo, "commit", "-qm", "recent data")
    from workflow_harness import dispatch_event

    drift = run_workflow(
        repo,
        state,
        "drift.yml",
        "workflow_dispatch",
        dispatch_event(inputs={"current": "data/incoming/shock.csv"}, repository=REPOSITORY),
        sha=git(repo, "rev-parse", "main"),
        run_id=200,
    ).run_job("drift")
    assert drift.step("cpr").outputs["pull-request-operation"] == "created"
    changed = git(repo, "diff", "--name-only", "main", "retrain/drift").splitlines()
    assert sorted(changed) == ["data/retrain.json", "data/train.csv.dvc"]
    retrained = yaml.safe_load(git(repo, "show", "retrain/drift:data/train.csv.dvc"))["outs"][0]
    assert in_store(store, retrained["md5"])  # pushed before the pointer was committed

    # 4. The retraining PR's check: champion at main's pointer, challenger at the new one.
    number = int(drift.step("cpr").outputs["pull-request-number"])
    pr_and_comment(repo, state, number, git(repo, "rev-parse", "main"), "retrain/drift", 300)
    body = next(c["body"] for c in github_record(state)["comments"] if c["issue"] == number)
    assert f"md5 `{new['md5']}`" in body and f"md5 `{retrained['md5']}`" in body

    # 5. A fresh clone plus fetch reproduces the retrained model byte for byte.
    git(repo, "merge", "-q", "--ff-only", "retrain/drift")
    models = []
    for name in ("clone-a", "clone-b"):
        fresh = clone(repo, tmp_path, name)
        assert not (fresh / "data/train.csv").exists()
        run_cli(fresh, PACKAGE, "fetch")
        run_cli(fresh, PACKAGE, "train", "--out", "models/m")
        models.append(fresh / "models/m")
    for file in ("model.joblib", "metrics.json"):
        assert (models[0] / file).read_bytes() == (models[1] / file).read_bytes(), file

    assert "data/train.csv" not in git(repo, "ls-files").splitlines()


@pytest.mark.slow
def test_a_release_trains_from_the_pointer_alone(repo, tmp_path):
    state, sha = tmp_path / "state", git(repo, "rev-parse", "main")
    jobs = run_workflow(
        repo,
        state,
        "release.yml",
        "push",
        push_event(before="0" * 40, after=sha, repository=REPOSITORY),
        sha=sha,
        run_id=400,
    ).run(check=False)
    build = jobs["build"]
    assert build.step("$/.github/actions/data").outcome == "success", build.logs()
    assert {name: job.status for name, job in jobs.items()} == dict.fromkeys(jobs, "success")
    run = json.loads((build.workspace / "models/release/run.json").read_text())
    assert run["data"]["dvc"] == {"md5": pointer(repo)["md5"], "size": pointer(repo)["size"]}
    assert [r["tag"] for r in github_record(state)["releases"]] == [f"model-{sha[:12]}"]


def s3_pull_request(cookies, tmp_path, fork: bool):
    """pr.yml's job for a project whose remote is on S3, with AWS_ROLE_ARN set (no network)."""
    project = bake(cookies, data_storage="dvc", dvc_remote="s3://acme-ml/demand")
    root = tmp_path / "repo"
    shutil.copytree(project, root)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Baked")
    sha = git(root, "rev-parse", "HEAD")
    event = pull_request_event(
        number=9, base_sha=sha, head_sha=sha, head_ref="f", repository=REPOSITORY, fork=fork
    )
    job = run_workflow(
        root,
        tmp_path / "state",
        "pr.yml",
        "pull_request",
        event,
        sha=sha,
        run_id=900,
        variables={"AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/dvc", "AWS_REGION": "eu-west-1"},
    ).run_job("model-report", check=False)
    actions = json.loads((tmp_path / "state" / "actions.json").read_text())
    return job, [entry["inputs"] for entry in actions if entry["kind"] == "cloud-login"]


def test_a_forks_pull_request_stops_at_the_data_with_a_plain_message(cookies, tmp_path):
    job, logins = s3_pull_request(cookies, tmp_path, fork=True)
    data = job.step("$/.github/actions/data")
    assert data.outcome == "failure"
    assert "comes from a fork" in data.log and "cannot be fetched" in data.log
    assert job.step("Validate the training data").outcome == "skipped"
    assert logins == []  # it stopped before trying to log in


def test_a_pull_request_logs_in_with_the_role_the_variable_names(cookies, tmp_path):
    job, logins = s3_pull_request(cookies, tmp_path, fork=False)
    assert logins == [
        {"role-to-assume": "arn:aws:iam::123456789012:role/dvc", "aws-region": "eu-west-1"}
    ]
    # no network and no dvc-s3 here: the fetch fails, saying what is missing
    log = job.step("$/.github/actions/data").log
    assert "DVC lacks the plugin for the DVC remote s3://acme-ml/demand" in log, log


def test_a_base_whose_data_was_never_pushed_gives_no_champion_and_says_why(repo, tmp_path):
    data = repo / "data/train.csv"
    data.write_text(data.read_text().replace(",city_centre,", ",city_centre ,", 1))
    dvc(repo, "add", "data/train.csv")
    git(repo, "commit", "-qam", "main: new data, forgot dvc push")
    git(repo, "checkout", "-q", "-b", "fix")
    data.write_text(data.read_text().replace(",suburb,", ",suburb ,", 1))
    dvc(repo, "add", "data/train.csv")
    dvc(repo, "push", "data/train.csv.dvc")
    git(repo, "commit", "-qam", "PR: newer data, pushed")
    fresh = clone(repo, tmp_path)  # a CI checkout: its cache holds only what it fetched
    git(fresh, "checkout", "-q", "fix")
    assert fetch(fresh).returncode == 0
    done = run_cli(fresh, PACKAGE, "champion", "--base", "origin/main", "--out", "models/champion")
    status = json.loads((fresh / "models/champion/status.json").read_text())
    assert status["status"] == "failed"
    assert "the base commit's data could not be fetched" in status["reason"]
    assert "pushed without `dvc push`" in status["reason"]
    assert "no champion (failed)" in done.stdout
