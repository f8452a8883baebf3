"""Recent production data: a CSV file, a folder of them, or a URL (fsspec), read and validated."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .dataset import InvalidData
from .errors import ProjectError
from .schemas import DemandRecords, ModelInput
from .validation import read_csv, validate_frame


@dataclass(frozen=True)
class Table:
    """Validated rows and where they came from; `labelled` when they carry the targets."""

    frame: pd.DataFrame
    sources: list[str]
    labelled: bool

    @property
    def dates(self) -> tuple[str, str] | None:
        dates = self.frame.get("date")
        if dates is None or dates.empty or not pd.api.types.is_datetime64_any_dtype(dates):
            return None
        return str(dates.min().date()), str(dates.max().date())


def load_table(location: str | Path) -> Table:
    """Read every CSV at `location` and validate it; raise InvalidData listing each problem.

    Labelled rows (with every column of the records schema) are checked against it in full;
    rows without the targets only against the model-input schema, so they can still be
    checked for drift although they cannot be trained on. A folder with no CSV gives no rows.
    """
    raw, sources = read_location(location)
    if not sources:
        return Table(pd.DataFrame(columns=list(ModelInput.to_schema().columns)), [], False)
    labelled = set(DemandRecords.to_schema().columns) <= set(raw.columns)
    schema = DemandRecords if labelled else ModelInput
    frame, report = validate_frame(raw, schema, source=str(location))
    if not report.valid:
        raise InvalidData(report)
    return Table(frame.reset_index(drop=True), sources, labelled)


def read_location(location: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """The rows of one CSV file or of every *.csv in a folder (sorted by name), as text."""
    location = str(location)
    if "://" in location:
        return _read_remote(location)
    path = Path(location)
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
    elif path.is_file():
        files = [path]
    else:
        raise ProjectError(f"data not found: {path}")
    return _concat([(str(file), read_csv(file)) for file in files])


def _read_remote(url: str) -> tuple[pd.DataFrame, list[str]]:
    try:
        import fsspec

        fs, path = fsspec.core.url_to_fs(url)
    except ImportError as error:
        # fsspec names the package a protocol needs (s3fs, gcsfs, adlfs)
        raise ProjectError(f"cannot read {url}: {error}") from error
    if fs.isdir(path):
        files = sorted(fs.glob(f"{path.rstrip('/')}/*.csv"))
    elif fs.isfile(path):
        files = [path]
    else:
        raise ProjectError(f"data not found: {url}")
    frames = []
    for file in files:
        name = fs.unstrip_protocol(file)
        try:
            with fs.open(file, "rb") as handle:
                frames.append((name, pd.read_csv(handle)))
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
            raise ProjectError(f"{name} is not a readable CSV file: {error}") from error
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
