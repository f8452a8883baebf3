"""Training data: read, validate against the contract, and split into train and holdout rows."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ProjectError
from .contract import Contract
from .validation import ValidationReport
from .validation_cache import read_validated


class InvalidData(ProjectError):
    """The data broke the schema; `report` says where."""

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(report.as_text())
        self.report = report


@dataclass(frozen=True)
class Split:
    """Train and holdout rows, and how they were chosen (`how` is a sentence for reports)."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    how: str


def load_records(path: str | Path, contract: Contract) -> pd.DataFrame:
    """Read labelled records and validate them; raise InvalidData with the full report.

    Rows come back in a fixed order (by time, then key, when the params name them), so the
    same file always gives the same split, whatever order its rows were written in.
    """
    frame, report = read_validated(path, contract.records)
    if not report.valid:
        raise InvalidData(report)
    order = [*([contract.time_column] if contract.time_column else []), *contract.params.key]
    if order:
        return frame.sort_values(list(dict.fromkeys(order)), ignore_index=True, kind="stable")
    return frame.reset_index(drop=True)


def split_records(records: pd.DataFrame, contract: Contract, seed: int | None = None) -> Split:
    """Hold out the newest rows when there is a time column, else a seeded random share
    (drawn with params.seed, or `seed`: another split of the same rows, drawn the same way)."""
    params = contract.params
    if contract.time_column:
        return split_by_time(records, contract.time_column, params.split.holdout_fraction)
    stratify = params.task == "classification" and not params.split.group_by
    is_holdout = random_holdout(
        records,
        params.split.holdout_fraction,
        params.seed if seed is None else seed,
        stratify_by=params.target if stratify else None,
        group_by=params.split.group_by,
    )
    how = "a seeded random " + (
        f"share of the groups of {', '.join(params.split.group_by)}"
        if params.split.group_by
        else ("share, stratified by the target" if stratify else "share of the rows")
    )
    return _checked(records, is_holdout, how)


def split_by_time(records: pd.DataFrame, time_column: str, holdout_fraction: float) -> Split:
    """Hold out the newest times, about `holdout_fraction` of the rows, never splitting a time."""
    times = records[time_column].sort_values(ignore_index=True)
    cutoff = times.iloc[min(int(len(times) * (1 - holdout_fraction)), len(times) - 1)]
    is_holdout = (records[time_column] >= cutoff).to_numpy()
    return _checked(records, is_holdout, f"the newest rows by {time_column}")


def random_holdout(
    records: pd.DataFrame,
    fraction: float,
    seed: int,
    stratify_by: str | None = None,
    group_by: list[str] | None = None,
) -> np.ndarray:
    """A boolean mask of held-out rows; the same rows for the same data and seed."""
    rng = np.random.default_rng(seed)
    if group_by:
        groups = records.groupby(group_by, sort=True, dropna=False).ngroup().to_numpy()
        count = groups.max() + 1
        # a share of the groups, not a coin per group: with few groups a coin may pick none
        return _pick(np.arange(count), fraction, rng, count)[groups]
    if stratify_by is None:
        return _pick(np.arange(len(records)), fraction, rng, len(records))
    mask = np.zeros(len(records), dtype=bool)
    for _, positions in sorted(records.groupby(stratify_by, sort=True).indices.items()):
        mask |= _pick(positions, fraction, rng, len(records))
    return mask


def _pick(positions: np.ndarray, fraction: float, rng: np.random.Generator, size: int):
    mask = np.zeros(size, dtype=bool)
    count = round(len(positions) * fraction)
    mask[rng.permutation(positions)[:count]] = True
    return mask


def _checked(records: pd.DataFrame, is_holdout: np.ndarray, how: str) -> Split:
    if is_holdout.all() or not is_holdout.any():
        raise ProjectError(
            f"cannot hold out {how}: every row would land on one side; "
            "add rows or change split.holdout_fraction"
        )
    return Split(records[~is_holdout], records[is_holdout], how)


def sha256_of(path: str | Path) -> str:
    """Fingerprint of a file's bytes, so a report can say exactly which data was used."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def time_span(frame, time_column: str | None, prefix: str) -> dict[str, str]:
    """First and last time of the rows, when the data has a time column."""
    if not time_column or frame.empty:
        return {}
    return {
        f"{prefix}_from": _day(frame[time_column].min()),
        f"{prefix}_to": _day(frame[time_column].max()),
    }


def _day(value) -> str:
    text = str(value)
    return text[:10] if text.endswith("00:00:00") else text
