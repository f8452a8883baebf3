"""The champion: main's model rebuilt from the base commit, with that commit's own code and data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import ProjectError

STATUS_FILE = "status.json"  # read by compare.py when there is no model
PACKAGE = __name__.rpartition(".")[0]
TAIL_LINES = 15


def build_champion(base: str, out: str | Path, params: str | Path = "params.yaml") -> dict:
    """Train commit `base` into `out`, or write `out`/status.json saying why there is no model.

    Returns {"status": "trained" | "absent" | "failed", "reason", "base", "commit"}. The base is
    checked out in a temporary git worktree of the repository holding `params`, always removed.
    """
    params = Path(params).resolve()
    root = _repository_of(params.parent)
    commit = _commit_of(root, base)
    out = Path(out).resolve()
    with _worktree(root, commit) as tree:
        status = _fetch_base_data(tree, root) or _train_base(tree / params.relative_to(root), out)
    status = {**status, "base": base, "commit": commit}
    if status["status"] != "trained":
        _write_status(out, status)
    return status


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
    from . import storage

    if not storage.pointers_in(tree):
        return None
    storage.share_cache(tree, root)
    try:
        storage.pull(tree)
    except storage.StorageError as error:
        return _status("failed", f"the base commit's data could not be fetched: {error}")
    return None


def _train_base(params: Path, out: Path) -> dict:
    """Run the base's own `train` on the base's own params and data, in a fresh process."""
    project = params.parent
    if not params.is_file():
        return _status("absent", f"the base commit has no {params.name}: main has no model yet")
    if not (project / "src" / PACKAGE).is_dir():
        return _status("absent", f"the base commit has no src/{PACKAGE}: main has no model yet")
    done = subprocess.run(
        [sys.executable, "-m", PACKAGE, "train", "--out", str(out), "--params", params.name],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project / "src")},  # the base's code, not ours
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        tail = "\n".join((done.stderr.strip() or done.stdout.strip()).splitlines()[-TAIL_LINES:])
        return _status("failed", f"training the base commit exited {done.returncode}:\n{tail}")
    return _status("trained", "")


def _status(status: str, reason: str) -> dict:
    return {"status": status, "reason": reason}


def _write_status(out: Path, status: dict) -> None:
    """Replace `out` with a directory holding only status.json (no stale model can survive)."""
    from .artifacts import atomic_directory

    with atomic_directory(out) as staging:
        (staging / STATUS_FILE).write_text(json.dumps(status, indent=2) + "\n", encoding="utf-8")
