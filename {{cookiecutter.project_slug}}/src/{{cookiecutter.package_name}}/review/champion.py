"""The champion: main's model rebuilt from the base commit, with that commit's own code and data,
and in that commit's locked environment when its uv.lock differs from this checkout's."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import ProjectError
from ..folders import atomic_directory
from . import champion_cache

STATUS_FILE = "status.json"  # read by compare.py when there is no model
RUN_FILE = "run.json"
LOCK_FILE = "uv.lock"
PACKAGE = __name__.partition(".")[0]  # the top-level package: `python -m` runs its __main__
TAIL_LINES = 15


def build_champion(base: str, out: str | Path, params: str | Path = "params.yaml") -> dict:
    """Train commit `base` into `out`, or write `out`/status.json saying why there is no model.

    Returns {"status": "trained" | "absent" | "failed", "reason", "base", "commit",
    "environment", "reused"}. The base is checked out in a temporary git worktree of the
    repository holding `params`, always removed. When the base's uv.lock differs from the one
    beside `params`, the base is trained in a fresh environment installed from its own lock
    (`uv run --locked`), so that a dependency bump is measured; `environment` (also added to
    the model's run.json) says which lock the champion was trained with. A champion trained
    before for the same commit, Python and machine is copied from the cache instead
    (champion_cache.py): it is the model training again would give.
    """
    params = Path(params).resolve()
    root = _repository_of(params.parent)
    commit = _commit_of(root, base)
    out = Path(out).resolve()
    ours = lock_sha256(params.parent / LOCK_FILE)
    key = champion_cache.entry_key(commit, params.relative_to(root).as_posix())
    if champion_cache.restore(key, commit, out):
        environment = _environment_of_kept(out, ours)
        _record_environment(out, environment)
        reason = "trained before for this commit, reused from the cache"
        return {
            "status": "trained",
            "reason": reason,
            "base": base,
            "commit": commit,
            "environment": environment,
            "reused": True,
        }
    with _worktree(root, commit) as tree:
        base_params = tree / params.relative_to(root)
        environment = _environment(base_params.parent, ours)
        status = _fetch_base_data(tree, root) or _train_base(base_params, out, environment)
    status = {**status, "base": base, "commit": commit, "environment": environment}
    status["reused"] = False
    if status["status"] == "trained":
        _record_environment(out, environment)
        champion_cache.keep(key, out)
    else:
        _write_status(out, status)
    return status


def lock_sha256(path: Path) -> str | None:
    """The sha256 of a lock file, None when there is none."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _environment(project: Path, ours: str | None) -> dict:
    """Which environment trains the base: this one, or one installed from the base's own lock."""
    return _environment_of(lock_sha256(project / LOCK_FILE), ours)


def _environment_of_kept(model: Path, ours: str | None) -> dict:
    """A kept champion's environment, its lock compared with this checkout's (not the one that
    kept it): whether the comment says the dependencies changed is this PR's question."""
    run = json.loads((model / RUN_FILE).read_text(encoding="utf-8"))
    return _environment_of((run.get("environment") or {}).get("lock_sha256"), ours)


def _environment_of(theirs: str | None, ours: str | None) -> dict:
    return {"lock": LOCK_FILE, "lock_sha256": theirs, "base_lock": theirs not in (None, ours)}


def _git(directory: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            ["git", *args], cwd=directory, capture_output=True, text=True, timeout=300
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise ProjectError(f"git {args[0]} failed: {error}") from error


def _repository_of(directory: Path) -> Path:
    done = _git(directory, "rev-parse", "--show-toplevel") if directory.is_dir() else None
    if done is None or done.returncode != 0:
        raise ProjectError(f"{directory} is not in a git repository: cannot rebuild the champion")
    return Path(done.stdout.strip()).resolve()


def _commit_of(root: Path, base: str) -> str:
    done = None if base.startswith("-") else _git(root, "rev-parse", "--verify", base + "^{commit}")
    if done is None or done.returncode != 0:
        raise ProjectError(f"unknown git revision {base!r} in {root} (is the history fetched?)")
    return done.stdout.strip()


@contextmanager
def _worktree(root: Path, commit: str) -> Iterator[Path]:
    """A detached checkout of `commit` in a temp dir, removed (and unregistered) afterwards."""
    holder = Path(tempfile.mkdtemp(prefix="champion-"))
    tree = holder / "base"
    added = _git(root, "worktree", "add", "--detach", str(tree), commit)
    try:
        if added.returncode != 0:
            raise ProjectError(f"could not check out {commit}: {added.stderr.strip()}")
        yield tree
    finally:
        _git(root, "worktree", "remove", "--force", str(tree))
        shutil.rmtree(holder, ignore_errors=True)
        _git(root, "worktree", "prune")


def _fetch_base_data(tree: Path, root: Path) -> dict | None:
    """The base commit's own DVC-tracked data, through this checkout's cache (shared objects
    are not fetched twice); a "failed" status when it cannot be fetched, else None. A base
    that keeps its data in git needs nothing."""
    from ..data import storage

    if not storage.pointers_in(tree):
        return None
    storage.share_cache(tree, root)
    try:
        storage.pull(tree)
    except storage.StorageError as error:
        return _status("failed", f"the base commit's data could not be fetched: {error}")
    return None


def _train_base(params: Path, out: Path, environment: dict) -> dict:
    """Run the base's own `train` on the base's own params and data, in a fresh process."""
    project = params.parent
    if not params.is_file():
        return _status("absent", f"the base commit has no {params.name}: main has no model yet")
    if not (project / "src" / PACKAGE).is_dir():
        return _status("absent", f"the base commit has no src/{PACKAGE}: main has no model yet")
    python = sys.executable
    if environment["base_lock"]:
        python, failure = _install_locked(project)
        if failure:
            return _status("failed", failure)
    done = subprocess.run(
        [python, "-m", PACKAGE, "train", "--out", str(out), "--params", params.name],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project / "src")},  # the base's code, not ours
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        return _status("failed", f"training the base commit exited {_tail(done)}")
    return _status("trained", "")


def _install_locked(project: Path) -> tuple[str, str]:
    """A new environment in the worktree, exactly as the base's lock says: (python, failure)."""
    uv = shutil.which("uv")
    if uv is None:
        return "", f"the base's {LOCK_FILE} differs from this one, and uv is not on PATH"
    venv = project / ".venv"
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}  # never this job's env
    done = subprocess.run(
        # core dependencies only, as `train` needs; the project itself runs from the base's src
        [uv, "sync", "--locked", "--no-install-project", "--python", sys.executable],
        cwd=project,
        env={**env, "UV_PROJECT_ENVIRONMENT": str(venv)},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        return "", f"installing the base commit's {LOCK_FILE} exited {_tail(done)}"
    return str(venv / "bin" / "python"), ""


def _tail(done: subprocess.CompletedProcess) -> str:
    """The exit code and the end of the output: what a reader needs to see why it failed."""
    tail = "\n".join((done.stderr.strip() or done.stdout.strip()).splitlines()[-TAIL_LINES:])
    return f"{done.returncode}:\n{tail}"


def _status(status: str, reason: str) -> dict:
    return {"status": status, "reason": reason}


def _record_environment(out: Path, environment: dict) -> None:
    """Add `environment` to the model's run.json (written whole, then renamed into place)."""
    run_file = out / RUN_FILE
    run = json.loads(run_file.read_text(encoding="utf-8"))
    staging = run_file.with_name(f".{RUN_FILE}.tmp")
    run["environment"] = environment
    staging.write_text(json.dumps(run, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    staging.replace(run_file)


def _write_status(out: Path, status: dict) -> None:
    """Replace `out` with a directory holding only status.json (no stale model can survive)."""
    with atomic_directory(out) as staging:
        (staging / STATUS_FILE).write_text(json.dumps(status, indent=2) + "\n", encoding="utf-8")
