"""Data versions in DVC: which files are pointers, fetching them verified, recording a new one.

A data file is DVC-tracked when a `<file>.dvc` pointer sits beside it: git holds the pointer
(md5 and size), the DVC remote holds the bytes. Without pointers every function here is a
no-op, so a project that keeps its data in git never needs DVC installed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import ProjectError

POINTER_SUFFIX = ".dvc"
TAIL_LINES = 12

# `dvc` is run in a fresh process; tests pass a stand-in with the same signature.
Runner = Callable[[Path, Sequence[str]], subprocess.CompletedProcess]


class StorageError(ProjectError):
    """DVC could not fetch or record a data version; the message says why and what to do."""


@dataclass(frozen=True)
class Version:
    """One data version as its pointer records it."""

    data: Path
    pointer: Path
    md5: str
    size: int

    def describe(self) -> str:
        return f"md5 {self.md5}, {self.size:,} bytes"


def pointer_of(data: str | Path) -> Path:
    data = Path(data)
    return data.with_name(data.name + POINTER_SUFFIX)


def is_tracked(data: str | Path) -> bool:
    """True when `data` has a DVC pointer beside it (the file itself may not be pulled yet)."""
    return pointer_of(data).is_file()


def version_of(data: str | Path) -> Version | None:
    """The version the pointer beside `data` names, or None when the data is not in DVC."""
    pointer = pointer_of(data)
    if not pointer.is_file():
        return None
    return _read_pointer(pointer)


def _read_pointer(pointer: Path) -> Version:
    try:
        outs = yaml.safe_load(pointer.read_text(encoding="utf-8"))["outs"]
        out = outs[0]
        return Version(pointer.with_name(out["path"]), pointer, out["md5"], int(out["size"]))
    except (yaml.YAMLError, KeyError, IndexError, TypeError, ValueError) as error:
        raise StorageError(
            f"{pointer} is not a DVC pointer of one file (outs: md5, size, path): {error!r}"
        ) from error


def pointers_in(root: Path) -> list[Path]:
    """The `*.dvc` pointers git tracks under `root` (DVC's own `.dvc/` folder excluded)."""
    done = subprocess.run(
        ["git", "ls-files", "-z", "--", f"*{POINTER_SUFFIX}"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    if done.returncode == 0:
        names = [name for name in done.stdout.split("\0") if name]
    else:  # not a git repository: look at the files themselves
        names = [str(p.relative_to(root)) for p in root.rglob(f"*{POINTER_SUFFIX}") if p.is_file()]
    return sorted(root / name for name in names if not name.startswith(".dvc/"))


def dvc_root(start: Path) -> Path:
    """The folder holding `.dvc/` at or above `start`."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / ".dvc").is_dir():
            return folder
    raise StorageError(
        f"{start} is not in a DVC project (no .dvc/ folder above it): run `dvc init` and "
        "`dvc remote add -d storage URL` first"
    )


def run_dvc(root: Path, args: Sequence[str]) -> subprocess.CompletedProcess:
    """`dvc ARGS` in `root`, with this interpreter's DVC, no analytics, output captured."""
    if importlib.util.find_spec("dvc") is None:
        raise StorageError(
            "the data is tracked by DVC but DVC is not installed: `uv sync --extra dvc` "
            "(or `pip install -e '.[dvc]'`)"
        )
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=root, env=env, capture_output=True, text=True
    )


def pull(
    root: Path, pointers: Sequence[Path] | None = None, run: Runner = run_dvc
) -> list[Version]:
    """Fetch exactly `pointers` (default: every pointer git tracks) and verify each file's md5.

    A file whose bytes do not match its pointer is removed, never left for training to read.
    """
    root = root.resolve()
    pointers = pointers_in(root) if pointers is None else [Path(p).resolve() for p in pointers]
    if not pointers:
        return []
    versions = [_read_pointer(pointer) for pointer in pointers]
    targets = [str(pointer.relative_to(root)) for pointer in pointers]
    done = run(root, ["pull", *targets])
    if done.returncode != 0:
        raise StorageError(_explain("pull", done, versions, _remote_url(root, run)))
    for version in versions:
        _verify(version)
    return versions


def _verify(version: Version) -> None:
    if not version.data.is_file():
        raise StorageError(f"dvc pull reported success but {version.data} is missing")
    size, md5 = version.data.stat().st_size, md5_of(version.data)
    if (md5, size) != (version.md5, version.size):
        version.data.unlink()
        raise StorageError(
            f"corrupt download: {version.data} has md5 {md5} ({size:,} bytes) but "
            f"{version.pointer.name} names {version.describe()}; the file was removed. "
            "The object in the remote is damaged: delete it there, `dvc push` again from a "
            "machine whose file matches the pointer, then re-run"
        )


def record(data: str | Path, run: Runner = run_dvc) -> Version:
    """`dvc add` then `dvc push` the new contents of `data`; returns the version now pointed to.

    The pointer is only left changed when the push succeeded: on any failure the previous
    pointer is put back, so git never sees a version that the remote does not hold.
    """
    data = Path(data).resolve()
    root = dvc_root(data.parent)
    pointer = pointer_of(data)
    previous = pointer.read_bytes() if pointer.is_file() else None
    target = str(data.relative_to(root))
    try:
        for args in (["add", target], ["push", target + POINTER_SUFFIX]):
            done = run(root, args)
            if done.returncode != 0:
                version = _read_pointer(pointer) if pointer.is_file() else None
                url = _remote_url(root, run)
                raise StorageError(_explain(args[0], done, [version] if version else [], url))
    except BaseException:
        if previous is None:
            pointer.unlink(missing_ok=True)
        else:
            pointer.write_bytes(previous)
        raise
    return _read_pointer(pointer)


@contextmanager
def restored_on_error(paths: Sequence[Path]) -> Iterator[None]:
    """Put `paths` back as they were (or absent) when the block raises: nothing half-written."""
    holder = Path(tempfile.mkdtemp(prefix=".restore-", dir=Path(paths[0]).parent))
    saved = {}
    try:
        for index, path in enumerate(map(Path, paths)):
            saved[path] = holder / str(index) if path.is_file() else None
            if saved[path] is not None:
                shutil.copy2(path, saved[path])
        yield
    except BaseException:
        for path, copy in saved.items():
            if copy is None:
                path.unlink(missing_ok=True)
            else:
                os.replace(copy, path)
        raise
    finally:
        shutil.rmtree(holder, ignore_errors=True)


def share_cache(tree: Path, root: Path) -> None:
    """Make the git worktree `tree` use `root`'s DVC cache: objects both share are not fetched
    twice (written to the worktree's `.dvc/config.local`, which git ignores)."""
    if (tree / ".dvc").is_dir() and (root / ".dvc").is_dir():
        cache = (root / ".dvc" / "cache").resolve()
        (tree / ".dvc" / "config.local").write_text(
            f"[cache]\n    dir = {cache}\n", encoding="utf-8"
        )


def md5_of(path: Path) -> str:
    digest = hashlib.md5()  # DVC's content address, not a security hash
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _remote_url(root: Path, run: Runner) -> str | None:
    try:
        done = run(root, ["remote", "list"])
    except (OSError, StorageError):
        return None
    if done.returncode != 0:
        return None
    default = run(root, ["remote", "default"])
    name = default.stdout.strip() if default.returncode == 0 else ""
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and (parts[0] == name or not name):
            return parts[1]
    return None


CREDENTIAL_SIGNS = (
    "unable to locate credentials",
    "nocredentialserror",
    "no credentials",
    "credentials were not found",
    "defaultcredentialserror",
    "credentialunavailable",
    "defaultazurecredential failed",
    "access denied",
    "accessdenied",
    "forbidden",
    "invalidaccesskeyid",
    "expiredtoken",
    "permission denied",
)


def _explain(
    action: str, done: subprocess.CompletedProcess, versions: list[Version], url: str | None
) -> str:
    """One message that says what went wrong with `dvc ACTION` and what to do about it."""
    output = f"{done.stdout}\n{done.stderr}"
    text = output.lower()
    where = f"the DVC remote {url}" if url else "the DVC remote"
    if "no remote specified" in text or "no default remote set" in text:
        return (
            f"dvc {action}: no DVC remote is configured. Add one and make it the default: "
            "`dvc remote add -d storage s3://BUCKET/PATH` (or gs://, azure://, a shared folder), "
            "commit .dvc/config, then `dvc push`"
        )
    if "requires 'dvc-" in text or "is supported, but requires" in text:
        return (
            f"dvc {action}: DVC lacks the plugin for {where}: make the `dvc` extra in "
            "pyproject.toml install it (`dvc[s3]`, `dvc[gs]` or `dvc[azure]`), run `uv lock` "
            "and commit uv.lock"
        )
    if any(sign in text for sign in CREDENTIAL_SIGNS):
        return (
            f"dvc {action}: no valid credentials for {where}. In GitHub Actions set the "
            "repository variable AWS_ROLE_ARN (or GCP_WORKLOAD_IDENTITY_PROVIDER and "
            "GCP_SERVICE_ACCOUNT) to a role this repository may assume with OIDC; locally, log "
            "in to the cloud (e.g. `aws sso login`). DVC said:\n" + _tail(output)
        )
    if "missing cache files" in text or "do not exist neither locally nor on remote" in text:
        named = "; ".join(f"{_shown(v.pointer)} names {v.describe()}" for v in versions)
        return (
            f"dvc {action}: {where} does not hold the data a pointer names ({named or '?'}). "
            "The commit that changed the pointer was pushed without `dvc push`: run `dvc push` "
            "where the data was added (or revert the pointer)"
        )
    return f"dvc {action} failed (exit {done.returncode}):\n{_tail(output)}"


def _shown(path: Path) -> str:
    """`path` relative to the working directory when it is below it (as people type it)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _tail(output: str) -> str:
    return "\n".join(output.strip().splitlines()[-TAIL_LINES:])
