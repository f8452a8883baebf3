"""Runs a GitHub Actions workflow's jobs here: `run:` steps in bash, `uses:` steps by stand-ins.

What it reproduces of GitHub: step order, `if:` with the status functions, `continue-on-error`,
outcome and conclusion, `${{ }}` expressions (the subset the template uses), the env layers
(workflow, job, step), GITHUB_OUTPUT / GITHUB_ENV / GITHUB_PATH / GITHUB_STEP_SUMMARY files,
GITHUB_EVENT_PATH, a fresh workspace per job, and artifacts shared between the jobs of a run and
read by later runs through `run-id`. What it stands in for: the actions in STAND_INS (by name) and
the `gh`, `docker` and `bentoml containerize` commands (workflow_stand_ins.py), all of which record
what they would have done in the run's state folder. It fails loudly where GitHub would, and also
where GitHub would silently give an empty string for an output that no step wrote.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
EVENTS = HERE / "fixtures" / "github-events"  # vendored: see its README and LICENSE
STATUS_FUNCTIONS = re.compile(r"\b(success|failure|always|cancelled)\s*\(")
TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


class HarnessError(AssertionError):
    """A workflow did something GitHub would fail on, or that the test did not expect."""


# ---------------------------------------------------------------- expressions


class Outputs(dict):
    """A step's outputs: reading one that the step did not write is an error, not ''."""

    def __init__(self, step: str, values: dict[str, str]):
        super().__init__(values)
        self.step = step

    def __missing__(self, key: str) -> str:
        raise HarnessError(
            f"steps.{self.step}.outputs.{key} is read but step {self.step!r} never wrote it"
        )


class Steps(dict):
    """The steps context: a step that does not exist or has not run yet is an error."""

    def __missing__(self, key: str) -> Any:
        raise HarnessError(f"steps.{key} is read, but no earlier step has id {key!r}")


TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>'(?:[^']|'')*')"
    r"|(?P<op>==|!=|&&|\|\||<=|>=|[!<>().,\[\]])|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = TOKEN.match(text, position)
        if not match or match.end() == position:
            raise HarnessError(f"cannot parse expression {text!r} at {text[position:]!r}")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class Expression:
    """A recursive-descent evaluator of GitHub's expression language (the subset in use)."""

    def __init__(self, text: str, contexts: dict[str, Any], functions: dict[str, Callable]):
        self.tokens, self.index = tokenize(text), 0
        self.contexts, self.functions, self.text = contexts, functions, text

    def evaluate(self) -> Any:
        value = self.either()
        if self.index != len(self.tokens):
            raise HarnessError(f"unexpected {self.tokens[self.index][1]!r} in {self.text!r}")
        return value

    def peek(self) -> str | None:
        return self.tokens[self.index][1] if self.index < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.index >= len(self.tokens) or (expected and self.peek() != expected):
            raise HarnessError(f"expected {expected or 'more'} in {self.text!r}")
        self.index += 1
        return self.tokens[self.index - 1]

    def either(self) -> Any:
        value = self.both()
        while self.peek() == "||":
            self.take()
            other = self.both()  # evaluated eagerly: every operand must be well-defined
            value = value if truthy(value) else other
        return value

    def both(self) -> Any:
        value = self.comparison()
        while self.peek() == "&&":
            self.take()
            other = self.comparison()
            value = other if truthy(value) else value
        return value

    def comparison(self) -> Any:
        left = self.unary()
        if self.peek() in ("==", "!=", "<", ">", "<=", ">="):
            operator = self.take()[1]
            return compare(left, operator, self.unary())
        return left

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not truthy(self.unary())
        return self.postfix()

    def postfix(self) -> Any:
        value = self.primary()
        while self.peek() in (".", "["):
            if self.take()[1] == ".":
                value = member(value, self.take()[1])
            else:
                key = self.either()
                self.take("]")
                value = member(value, key)
        return value

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if text == "(":
            value = self.either()
            self.take(")")
            return value
        if kind != "name":
            raise HarnessError(f"unexpected {text!r} in {self.text!r}")
        if text in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text]
        if self.peek() == "(":
            return self.call(text)
        if text not in self.contexts:
            raise HarnessError(f"unknown context {text!r} in {self.text!r}")
        return self.contexts[text]

    def call(self, name: str) -> Any:
        self.take("(")
        args = []
        while self.peek() != ")":
            args.append(self.either())
            if self.peek() == ",":
                self.take()
        self.take(")")
        if name.lower() not in self.functions:
            raise HarnessError(f"function {name}() is not supported by the harness")
        return self.functions[name.lower()](*args)


