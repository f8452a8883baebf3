"""The workflow-step harness on tiny workflows: it runs what GitHub runs and fails where it must."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from workflow_harness import (
    HarnessError,
    Runner,
    dispatch_event,
    require_comment,
)

REPOSITORY = "octo-org/demand-forecast"


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    """A real git repository with one commit holding a file and a composite action."""
    root = tmp_path / "remote"
    (root / ".github" / "actions" / "setup").mkdir(parents=True)
    (root / ".github" / "actions" / "setup" / "action.yml").write_text("runs: {using: composite}\n")
    (root / "hello.txt").write_text("hello\n")
    for args in (
        ["init", "--quiet", "--initial-branch", "main"],
        ["add", "."],
        ["-c", "user.name=t", "-c", "user.email=t@e", "commit", "--quiet", "-m", "first"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True)
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()
    return root, sha


def runner(tmp_path: Path, repo, steps: list[dict], run_id: int = 1, **kwargs) -> Runner:
    workflow = {
        "on": "workflow_dispatch",
        "env": {"LEVEL": "workflow"},
        "jobs": {"job": {"runs-on": "ubuntu-latest", "steps": steps}},
    }
    path = tmp_path / f"workflow-{run_id}.yml"
    path.write_text(yaml.safe_dump(workflow, sort_keys=False))
    root, sha = repo
    inputs = kwargs.pop("inputs", {})
    return Runner(
        path,
        repo=root,
        event_name="workflow_dispatch",
        event=dispatch_event(inputs=inputs, repository=REPOSITORY),
        sha=sha,
        state=tmp_path / "state",
        run_id=run_id,
        repository=REPOSITORY,
        **kwargs,
    )


def test_run_steps_run_in_order_and_pass_outputs_env_and_summary(tmp_path, repo):
    steps = [
        {"uses": "actions/checkout@abc", "with": {"persist-credentials": False}},
        {"id": "first", "run": 'echo "word=$(cat hello.txt)" >> "$GITHUB_OUTPUT"'},
        {"run": 'echo "FROM_ENV_FILE=set" >> "$GITHUB_ENV"'},
        {
            "id": "second",
            "env": {"WORD": "${{ steps.first.outputs.word }}", "STEP": "step"},
            "run": 'echo "seen=$WORD $LEVEL $STEP $FROM_ENV_FILE" >> "$GITHUB_OUTPUT"\n'
            'echo "## done" >> "$GITHUB_STEP_SUMMARY"',
        },
    ]
    job = runner(tmp_path, repo, steps).run_job("job")
    assert job.status == "success"
    assert job.step("second").outputs == {"seen": "hello workflow step set"}
    assert job.summary == "## done\n"


def test_a_failing_run_step_fails_the_job_and_skips_the_steps_after_it(tmp_path, repo):
    steps = [
        {"name": "breaks", "run": "exit 3"},
        {"name": "skipped", "run": "echo never"},
        {"name": "on failure", "if": "failure()", "run": "echo cleanup"},
        {"name": "always", "if": "${{ always() }}", "run": "echo always"},
        {"name": "not cancelled", "if": "${{ !cancelled() }}", "run": "echo still"},
    ]
    with pytest.raises(HarnessError, match="job job failed"):
        runner(tmp_path, repo, steps).run_job("job")
    job = runner(tmp_path, repo, steps, run_id=2).run_job("job", check=False)
    assert job.status == "failure"
    assert job.ran() == ["breaks", "on failure", "always", "not cancelled"]


def test_continue_on_error_keeps_the_job_going_and_records_the_outcome(tmp_path, repo):
    steps = [
        {"id": "gate", "name": "gate", "continue-on-error": True, "run": "exit 1"},
        {
            "name": "report",
            "if": "steps.gate.outcome == 'failure'",
            "env": {"CONCLUSION": "${{ steps.gate.conclusion }}"},
            "run": 'echo "conclusion=$CONCLUSION" >> "$GITHUB_OUTPUT"',
        },
    ]
    job = runner(tmp_path, repo, steps).run_job("job")
    assert job.status == "success"
    assert job.step("gate").outcome == "failure"
    assert job.step("report").outputs == {"conclusion": "success"}


def test_reading_an_output_that_no_step_wrote_is_an_error(tmp_path, repo):
    steps = [
        {"id": "writer", "run": 'echo "other=1" >> "$GITHUB_OUTPUT"'},
        {"env": {"VALUE": "${{ steps.writer.outputs.missing }}"}, "run": "true"},
    ]
    with pytest.raises(HarnessError, match=r"steps\.writer\.outputs\.missing"):
        runner(tmp_path, repo, steps).run_job("job")


def test_reading_a_step_that_does_not_exist_is_an_error(tmp_path, repo):
    steps = [{"if": "steps.nowhere.outputs.flag == 'true'", "run": "true"}]
    with pytest.raises(HarnessError, match="no earlier step has id 'nowhere'"):
        runner(tmp_path, repo, steps).run_job("job")


def test_a_skipped_steps_outputs_are_empty_as_on_github(tmp_path, repo):
    steps = [
        {
            "id": "app",
            "if": "vars.APP_CLIENT_ID != ''",
            "run": 'echo "token=t" >> "$GITHUB_OUTPUT"',
        },
        {
            "id": "pick",
            "env": {"HAS": "${{ steps.app.outputs.token != '' }}"},
            "run": 'echo "has=$HAS" >> "$GITHUB_OUTPUT"',
        },
    ]
    assert runner(tmp_path, repo, steps).run_job("job").step("pick").outputs == {"has": "false"}
    with_app = runner(tmp_path, repo, steps, run_id=2, variables={"APP_CLIENT_ID": "7"})
    assert with_app.run_job("job").step("pick").outputs == {"has": "true"}


def test_expressions_cover_inputs_defaults_secrets_and_comparisons(tmp_path, repo):
    steps = [
        {
            "id": "values",
            "env": {
                "CURRENT": "${{ inputs.current || 'data/incoming' }}",
                "TOKEN": "${{ secrets.MISSING || secrets.PAT || github.token }}",
                "SAME": "${{ github.event_name == 'WORKFLOW_DISPATCH' && 'yes' || 'no' }}",
                "FIRST": "${{ github.event.missing[0].number }}",
            },
            "run": 'printf "current=%s\\ntoken=%s\\nsame=%s\\nfirst=[%s]\\n" '
            '"$CURRENT" "$TOKEN" "$SAME" "$FIRST" >> "$GITHUB_OUTPUT"',
        }
    ]
    job = runner(tmp_path, repo, steps, secrets={"PAT": "pat"}).run_job("job")
    assert job.step("values").outputs == {
        "current": "data/incoming",
        "token": "pat",
        "same": "yes",
        "first": "[]",
    }
    given = runner(tmp_path, repo, steps, run_id=2, inputs={"current": "x.csv"})
    assert given.run_job("job").step("values").outputs["current"] == "x.csv"


def test_artifacts_pass_between_runs_and_a_missing_file_fails_the_upload(tmp_path, repo):
    upload = [
        {"run": "mkdir -p out && echo body > out/comment.md"},
        {
            "uses": "actions/upload-artifact@abc",
            "with": {"name": "c", "path": "out/comment.md", "if-no-files-found": "error"},
        },
    ]
    runner(tmp_path, repo, upload, run_id=10).run_job("job")
    download = [
        {
            "uses": "actions/download-artifact@abc",
            "with": {"name": "c", "path": "got", "run-id": "10", "github-token": "t"},
        },
        {"run": 'test "$(cat got/comment.md)" = body'},
    ]
    runner(tmp_path, repo, download, run_id=11).run_job("job")
    missing = [
        {
            "uses": "actions/upload-artifact@abc",
            "with": {"name": "c", "path": "nothing.md", "if-no-files-found": "error"},
        }
    ]
    with pytest.raises(HarnessError, match="no files were found"):
        runner(tmp_path, repo, missing, run_id=12).run_job("job")


def test_cache_entries_are_scoped_to_their_ref_and_the_default_branch_as_on_github(tmp_path, repo):
    """GitHub's rule, which the champion cache relies on: a run restores entries of its own ref
    and of the default branch, never a sibling's; a key is never overwritten."""

    def save(ref: str, text: str, run_id: int) -> None:
        steps = [
            {"run": f"mkdir -p kept && echo {text} > kept/model.txt"},
            {"uses": "actions/cache/save@abc", "with": {"path": "kept", "key": "model-1"}},
        ]
        runner(tmp_path, repo, steps, run_id=run_id, ref=ref).run_job("job")

    def restored(ref: str, run_id: int) -> str | None:
        steps = [
            {
                "id": "kept",
                "uses": "actions/cache/restore@abc",
                "with": {"path": "kept", "key": "model-1"},
            },
            {
                "id": "read",
                "run": 'echo "text=$(cat kept/model.txt || echo none)" >> "$GITHUB_OUTPUT"',
            },
        ]
        job = runner(tmp_path, repo, steps, run_id=run_id, ref=ref).run_job("job")
        text = job.steps[-1].outputs["text"]
        hit = job.step("actions/cache/restore@abc").outputs.get("cache-hit")
        assert (hit == "true") == (text != "none")
        return None if text == "none" else text

    save("refs/pull/1/merge", "from-pr-1", 20)
    assert restored("refs/pull/1/merge", 21) == "from-pr-1"
    assert restored("refs/pull/2/merge", 22) is None  # a sibling's entry
    assert restored("refs/heads/main", 23) is None  # main never sees a pull request's
    save("refs/heads/main", "from-main", 24)
    assert restored("refs/pull/2/merge", 25) == "from-main"
    assert restored("refs/pull/1/merge", 26) == "from-pr-1"  # its own scope comes first
    save("refs/heads/main", "again", 27)
    assert restored("refs/heads/main", 28) == "from-main"  # keys are immutable


