"""Training data: read, validate against the schema, and split by time."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import ProjectError
from .schemas import DemandRecords
from .validation import ValidationReport, read_csv, validate_frame


class InvalidData(ProjectError):
    """The data broke the schema; `report` says where."""

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(report.as_text())
        self.report = report


@dataclass(frozen=True)
class Split:
    """Train and holdout rows; every holdout date is later than every train date."""

    train: pd.DataFrame
    holdout: pd.DataFrame

    @property
    def cutoff(self) -> str:
        return str(self.holdout["date"].min().date())


def load_records(path: str | Path) -> pd.DataFrame:
    """Read labelled records and validate them; raise InvalidData with the full report."""
    frame, report = validate_frame(read_csv(path), DemandRecords, source=str(path))
    if not report.valid:
        raise InvalidData(report)
    return frame.sort_values(["date", "store", "category"], ignore_index=True)


def split_by_time(records: pd.DataFrame, holdout_fraction: float) -> Split:
    """Hold out the newest dates, about `holdout_fraction` of the rows, never splitting a day."""
    dates = records["date"].sort_values(ignore_index=True)
    cutoff = dates.iloc[min(int(len(dates) * (1 - holdout_fraction)), len(dates) - 1)]
    is_holdout = records["date"] >= cutoff
    if is_holdout.all() or not is_holdout.any():
        raise ProjectError(
            "the data spans too few dates to hold out the newest ones; "
            "add more days or change split.holdout_fraction"
        )
    return Split(records[~is_holdout], records[is_holdout])


def sha256_of(path: str | Path) -> str:
    """Fingerprint of a file's bytes, so a report can say exactly which data was used."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
