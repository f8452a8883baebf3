"""Main's model kept by commit: the champion is trained once per main commit, not once per push.

A champion is a function of its commit (that commit's code, data, params and uv.lock), the
Python that trains it and the machine. Under a key made of those, a model trained once is the
model every later pull request on the same main would train again. Entries are whole model
folders, copied in and out atomically; one whose run.json names another commit is a miss. The
folder is `champions` in caches.py's (outside the repository); in CI, actions/cache carries it
between runs (see .github/workflows/pr.yml).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import tempfile
from pathlib import Path

from ..caches import cache_folder
from ..folders import atomic_directory

ENTRIES_KEPT = 4
RUN_FILE = "run.json"


def entry_key(commit: str, params: str) -> str:
    """The commit, then a digest of what else decides the model: the params' path in the
    repository (a monorepo's projects share commits), Python's version and the machine."""
    digest = hashlib.sha256(
        "\0".join([params, platform.python_version(), platform.machine()]).encode()
    )
    return f"{commit}-{digest.hexdigest()[:16]}"


def restore(key: str, commit: str, out: Path) -> bool:
    """Copy the entry `key` to `out` (replacing it) when it holds a model of `commit`."""
    folder = cache_folder("champions")
    entry = folder / key if folder is not None else None
    if entry is None or not _holds_model_of(entry, commit):
        return False
    try:
        with atomic_directory(out) as staging:
            shutil.copytree(entry, staging, dirs_exist_ok=True)
    except OSError:  # an entry pruned mid-copy, a full disk: train it instead
        return False
    with contextlib.suppress(OSError):
        os.utime(entry)  # recently used entries are the ones pruning keeps
    return True


def keep(key: str, model: Path) -> None:
    """Copy the model folder into the cache as `key`; a read-only or full disk is no error."""
    folder = cache_folder("champions")
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=folder))
        try:
            shutil.copytree(model, staging, dirs_exist_ok=True)
            staging.rename(folder / key)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _prune(folder)
    except OSError:  # includes an entry another run kept first: it is the same model
        return


def _holds_model_of(entry: Path, commit: str) -> bool:
    try:
        run = json.loads((entry / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    recorded = (run.get("git") or {}).get("commit") if isinstance(run, dict) else None
    return recorded == commit


def _prune(folder: Path) -> None:
    entries = sorted(
        (entry for entry in folder.iterdir() if entry.is_dir() and not entry.name.startswith(".")),
        key=lambda entry: entry.stat().st_mtime_ns,
    )
    for stale in entries[:-ENTRIES_KEPT]:
        shutil.rmtree(stale, ignore_errors=True)
