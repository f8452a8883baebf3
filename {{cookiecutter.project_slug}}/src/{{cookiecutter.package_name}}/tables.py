"""Reading and writing data files: CSV or Parquet by suffix, written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from .errors import ProjectError

PARQUET_SUFFIXES = (".parquet", ".pq")


def read_table(path: str | Path) -> pd.DataFrame:
    """The rows of a CSV or Parquet file, or ProjectError saying why it cannot be read."""
    path = Path(path)
    if not path.is_file():
        if path.with_name(path.name + ".dvc").is_file():
            raise ProjectError(
                f"data file not found: {path} is tracked by DVC and not fetched yet: run "
                "`python -m {{ cookiecutter.package_name }} fetch` (or `dvc pull`)"
            )
        raise ProjectError(f"data file not found: {path}")
    if path.suffix.lower() in PARQUET_SUFFIXES:
        try:
            return pd.read_parquet(path)
        except Exception as error:  # pyarrow raises several unrelated types for a bad file
            raise ProjectError(f"{path} is not a readable Parquet file: {error}") from error
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise ProjectError(f"{path} is not a readable CSV file: {error}") from error


def write_table(frame: pd.DataFrame, out: str | Path) -> Path:
    """Write to a temp file beside `out`, then rename: readers never see half a file."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(handle)
    try:
        if out.suffix.lower() in PARQUET_SUFFIXES:
            frame.to_parquet(temp, index=False)
        else:
            _write_csv(frame, Path(temp))
        os.replace(temp, out)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return out


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame = frame.copy()
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_datetime64_any_dtype(column) and (column.dt.normalize() == column).all():
            frame[name] = column.dt.strftime("%Y-%m-%d")  # whole days stay plain dates
    frame.to_csv(path, index=False, lineterminator="\n")
