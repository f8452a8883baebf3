"""Tables on disk: CSV or Parquet by suffix, read with clear errors, written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from ..errors import ProjectError

CSV_SUFFIXES = frozenset({".csv"})
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
OTHER_SEPARATORS = (";", "\t", "|")


def table_format(path: str | Path) -> str:
    """'csv' or 'parquet' from the suffix (any case); ProjectError for any other suffix."""
    suffix = Path(path).suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    raise ProjectError(f"{path}: unknown table format {suffix!r}; use .csv, .parquet or .pq")


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file; ProjectError when it is missing, empty or unreadable."""
    path = Path(path)
    kind = table_format(path)
    if not path.is_file():
        if path.with_name(path.name + ".dvc").is_file():
            raise ProjectError(
                f"data file not found: {path} is tracked by DVC and not fetched yet: run "
                "`python -m {{ cookiecutter.package_name }} fetch` (or `dvc pull`)"
            )
        raise ProjectError(f"data file not found: {path}")
    if path.stat().st_size == 0:
        raise ProjectError(f"{path} is empty")
    return _read_csv(path) if kind == "csv" else _read_parquet(path)


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        # low_memory=False reads the file in one piece: one dtype per column, not one per chunk
        frame = pd.read_csv(path, low_memory=False)
    except UnicodeDecodeError as error:
        byte = error.object[error.start : error.start + 1].hex()
        raise ProjectError(
            f"{path} is not UTF-8 text (byte 0x{byte} at offset {error.start}; Latin-1 or a "
            "Windows code page, perhaps): save it as UTF-8 (in a spreadsheet: CSV UTF-8)"
        ) from error
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise ProjectError(f"{path} is not a readable CSV file: {error}") from error
    # a spreadsheet's export with another separator reads as one column named "a;b;c"
    header = str(frame.columns[0]) if frame.shape[1] == 1 else ""
    for separator in OTHER_SEPARATORS:
        if separator in header:
            raise ProjectError(
                f"{path} reads as a single column {header!r}: its fields are separated by "
                f"{separator!r}; save it with commas"
            )
    return frame


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        import pyarrow  # noqa: F401  (pandas' Parquet engine; say so rather than fail obscurely)
    except ImportError as error:
        raise ProjectError(f"reading {path} needs pyarrow: pip install pyarrow") from error
    from pyarrow import ArrowException

    try:
        return pd.read_parquet(path)
    except (ArrowException, OSError, ValueError) as error:
        raise ProjectError(f"{path} is not a readable Parquet file: {error}") from error


def write_table_atomically(frame: pd.DataFrame, path: str | Path) -> None:
    """Write `frame` (without its index) as CSV or Parquet by suffix; all or nothing.

    The table is written to a temp file beside `path` and renamed over it, so a reader never
    sees half a file and a failure leaves the previous file untouched.
    """
    path = Path(path)
    kind = table_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(handle)
    try:
        if kind == "csv":
            frame.to_csv(temp, index=False)
        else:
            frame.to_parquet(temp, index=False)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """write_table_atomically, returning the path written (for callers that chain on it)."""
    write_table_atomically(frame, path)
    return Path(path)
