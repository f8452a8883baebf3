"""promote.yml in the harness: release -> staging pull request -> production pull request -> revert.

The release workflow runs for real (train, bento, smoke test on `bentoml serve`); the registry
is the docker stand-in, which names each pushed image by a digest of what it holds.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from test_workflows import REPOSITORY, commit_change, git, push_run
from workflow_harness import Runner, github_record, load_event, push_event

ZEROS = "sha256:" + "0" * 64
IMAGE = "ghcr.io/octo-org/demand-forecast"


@pytest.fixture
def repo(cookies, tmp_path) -> Path:
    """A baked project as a real git repository (GitHub's copy) with main at its first commit."""
    root = tmp_path / "repo"
    shutil.copytree(Path(cookies.bake().project_path), root)
    git(root, "init", "--quiet", "--initial-branch", "main")
    git(root, "add", ".")
    git(root, "commit", "--quiet", "-m", "Baked from the template")
    return root


def release_event(sha: str, run_id: int) -> dict:
    """workflow_run.completed of a successful release run on main."""
    event = load_event("workflow_run.completed.with-pull-requests")
    event["workflow_run"].update(
        id=run_id,
        name="release",
        event="push",
        conclusion="success",
        head_branch="main",
        head_sha=sha,
        pull_requests=[],
    )
    event["repository"].update(full_name=REPOSITORY, default_branch="main")
    return event


def promote_run(repo: Path, state: Path, run_id: int, event_name: str, event: dict) -> dict:
    main = git(repo, "rev-parse", "main")
    return Runner(
        repo / ".github/workflows/promote.yml",
        repo=repo,
        event_name=event_name,
        event=event,
        sha=main,
        state=state,
        run_id=run_id,
        repository=REPOSITORY,
    ).run()


def release(repo: Path, state: Path, run_id: int) -> tuple[str, str]:
    """Run release.yml on main's tip; (the released commit, its image's digest)."""
    sha = git(repo, "rev-parse", "main")
    jobs = push_run(repo, "release.yml", state, run_id, sha).run()
    assert {job.status for job in jobs.values()} == {"success"}
    docker = json.loads((state / "docker.json").read_text())
    # the released tag points at the tested candidate's digest (docker buildx imagetools create)
    return sha, docker["registry"][f"{IMAGE}:{sha}"]


def pin(repo: Path, revision: str, env: str) -> tuple[str, str]:
    text = git(repo, "show", f"{revision}:deploy/overlays/{env}/kustomization.yaml")
    overlay = yaml.safe_load(text)
    return overlay["images"][0]["digest"], overlay["commonAnnotations"]["model-release"]


def open_pull(state: Path, branch: str) -> dict:
    pulls = github_record(state)["pulls"]
    (pull,) = [p for p in pulls if p["head"]["ref"] == branch and p["state"] == "open"]
    return pull


def merge(repo: Path, state: Path, branch: str) -> str:
    """A reviewer merges the pull request of `branch`; main's new commit."""
    git(repo, "merge", "--quiet", "--no-ff", "-m", f"Merge {branch}", branch)
    record = github_record(state)
    for pull in record["pulls"]:
        if pull["head"]["ref"] == branch and pull["state"] == "open":
            pull["state"] = "closed"
    (state / "github.json").write_text(json.dumps(record))
    return git(repo, "rev-parse", "main")


def promote_to_staging(repo: Path, state: Path, run_id: int, released: str) -> dict:
    jobs = promote_run(repo, state, run_id, "workflow_run", release_event(released, run_id - 1))
    assert (jobs["staging"].status, jobs["production"].status) == ("success", "skipped")
    return open_pull(state, "promote/staging")


def promote_to_production(repo: Path, state: Path, run_id: int, before: str) -> dict:
    after = git(repo, "rev-parse", "main")
    event = push_event(before=before, after=after, repository=REPOSITORY)
    event["repository"]["default_branch"] = "main"  # the fixture's repository says master
    jobs = promote_run(repo, state, run_id, "push", event)
    assert (jobs["staging"].status, jobs["production"].status) == ("skipped", "success")
    return open_pull(state, "promote/production")


@pytest.mark.slow
def test_a_release_reaches_staging_then_production_by_pull_requests_and_a_revert_rolls_back(
    repo, tmp_path
):
    state = tmp_path / "state"
    first, first_digest = release(repo, state, 500)

    staging = promote_to_staging(repo, state, 510, first)
    tag = f"model-{first[:12]}"
    assert staging["title"] == f"Deploy {tag} to staging"
    assert pin(repo, "promote/staging", "staging") == (first_digest, tag)
    assert pin(repo, "promote/staging", "production") == (ZEROS, "none")  # only staging
    assert first_digest in staging["body"] and ZEROS in staging["body"]
    assert f"https://github.com/{REPOSITORY}/releases/tag/{tag}" in staging["body"]
    assert "Model card" in staging["body"]  # the metrics a reviewer decides from
    before = git(repo, "rev-parse", "main")
    merged = merge(repo, state, "promote/staging")

    # that merge changed only deploy/: were it released, it would not be promoted again
    jobs = promote_run(repo, state, 515, "workflow_run", release_event(merged, 514))
    assert jobs["staging"].step("cpr").outcome == "skipped"
    assert "changed only deploy/" in jobs["staging"].summary
    assert [p["head"]["ref"] for p in github_record(state)["pulls"]] == ["promote/staging"]

    production = promote_to_production(repo, state, 520, before)
    assert production["title"] == f"Deploy {tag} to production"
    assert pin(repo, "promote/production", "production") == (first_digest, tag)
    merge(repo, state, "promote/production")

    # a second model: released, then through staging to production
    commit_change(repo, "main", "params.yaml", "seed: 42", "seed: 7")
    second, second_digest = release(repo, state, 530)
    assert second_digest != first_digest
    staging = promote_to_staging(repo, state, 540, second)
    assert first_digest in staging["body"] and second_digest in staging["body"]
    before = merge(repo, state, "promote/staging")
    promote_to_production(repo, state, 550, git(repo, "rev-parse", "main~1"))
    bump = merge(repo, state, "promote/production")
    assert pin(repo, "main", "production") == (second_digest, f"model-{second[:12]}")

    # rollback: revert the production bump; staging keeps the new model
    git(repo, "revert", "--no-edit", "-m", "1", bump)
    assert pin(repo, "main", "production") == (first_digest, tag)
    assert pin(repo, "main", "staging") == (second_digest, f"model-{second[:12]}")
    assert len(github_record(state)["pulls"]) == 4  # one per promotion, no strays