def test_an_action_without_a_stand_in_is_refused(tmp_path, repo):
    with pytest.raises(HarnessError, match="no stand-in for some/action@v1"):
        runner(tmp_path, repo, [{"uses": "some/action@v1"}]).run_job("job")


def test_the_local_setup_action_needs_the_checkout(tmp_path, repo):
    with pytest.raises(HarnessError, match=r"no action\.yml"):
        runner(tmp_path, repo, [{"uses": "$/.github/actions/setup"}]).run_job("job")
    steps = [{"uses": "actions/checkout@abc"}, {"uses": "$/.github/actions/setup"}]
    assert runner(tmp_path, repo, steps, run_id=2).run_job("job").status == "success"


def seed_pull(state: Path, number: int) -> None:
    import json

    state.mkdir(parents=True, exist_ok=True)
    pull = {"number": number, "state": "open", "head": {"ref": "b", "sha": "s", "repo": {}}}
    (state / "github.json").write_text(
        json.dumps(
            {
                "pulls": [pull],
                "comments": [],
                "releases": [],
                "next_number": number + 1,
                "next_comment": 1000,
                "calls": [],
            }
        )
    )


def test_gh_posts_then_updates_one_comment_and_the_comment_is_required(tmp_path, repo):
    marker = "<!-- x:model-report -->"
    seed_pull(tmp_path / "state", 5)
    with pytest.raises(HarnessError, match="found 0"):
        require_comment(tmp_path / "state", 5, marker)
    post = {
        "env": {"GH_TOKEN": "${{ github.token }}", "MARKER": marker},
        "run": 'printf "%s\\nbody %s\\n" "$MARKER" "$GITHUB_RUN_ID" > c.md\n'
        'id=$(gh api "repos/$GITHUB_REPOSITORY/issues/5/comments" --paginate '
        "| jq -rs --arg m \"$MARKER\" '[.[][] | select(.body | startswith($m))][0].id // empty')\n"
        'if [ -n "$id" ]; then gh api --silent -X PATCH '
        '"repos/$GITHUB_REPOSITORY/issues/comments/$id" -F body=@c.md\n'
        'else gh api --silent "repos/$GITHUB_REPOSITORY/issues/5/comments" -F body=@c.md; fi',
    }
    runner(tmp_path, repo, [post], run_id=1).run_job("job")
    runner(tmp_path, repo, [post], run_id=2).run_job("job")
    comment = require_comment(tmp_path / "state", 5, marker)
    assert comment["body"] == f"{marker}\nbody 2\n"
    assert comment["edits"] == 1


