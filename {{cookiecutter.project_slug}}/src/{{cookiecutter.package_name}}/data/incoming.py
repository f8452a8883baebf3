"""Recent production data: a CSV or Parquet file, a folder of them, or a URL, read and validated."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import ProjectError
from .contract import Contract
from .dataset import InvalidData
from .tables import PARQUET_SUFFIXES, read_table
from .validation import validate_frame

DATA_SUFFIXES = (".csv", *PARQUET_SUFFIXES)


@dataclass(frozen=True)
class Table:
    """Validated rows and where they came from; `labelled` when they carry the target."""

    frame: pd.DataFrame
    sources: list[str]
    labelled: bool
    time_column: str | None = None

    @property
    def dates(self) -> tuple[str, str] | None:
        """The first and last time of the rows, when the contract names a time column."""
        times = self.frame.get(self.time_column) if self.time_column else None
        if times is None or times.dropna().empty:
            return None
        first, last = times.min(), times.max()
        if pd.api.types.is_datetime64_any_dtype(times):
            return first.strftime("%Y-%m-%d"), last.strftime("%Y-%m-%d")
        return str(first), str(last)


def load_table(location: str | Path, contract: Contract) -> Table:
    """Read every data file at `location` and validate it; raise InvalidData for each problem.

    Labelled rows (with the target) are checked against the whole contract; rows without the
    target only against the inputs (plus time and key columns), so they can still be checked
    for drift although they cannot be trained on. A folder with no data file gives no rows.
    """
    raw, sources = read_location(location)
    time_column = contract.time_column
    if not sources:
        empty = pd.DataFrame(columns=list(contract.unlabelled.columns))
        return Table(empty, [], False, time_column)
    labelled = contract.is_labelled(list(raw.columns))
    schema = contract.records if labelled else contract.unlabelled
    frame, report = validate_frame(raw, schema, source=str(location))
    if not report.valid:
        raise InvalidData(report)
    return Table(frame.reset_index(drop=True), sources, labelled, time_column)


def read_location(location: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """The rows of one data file or of every CSV or Parquet file in a folder (sorted by name)."""
    location = str(location)
    if "://" in location:
        return _read_remote(location)
    path = Path(location)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in DATA_SUFFIXES)
    elif path.is_file():
        files = [path]
    else:
        raise ProjectError(f"data not found: {path}")
    return _concat([(str(file), read_table(file)) for file in files])


def _read_remote(url: str) -> tuple[pd.DataFrame, list[str]]:
    try:
        import fsspec

        fs, path = fsspec.core.url_to_fs(url)
    except ImportError as error:
        # fsspec names the package a protocol needs (s3fs, gcsfs, adlfs)
        raise ProjectError(f"cannot read {url}: {error}") from error
    if fs.isdir(path):
        listed = fs.glob(f"{path.rstrip('/')}/*")
        files = sorted(f for f in listed if Path(f).suffix.lower() in DATA_SUFFIXES)
    elif fs.isfile(path):
        files = [path]
    else:
        raise ProjectError(f"data not found: {url}")
    frames = []
    for file in files:
        name = fs.unstrip_protocol(file)
        try:
            with fs.open(file, "rb") as handle:
                parquet = Path(file).suffix.lower() in PARQUET_SUFFIXES
                frames.append((name, pd.read_parquet(handle) if parquet else pd.read_csv(handle)))
        except Exception as error:  # parsers raise many types; each means the same here
            raise ProjectError(f"{name} is not a readable data file: {error}") from error
    return _concat(frames)


def _concat(frames: list[tuple[str, pd.DataFrame]]) -> tuple[pd.DataFrame, list[str]]:
    """One table from files that must share their columns (a mismatch is an error, not NaNs)."""
    if not frames:
        return pd.DataFrame(), []
    first_name, first = frames[0]
    for name, frame in frames[1:]:
        if set(frame.columns) != set(first.columns):
            raise ProjectError(
                f"{name} has columns {sorted(frame.columns)} but {first_name} has "
                f"{sorted(first.columns)}: files in one folder must share their columns"
            )
    table = pd.concat([frame for _, frame in frames], ignore_index=True)
    return table, [name for name, _ in frames]