def member(value: Any, key: Any) -> Any:
    if isinstance(value, dict):
        return value[key] if isinstance(value, Outputs | Steps) else value.get(key)
    if isinstance(value, list) and isinstance(key, int | float):
        return value[int(key)] if 0 <= int(key) < len(value) else None
    return None


def truthy(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value not in (None, False, 0, "")


def as_number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool | int | float):
        return float(value)
    try:
        return float(value) if str(value).strip() else 0.0
    except ValueError:
        return math.nan


def compare(left: Any, operator: str, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        left, right = left.lower(), right.lower()
    elif type(left) is not type(right) or left is None:
        left, right = as_number(left), as_number(right)
    return {
        "==": lambda: left == right,
        "!=": lambda: left != right,
        "<": lambda: left < right,
        ">": lambda: left > right,
        "<=": lambda: left <= right,
        ">=": lambda: left >= right,
    }[operator]()


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


# ---------------------------------------------------------------- results


@dataclass
class StepRun:
    name: str
    id: str
    outcome: str  # success | failure | skipped
    conclusion: str
    outputs: dict[str, str] = field(default_factory=dict)
    log: str = ""


@dataclass
class JobRun:
    job: str
    status: str  # success | failure | skipped
    steps: list[StepRun]
    summary: str
    workspace: Path

    def step(self, name: str) -> StepRun:
        for step in self.steps:
            if name in (step.name, step.id):
                return step
        raise HarnessError(f"job {self.job} has no step {name!r}: {[s.name for s in self.steps]}")

    def ran(self) -> list[str]:
        return [step.name for step in self.steps if step.outcome != "skipped"]

    def logs(self) -> str:
        return "\n".join(f"--- {s.name} ({s.outcome})\n{s.log}" for s in self.steps)


# ---------------------------------------------------------------- the runner


class Runner:
    """One workflow run: an event, a remote repository, secrets and variables, shared state."""

    def __init__(
        self,
        workflow: Path,
        *,
        repo: Path,
        event_name: str,
        event: dict,
        sha: str,
        state: Path,
        run_id: int,
        ref: str = "refs/heads/main",
        repository: str = "octo-org/demand-forecast",
        secrets: dict[str, str] | None = None,
        variables: dict[str, str] | None = None,
    ):
        self.workflow_path = workflow
        self.workflow = yaml.safe_load(workflow.read_text())
        self.repo, self.event_name, self.event, self.sha = repo, event_name, event, sha
        self.state, self.run_id, self.ref, self.repository = state, run_id, ref, repository
        self.secrets = {"GITHUB_TOKEN": "ghs_harness", **(secrets or {})}
        self.variables = variables or {}
        self.bin = state / "bin"
        self.job_outputs: dict[str, dict[str, str]] = {}  # the `needs` context of later jobs
        self.day = 0.0  # days since the run started: artifacts expire after their retention
        install_command_stand_ins(self.bin, state)
        self.event_path = state / f"event-{run_id}.json"
        self.event_path.write_text(json.dumps(event))

    def run(self, *, check: bool = True) -> dict[str, JobRun]:
        """Run every job in file order; a job whose `needs` did not succeed is skipped."""
        results: dict[str, JobRun] = {}
        for job_id, job in self.workflow["jobs"].items():
            needs = as_list(job.get("needs", []))
            if any(results[need].status != "success" for need in needs):
                results[job_id] = JobRun(job_id, "skipped", [], "", self.state)
                continue
            results[job_id] = self.run_job(job_id, check=check)
        return results

    def run_job(self, job_id: str, *, check: bool = True) -> JobRun:
        job = self.workflow["jobs"][job_id]
        workspace = self.state / "workspaces" / f"{self.run_id}-{job_id}"
        shutil.rmtree(workspace, ignore_errors=True)
        workspace.mkdir(parents=True)
        context = JobContext(self, job_id, job, workspace)
        if "if" in job and not truthy(context.condition(job["if"])):
            return JobRun(job_id, "skipped", [], "", workspace)
        result = context.run_steps()
        self.job_outputs[job_id] = context.evaluate_mapping(job.get("outputs", {}), context.env)
        if check and result.status != "success":
            raise HarnessError(f"job {job_id} failed:\n{result.logs()}")
        return result

    def concurrency_group(self) -> str:
        """The workflow's concurrency group for this run's event, as GitHub evaluates it."""
        concurrency = self.workflow.get("concurrency") or {}
        group = concurrency if isinstance(concurrency, str) else concurrency.get("group", "")
        job_id, job = next(iter(self.workflow["jobs"].items()))
        workspace = self.state / "workspaces" / f"{self.run_id}-concurrency"
        workspace.mkdir(parents=True, exist_ok=True)
        return JobContext(self, job_id, job, workspace).substitute(group, {}).lower()

    def base_env(self) -> dict[str, str]:
        venv_bin = str(Path(sys.executable).parent)
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
        return {
            **keep,
            "PATH": os.pathsep.join([str(self.bin), venv_bin, os.environ.get("PATH", "")]),
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": self.event_name,
            "GITHUB_EVENT_PATH": str(self.event_path),
            "GITHUB_SHA": self.sha,
            "GITHUB_REF": self.ref,
            "GITHUB_REPOSITORY": self.repository,
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_REPOSITORY_OWNER": self.repository.split("/")[0],
            "GITHUB_RUN_ID": str(self.run_id),
            "GITHUB_ACTOR": "harness",
            "HARNESS_STATE": str(self.state),
            "HARNESS_REPO": str(self.repo),  # what the `gh` stand-in answers branch lookups from
            "HARNESS_PYTHON": sys.executable,
            "BENTOML_HOME": str(self.state / "bentoml"),
        }


class JobContext:
    """The state of one job while its steps run."""

    def __init__(self, runner: Runner, job_id: str, job: dict, workspace: Path):
        self.runner, self.job_id, self.job, self.workspace = runner, job_id, job, workspace
        self.steps = Steps()
        self.status = "success"
        self.env_from_file: dict[str, str] = {}
        self.path_from_file: list[str] = []
        self.summary: list[str] = []
        self.action_inputs: dict[str, str] | None = None  # inside a composite action
        self.temp = workspace.parent / f"{workspace.name}.tmp"
        shutil.rmtree(self.temp, ignore_errors=True)
        self.temp.mkdir()
        self.env = self.evaluate_mapping(runner.workflow.get("env", {}), {})
        self.env.update(self.evaluate_mapping(job.get("env", {}), self.env))

    # expressions

    def contexts(self, env: dict[str, str]) -> dict[str, Any]:
        runner = self.runner
        github = {
            "event": runner.event,
            "event_name": runner.event_name,
            "sha": runner.sha,
            "ref": runner.ref,
            "repository": runner.repository,
            "server_url": "https://github.com",
            "repository_owner": runner.repository.split("/")[0],
            "run_id": str(runner.run_id),
            "actor": "harness",
            "token": runner.secrets["GITHUB_TOKEN"],
            "workspace": str(self.workspace),
        }
        return {
            "github": github,
            "env": env,
            "steps": self.steps,
            "secrets": runner.secrets,
            "vars": runner.variables,
            "inputs": self.action_inputs
            if self.action_inputs is not None
            else runner.event.get("inputs") or {},
            "runner": {"temp": str(self.temp), "os": "Linux"},
            "needs": {
                need: {"outputs": runner.job_outputs.get(need, {})}
                for need in as_list(self.job.get("needs", []))
            },
        }

    def functions(self) -> dict[str, Callable]:
        return {
            "success": lambda: self.status == "success",
            "failure": lambda: self.status == "failure",
            "always": lambda: True,
            "cancelled": lambda: False,
            "contains": lambda hay, needle: (
                any(compare(item, "==", needle) for item in hay)
                if isinstance(hay, list)
                else as_text(needle).lower() in as_text(hay).lower()
            ),
            "startswith": lambda s, p: as_text(s).lower().startswith(as_text(p).lower()),
            "endswith": lambda s, p: as_text(s).lower().endswith(as_text(p).lower()),
            "tojson": lambda value: json.dumps(value, indent=2),
            "fromjson": json.loads,
        }

    def expression(self, text: str, env: dict[str, str]) -> Any:
        return Expression(text, self.contexts(env), self.functions()).evaluate()

    def substitute(self, value: Any, env: dict[str, str]) -> str:
        text = as_text(value)
        return TEMPLATE.sub(lambda m: as_text(self.expression(m.group(1), env)), text)

    def evaluate_mapping(self, mapping: dict, env: dict[str, str]) -> dict[str, str]:
        return {key: self.substitute(value, env) for key, value in (mapping or {}).items()}

    def condition(self, text: Any, env: dict[str, str] | None = None) -> Any:
        text = as_text(text).strip()
        whole = TEMPLATE.fullmatch(text)
        text = whole.group(1) if whole else text
        if not STATUS_FUNCTIONS.search(text):
            text = f"success() && ({text})"
        return self.expression(text, env if env is not None else self.env)

    # steps

    def run_steps(self) -> JobRun:
        runs: list[StepRun] = []
        for index, step in enumerate(self.job["steps"]):
            step_id = step.get("id", f"__step{index}")
            name = step.get("name") or step.get("uses") or step.get("run", "").split("\n")[0]
            env = {**self.env, **self.env_from_file}
            if not truthy(self.condition(step.get("if", "success()"), env)):
                run = StepRun(name, step_id, "skipped", "skipped")
            else:
                env.update(self.evaluate_mapping(step.get("env", {}), env))
                run = self.run_step(step, name, step_id, env)
            runs.append(run)
            self.steps[step_id] = {
                # a skipped step's outputs read as '' on GitHub; any other missing one is a bug
                "outputs": run.outputs
                if run.outcome == "skipped"
                else Outputs(step_id, run.outputs),
                "outcome": run.outcome,
                "conclusion": run.conclusion,
            }
            if run.conclusion == "failure":
                self.status = "failure"
        return JobRun(self.job_id, self.status, runs, "".join(self.summary), self.workspace)

    def run_step(self, step: dict, name: str, step_id: str, env: dict[str, str]) -> StepRun:
        files = {
            kind: self.temp / f"{kind}-{len(self.steps)}"
            for kind in ("output", "env", "path", "summary")
        }
        for path in files.values():
            path.write_text("")
        env = {
            **self.runner.base_env(),
            **env,
            "GITHUB_WORKSPACE": str(self.workspace),
            "RUNNER_TEMP": str(self.temp),
            "GITHUB_OUTPUT": str(files["output"]),
            "GITHUB_ENV": str(files["env"]),
            "GITHUB_PATH": str(files["path"]),
            "GITHUB_STEP_SUMMARY": str(files["summary"]),
            "PYTHONPATH": str(self.workspace / "src"),
        }
        if self.path_from_file:
            env["PATH"] = os.pathsep.join([*reversed(self.path_from_file), env["PATH"]])
        try:
            if "run" in step:
                ok, log, outputs = self.run_script(step, env, files["output"])
            else:
                ok, log, outputs = self.use_action(step, env, files["output"])
        except HarnessError as error:
            if not isinstance(error, StepFailed):
                raise
            ok, log, outputs = False, str(error), {}
        self.env_from_file.update(parse_key_values(files["env"].read_text()))
        self.path_from_file += [p for p in files["path"].read_text().splitlines() if p.strip()]
        self.summary.append(files["summary"].read_text())
        outcome = "success" if ok else "failure"
        conclusion = "success" if ok or truthy(step.get("continue-on-error", False)) else "failure"
        return StepRun(name, step_id, outcome, conclusion, outputs, log)

    def run_script(self, step: dict, env: dict[str, str], output: Path):
        script = self.temp / f"step-{len(self.steps)}.sh"
        script.write_text(self.substitute(step["run"], env))
        shell = step.get("shell", self.job.get("defaults", {}).get("run", {}).get("shell", "bash"))
        if shell != "bash":
            raise HarnessError(f"the harness runs bash steps only, not {shell!r}")
        cwd = self.workspace / step.get("working-directory", "")
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        log = done.stdout + done.stderr + f"\n(exit {done.returncode})"
        return done.returncode == 0, log, parse_key_values(output.read_text())

    def use_action(self, step: dict, env: dict[str, str], output: Path):
        uses = step["uses"]
        action = uses.split("@")[0]
        stand_in = STAND_INS.get(action)
        if stand_in is None and action.startswith(("./", "$/")):
            stand_in = local_action
        if stand_in is None:
            raise HarnessError(f"no stand-in for {uses}: register one in STAND_INS")
        inputs = self.evaluate_mapping(step.get("with", {}), env)
        outputs = stand_in(Use(self, action, inputs, env)) or {}
        return (
            True,
            f"{action} (stand-in) with {inputs}",
            {k: as_text(v) for k, v in outputs.items()},
        )


def queued_back_to_back(runs: list[Runner]) -> list[str]:
    """What GitHub does with runs that arrive one after the other while the first still runs:
    "at most one running and one pending job in a concurrency group at any time"; a new run
    cancels the group's pending one (or its running one with cancel-in-progress). Docs:
    "Control the concurrency of workflows and jobs". Returns "runs" or "cancelled" per run."""
    fate: list[str] = []
    running: dict[str, int] = {}
    pending: dict[str, int] = {}
    for index, run in enumerate(runs):
        group = run.concurrency_group()
        cancel = (run.workflow.get("concurrency") or {}).get("cancel-in-progress", False)
        fate.append("runs")
        if group not in running:
            running[group] = index
        elif truthy(cancel):
            fate[running[group]] = "cancelled"
            running[group] = index
        else:
            if group in pending:
                fate[pending[group]] = "cancelled"
            pending[group] = index
    return fate


def as_list(value: str | list[str]) -> list[str]:
    """`needs: build` and `needs: [build]` alike."""
    return [value] if isinstance(value, str) else list(value)


def parse_key_values(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT / GITHUB_ENV syntax: name=value lines and name<<DELIMITER blocks."""
    values, lines = {}, iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            block = []
            for inner in lines:
                if inner == delimiter:
                    break
                block.append(inner)
            else:
                raise HarnessError(f"unterminated {key}<<{delimiter} block")
            values[key] = "\n".join(block)
        elif "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
        elif line.strip():
            raise HarnessError(f"invalid line in an output/env file: {line!r}")
    return values


# ---------------------------------------------------------------- stand-ins for `uses:`


class StepFailed(HarnessError):
    """A stand-in failed the way the action would (the step fails; the run goes on)."""


@dataclass
class Use:
    job: JobContext
    action: str
    inputs: dict[str, str]
    env: dict[str, str]

    @property
    def state(self) -> Path:
        return self.job.runner.state

    def record(self, kind: str, entry: dict) -> None:
        path = self.state / "actions.json"
        log = json.loads(path.read_text()) if path.exists() else []
        log.append({"action": self.action, "kind": kind, "job": self.job.job_id, **entry})
        path.write_text(json.dumps(log, indent=2))


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise StepFailed(f"git {' '.join(args)}: {done.stderr}")
    return done.stdout.strip()


def checkout(use: Use) -> dict:
    """A clone of the test's repository at the event's commit, as actions/checkout makes.

    Like the action it fetches `fetch-depth` commits (default 1; 0 = all history) of the one
    commit it checks out: `ref` when given, else the event's GITHUB_SHA, which on a pull request
    is GitHub's test merge commit (refs/pull/N/merge). A step that needs an older commit than
    the depth allows fails here as it would on GitHub.
    """
    workspace, runner = use.job.workspace, use.job.runner
    depth = int(use.inputs.get("fetch-depth", "1") or "1")
    shallow = ["--depth", str(depth)] if depth else []
    git(workspace, "clone", "--quiet", "--no-checkout", *shallow, runner.repo.as_uri(), ".")
    ref = use.inputs.get("ref") or runner.sha
    git(workspace, "fetch", "--quiet", *shallow, "origin", ref)
    git(
        workspace,
        "-c",
        "advice.detachedHead=false",
        "checkout",
        "--quiet",
        "--detach",
        "FETCH_HEAD",
    )
    if use.inputs.get("persist-credentials", "true") != "false":
        use.record("persisted-credentials", {"ref": ref})
    return {"commit": ref}


def upload_artifact(use: Use) -> dict:
    name = use.inputs.get("name", "artifact")
    target = use.state / "artifacts" / str(use.job.runner.run_id) / name
    if target.exists():
        raise StepFailed(
            f"an artifact named {name!r} already exists in run {use.job.runner.run_id}"
        )
    found = []
    for line in use.inputs["path"].splitlines():
        source = use.job.workspace / line.strip()
        if source.is_dir() and any(source.iterdir()):
            shutil.copytree(source, target, dirs_exist_ok=True)
            found.append(line)
        elif source.is_file():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / source.name)
            found.append(line)
    if not found and use.inputs.get("if-no-files-found", "warn") == "error":
        raise StepFailed(f"no files were found with the provided path: {use.inputs['path']}")
    retention = float(use.inputs.get("retention-days") or 90)  # the repository's default: 90
    (target.parent / f"{name}.kept.json").write_text(
        json.dumps({"day": use.job.runner.day, "retention_days": retention})
    )
    use.record("upload", {"name": name, "paths": found})
    return {"artifact-id": name}


def download_artifact(use: Use) -> dict:
    """By `name`, or by one id in `artifact-ids` (not both, as the action refuses), into `path`."""
    from workflow_stand_ins import artifact_id

    run_id = use.inputs.get("run-id") or str(use.job.runner.run_id)
    if run_id != str(use.job.runner.run_id) and not use.inputs.get("github-token"):
        raise StepFailed("download-artifact needs github-token to read another run's artifacts")
    if use.inputs.get("name") and use.inputs.get("artifact-ids"):
        raise StepFailed("Inputs 'name' and 'artifact-ids' cannot be used together.")
    if use.inputs.get("artifact-ids"):
        folders = (use.state / "artifacts" / run_id).glob("*")
        named = {str(artifact_id(run_id, f.name)): f.name for f in folders if f.is_dir()}
        if use.inputs["artifact-ids"] not in named:
            raise StepFailed(f"artifact id {use.inputs['artifact-ids']} not found in run {run_id}")
        use.inputs["name"] = named[use.inputs["artifact-ids"]]
    source = use.state / "artifacts" / run_id / use.inputs["name"]
    if not source.is_dir():
        raise StepFailed(f"artifact {use.inputs['name']!r} not found in run {run_id}")
    kept_file = source.parent / f"{source.name}.kept.json"  # absent: a test staged it by hand
    kept = (
        json.loads(kept_file.read_text())
        if kept_file.exists()
        else {"day": 0, "retention_days": 90}
    )
    if use.job.runner.day > kept["day"] + kept["retention_days"]:
        raise StepFailed(f"artifact {use.inputs['name']!r} expired: Artifact not found")
    target = use.job.workspace / use.inputs.get("path", ".")
    shutil.copytree(source, target, dirs_exist_ok=True)
    return {"download-path": str(target)}


def app_token(use: Use) -> dict:
    """create-github-app-token v3: `client-id` (`app-id` is deprecated) and `private-key`."""
    if "app-id" in use.inputs:
        raise StepFailed("create-github-app-token: app-id is deprecated, use client-id")
    if not use.inputs.get("client-id") or not use.inputs.get("private-key"):
        raise StepFailed("create-github-app-token: client-id and private-key are required")
    permissions = {k: v for k, v in use.inputs.items() if k.startswith("permission-")}
    use.record("app-token", {"permissions": permissions})
    return {"token": "ghs_app_token_from_harness"}


def token_permissions(use: Use, token: str) -> dict[str, str]:
    """What `token` may do: the job's permissions for GITHUB_TOKEN, the App's for its token."""
    if token == use.job.runner.secrets["GITHUB_TOKEN"]:
        return use.job.job.get("permissions", {})
    if token == "ghs_app_token_from_harness":
        log = json.loads((use.state / "actions.json").read_text())
        granted = [entry["permissions"] for entry in log if entry["kind"] == "app-token"][-1]
        return {k.removeprefix("permission-"): v for k, v in granted.items()}
    return {"contents": "write", "pull-requests": "write", "issues": "write"}  # a PAT: its owner's


def docker_login(use: Use) -> dict:
    if not use.inputs.get("password"):
        raise StepFailed("docker/login-action: no password")
    from workflow_stand_ins import docker_state, save_docker_state

    state = docker_state(use.state)
    state["logins"].append(use.inputs.get("registry", "docker.io"))
    save_docker_state(use.state, state)
    return {}


def local_action(use: Use) -> dict:
    """The project's own composite actions. `setup` is a no-op (the shared environment is
    already installed); any other one runs its steps here, with its inputs and defaults."""
    path = use.job.workspace / use.action.removeprefix("$/").removeprefix("./") / "action.yml"
    if not path.is_file():
        raise StepFailed(f"{use.action}: no action.yml in the workspace (is the repo checked out?)")
    if path.parent.name == "setup":
        return {}
    return run_composite(use, yaml.safe_load(path.read_text()))


def run_composite(use: Use, action: dict) -> dict:
    """A composite action's steps in order: `if:`, `env:`, `run:` (bash) and `uses:` stand-ins.

    Its steps see the action's `inputs` and their own `steps`; the first failure fails the step
    that used the action, with every log so far.
    """
    if action["runs"]["using"] != "composite":
        raise HarnessError(f"{use.action} is not a composite action")
    job = use.job
    declared = action.get("inputs") or {}
    unknown = set(use.inputs) - set(declared)
    if unknown:
        raise HarnessError(f"{use.action} has no inputs {sorted(unknown)}")
    inputs = {
        name: use.inputs.get(name, str(spec.get("default", ""))) for name, spec in declared.items()
    }
    outer_steps, outer_inputs = job.steps, job.action_inputs
    job.steps, job.action_inputs = Steps(), inputs
    logs: list[str] = []
    try:
        for index, step in enumerate(action["runs"]["steps"]):
            step_id = step.get("id", f"__inner{index}")
            name = step.get("name") or step.get("uses", "")
            if not truthy(job.condition(step.get("if", "success()"), use.env)):
                job.steps[step_id] = {"outputs": {}, "outcome": "skipped", "conclusion": "skipped"}
                continue
            env = {**use.env, **job.evaluate_mapping(step.get("env", {}), use.env)}
            output = job.temp / f"inner-output-{id(use)}-{index}"
            output.write_text("")
            env["GITHUB_OUTPUT"] = str(output)
            if "run" in step:
                if step.get("shell") != "bash":
                    raise HarnessError(f"{use.action}: a composite run step needs shell: bash")
                ok, log, outputs = job.run_script(step, env, output)
            else:
                ok, log, outputs = job.use_action(step, env, output)
            logs.append(f"  > {name}\n{log}")
            job.steps[step_id] = {
                "outputs": Outputs(step_id, outputs),
                "outcome": "success" if ok else "failure",
                "conclusion": "success" if ok else "failure",
            }
            if not ok:
                raise StepFailed(f"{use.action}: step {name!r} failed\n" + "\n".join(logs))
    finally:
        job.steps, job.action_inputs = outer_steps, outer_inputs
    use.record("composite", {"log": "\n".join(logs)})
    return {}


def create_pull_request(use: Use) -> dict:
    """create-pull-request: the branch is base + changes, force-pushed; one PR per branch."""
    from workflow_stand_ins import github_state, save_github_state

    if not use.inputs.get("token"):
        raise StepFailed("create-pull-request: no token")
    granted = token_permissions(use, use.inputs["token"])
    needed = {"contents": "write", "pull-requests": "write"}
    if use.inputs.get("labels", "").strip():
        needed["issues"] = "write"  # POST /repos/{owner}/{repo}/issues/{number}/labels
    missing = {k: v for k, v in needed.items() if granted.get(k) != v}
    if missing:
        raise StepFailed(f"Resource not accessible by integration: the token lacks {missing}")
    workspace, branch = use.job.workspace, use.inputs["branch"]
    paths = [p.strip() for p in use.inputs.get("add-paths", ".").splitlines() if p.strip()]
    base = git(workspace, "rev-parse", "HEAD")
    git(workspace, "add", "--", *paths)
    if not git(workspace, "diff", "--cached", "--name-only"):
        return {"pull-request-operation": "none"}
    git(
        workspace,
        "-c",
        "user.name=bot",
        "-c",
        "user.email=bot@example.com",
        "commit",
        "--quiet",
        "-m",
        use.inputs.get("commit-message", "[create-pull-request] automated change"),
    )
    head = git(workspace, "rev-parse", "HEAD")
    git(workspace, "push", "--quiet", "--force", "origin", f"HEAD:refs/heads/{branch}")
    state = github_state(use.state)
    body = (
        (workspace / use.inputs["body-path"]).read_text()
        if "body-path" in use.inputs
        else use.inputs.get("body", "")
    )
    existing = [
        pr for pr in state["pulls"] if pr["head"]["ref"] == branch and pr["state"] == "open"
    ]
    pr = (
        existing[0]
        if existing
        else {"number": state["next_number"], "state": "open", "comments": 0}
    )
    operation = "updated" if existing else "created"
    pr.update(
        title=use.inputs.get("title", ""),
        body=body,
        base={"sha": base, "ref": "main"},
        head={
            "ref": branch,
            "sha": head,
            "repo": {"owner": {"login": use.job.runner.repository.split("/")[0]}},
        },
        labels=[
            lb.strip()
            for lb in use.inputs.get("labels", "").replace(",", "\n").splitlines()
            if lb.strip()
        ],
        token=use.inputs["token"],
    )
    if not existing:
        state["pulls"].append(pr)
        state["next_number"] += 1
    save_github_state(use.state, state)
    return {
        "pull-request-number": pr["number"],
        "pull-request-operation": operation,
        "pull-request-head-sha": head,
    }


def cloud_login(use: Use) -> dict:
    """An OIDC login: needs the job's id-token permission, which the harness cannot see, so it
    records the call; the test's remote is a local folder that needs no credentials."""
    use.record("cloud-login", {"inputs": use.inputs})
    return {}


def cache_scopes(use: Use) -> list[str]:
    """The refs whose cache entries a run may restore, as GitHub scopes them: its own ref, then
    (a pull request) its base branch, then the default branch. Never a sibling's."""
    runner = use.job.runner
    scopes = [runner.ref]
    base = (runner.event.get("pull_request") or {}).get("base", {}).get("ref")
    if base:
        scopes.append(f"refs/heads/{base}")
    scopes.append("refs/heads/main")
    return list(dict.fromkeys(scopes))


def cache_entry(use: Use, scope: str, key: str) -> Path:
    return use.state / "caches" / scope.replace("/", "_") / key


def cache_restore(use: Use) -> dict:
    """actions/cache/restore: the exact key from the first scope that has it, into `path`.
    `cache-hit` is "true" on a hit and empty on a miss, as the action's README says."""
    key = use.inputs["key"]
    target = use.job.workspace / use.inputs["path"]  # an absolute path stays as it is
    for scope in cache_scopes(use):
        entry = cache_entry(use, scope, key)
        if entry.is_dir():
            shutil.copytree(entry, target, dirs_exist_ok=True)
            use.record("cache-restore", {"key": key, "scope": scope})
            return {"cache-hit": "true", "cache-primary-key": key, "cache-matched-key": key}
    use.record("cache-miss", {"key": key})
    return {"cache-hit": "", "cache-primary-key": key, "cache-matched-key": ""}


def cache_save(use: Use) -> dict:
    """actions/cache/save into the run's own ref scope. Keys are immutable: saving a key the
    scope has, or a path that does not exist, is a warning (the step succeeds), as in the
    action's saveImpl.ts."""
    key, scope = use.inputs["key"], use.job.runner.ref
    source = use.job.workspace / use.inputs["path"]
    entry = cache_entry(use, scope, key)
    if entry.exists():
        use.record("cache-warning", {"key": key, "warning": "the key exists in this scope"})
    elif not source.exists():
        use.record("cache-warning", {"key": key, "warning": "Path Validation Error"})
    else:
        shutil.copytree(source, entry)
        use.record("cache-save", {"key": key, "scope": scope})
    return {}


STAND_INS: dict[str, Callable[[Use], dict | None]] = {
    "actions/cache/restore": cache_restore,
    "actions/cache/save": cache_save,
    "aws-actions/configure-aws-credentials": cloud_login,
    "google-github-actions/auth": cloud_login,
    "actions/checkout": checkout,
    "actions/upload-artifact": upload_artifact,
    "actions/download-artifact": download_artifact,
    "actions/create-github-app-token": app_token,
    "peter-evans/create-pull-request": create_pull_request,
    "docker/login-action": docker_login,
}


def install_command_stand_ins(bin_dir: Path, state: Path) -> None:
    """`gh`, `docker` and `bentoml` on PATH, each a thin wrapper around workflow_stand_ins.py."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = HERE / "workflow_stand_ins.py"
    for command in ("gh", "docker", "bentoml"):
        path = bin_dir / command
        path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}" {command} "$@"\n')
        path.chmod(0o755)


# ---------------------------------------------------------------- real payloads, rewritten


def load_event(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


def pull_request_event(
    *, number: int, base_sha: str, head_sha: str, head_ref: str, repository: str, fork: bool = False
) -> dict:
    """pull_request.synchronize, pointed at the test repository's commits (or a fork's)."""
    event = load_event("pull_request.synchronize")
    owner, name = repository.split("/")
    event["number"] = number
    event["repository"].update(full_name=repository, name=name)
    event["repository"]["owner"]["login"] = owner
    pr = event["pull_request"]
    pr["number"] = number
    pr["base"].update(sha=base_sha, ref="main")
    pr["base"]["repo"].update(full_name=repository, name=name, fork=False)
    pr["head"].update(sha=head_sha, ref=head_ref)
    head_owner = "forker" if fork else owner
    pr["head"]["repo"].update(full_name=f"{head_owner}/{name}", name=name, fork=fork)
    pr["head"]["repo"]["owner"]["login"] = head_owner
    event["after"] = head_sha
    return event


def workflow_run_event(*, pr_event: dict, run_id: int, conclusion: str, repository: str) -> dict:
    """workflow_run.completed for the pr run; GitHub lists no pull requests for a fork's run."""
    event = load_event("workflow_run.completed.with-pull-requests")
    pr = pr_event["pull_request"]
    run = event["workflow_run"]
    run.update(
        id=run_id,
        html_url=f"https://github.com/{repository}/actions/runs/{run_id}",
        name="pr",
        event="pull_request",
        conclusion=conclusion,
        head_branch=pr["head"]["ref"],
        head_sha=pr["head"]["sha"],
    )
    run["head_repository"]["full_name"] = pr["head"]["repo"]["full_name"]
    run["head_repository"]["owner"]["login"] = pr["head"]["repo"]["owner"]["login"]
    if pr["head"]["repo"]["fork"]:
        run["pull_requests"] = []
    else:
        listed = run["pull_requests"][0]
        listed.update(number=pr["number"])
        listed["head"].update(ref=pr["head"]["ref"], sha=pr["head"]["sha"])
        listed["base"].update(ref="main", sha=pr["base"]["sha"])
    event["repository"].update(full_name=repository, default_branch="main")
    return event


def push_event(*, before: str, after: str, repository: str) -> dict:
    event = load_event("push")
    event.update(ref="refs/heads/main", before=before, after=after, base_ref=None, created=False)
    event["repository"]["full_name"] = repository
    event["head_commit"] = {**(event["head_commit"] or {}), "id": after}  # fixture: a tag push
    return event


def dispatch_event(*, inputs: dict[str, str], repository: str) -> dict:
    event = load_event("workflow_dispatch")
    event.update(inputs=inputs, ref="refs/heads/main")
    event["repository"]["full_name"] = repository
    return event


# ---------------------------------------------------------------- what the stand-ins recorded


def github_record(state: Path) -> dict:
    """What the `gh` and create-pull-request stand-ins did: pulls, comments, releases, calls."""
    from workflow_stand_ins import github_state

    return github_state(state)


def require_comment(state: Path, number: int, marker: str) -> dict:
    """The one comment on pull request `number` starting with `marker`; fails if none or several."""
    found = [
        comment
        for comment in github_record(state)["comments"]
        if comment["issue"] == number and comment["body"].startswith(marker)
    ]
    if len(found) != 1:
        raise HarnessError(f"expected one comment with {marker!r} on #{number}, found {len(found)}")
    return found[0]