def test_gh_without_a_token_fails_as_on_github(tmp_path, repo):
    with pytest.raises(HarnessError, match="GH_TOKEN"):
        runner(tmp_path, repo, [{"run": "gh api repos/x/y/pulls"}]).run_job("job")


def test_the_payloads_are_vendored_in_this_repository_with_their_licence():
    from workflow_harness import EVENTS, load_event

    root = Path(__file__).resolve().parents[1]
    assert EVENTS.is_relative_to(root), f"{EVENTS} is outside the repository"
    assert "MIT License" in (EVENTS / "LICENSE").read_text()
    for name in ("pull_request.synchronize", "push", "workflow_dispatch"):
        assert load_event(name)["repository"]["full_name"]
    assert load_event("workflow_run.completed.with-pull-requests")["workflow_run"]["pull_requests"]
    shared = '"sha' + 'red"'  # split so that this file does not match itself
    for test_file in [*root.glob("tests/*.py"), root / "Makefile"]:
        assert shared not in test_file.read_text(), f"{test_file.name} reads ../shared"


def test_checkout_fetches_fetch_depth_commits_as_actions_checkout_does(tmp_path, repo):
    root, first = repo
    (root / "hello.txt").write_text("again\n")
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qam", "second"],
        cwd=root,
        check=True,
    )
    second = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()
    parent = {
        "id": "parent",
        "run": 'sha=$(git rev-parse HEAD^1)\necho "sha=$sha" >> "$GITHUB_OUTPUT"',
    }
    shallow = [{"uses": "actions/checkout@abc"}, parent]
    job = runner(tmp_path, (root, second), shallow).run_job("job", check=False)
    assert job.step("parent").outcome == "failure"  # the default depth is 1
    deep = [{"uses": "actions/checkout@abc", "with": {"fetch-depth": 2}}, parent]
    job = runner(tmp_path, (root, second), deep, run_id=2).run_job("job")
    assert job.step("parent").outputs == {"sha": first}
