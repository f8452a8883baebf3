"""Validated tables kept by fingerprint: the steps of one run read and validate a file once.

The PR check runs validate, train, the champion and compare as separate processes on the same
file. Each stands alone and trusts no input, so each would parse and validate the whole file
again. Here a valid file's validated frame is pickled under a key made of everything its
validation depends on: the file's bytes, the schema, this module's validation code and the
library versions. Any change to one of them is a different key, so a hit is exactly what
validating again would give (pickle keeps every dtype and every NaN as it was).

The cache lives outside the repository (`validated` in caches.py's folder), so no commit can
plant an entry in it. Only the newest few entries are kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import platform
import tempfile
from importlib import metadata
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from ..caches import cache_folder
from .tables import read_table
from .validation import ValidationReport, validate_frame

ENTRIES_KEPT = 6
SUFFIX = ".pickle"
# what reads, validates or pickles the table; another version of any of them is another key
LIBRARIES = ("numpy", "pandas", "pandera", "pyarrow")


def cache_dir() -> Path | None:
    """Where validated frames are kept, or None when the cache is off."""
    return cache_folder("validated")


def read_validated(
    path: str | Path, schema: pa.DataFrameSchema, frame: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, ValidationReport]:
    """read_table and validate_frame, or the frame a previous run validated from the same bytes.

    `frame`, when the caller has read the file already, saves reading it again on a miss.
    Invalid files are never cached: their report is rebuilt each time, in full.
    """
    path = Path(path)
    folder = cache_dir()
    key = _key(path, schema) if folder is not None and path.is_file() else None
    if key is not None:
        cached = _load(folder / f"{key}{SUFFIX}")
        if cached is not None:
            return cached, ValidationReport(source=str(path), rows=len(cached))
    raw = read_table(path) if frame is None else frame
    frame, report = validate_frame(raw, schema, source=str(path))
    if key is not None and report.valid:
        _store(frame, folder, key)
    return frame, report


def _key(path: Path, schema: pa.DataFrameSchema) -> str | None:
    try:
        described = schema.to_yaml()
    except Exception:  # a check pandera cannot write out: no key, no cache, validate as usual
        return None
    digest = hashlib.sha256()
    for part in (
        described,
        Path(__file__).with_name("validation.py").read_text(encoding="utf-8"),
        platform.python_version(),
        *(_version(name) for name in LIBRARIES),
    ):
        digest.update(part.encode())
        digest.update(b"\0")
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "absent"


def _load(entry: Path) -> pd.DataFrame | None:
    try:
        with entry.open("rb") as handle:
            frame = pickle.load(handle)
    except OSError:  # no entry yet, or no cache folder to read: a miss
        return None
    except Exception:  # a truncated or foreign entry is a miss; the caller validates again
        frame = None
    if not isinstance(frame, pd.DataFrame):
        _forget(entry)
        return None
    with contextlib.suppress(OSError):
        os.utime(entry)  # recently used entries are the ones pruning keeps
    return frame


def _forget(entry: Path) -> None:
    with contextlib.suppress(OSError):
        entry.unlink(missing_ok=True)


def _store(frame: pd.DataFrame, folder: Path, key: str) -> None:
    """Write the entry atomically, then prune; a full disk or a read-only home is not an error."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{key}.", dir=folder)
        try:
            with os.fdopen(handle, "wb") as out:
                pickle.dump(frame, out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temp, folder / f"{key}{SUFFIX}")
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        _prune(folder)
    except OSError:
        return


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob(f"*{SUFFIX}"), key=lambda entry: entry.stat().st_mtime_ns)
    for stale in entries[:-ENTRIES_KEPT]:
        _forget(stale)
