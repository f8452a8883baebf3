"""Retraining data: the next training snapshot from the current one plus recent labelled data."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .artifacts import write_json
from .data import write_csv
from .dataset import InvalidData, load_records, sha256_of
from .errors import ProjectError
from .incoming import load_table
from .params import Params
from .schemas import KEY, DemandRecords
from .validation import validate_frame

RECORD_FILE = "retrain.json"


def retrain(params: Params, current: str | Path, drift_dir: Path | None = None) -> dict:
    """Replace data.train with the new snapshot and record why in retrain.json beside it.

    Both files are written through a temporary file and a rename; on any error (no labelled
    recent data, an invalid snapshot) neither is touched.
    """
    previous = load_records(params.train_path)
    recent = load_table(current)
    if recent.frame.empty:
        raise ProjectError(f"no recent data at {current}: nothing to retrain on")
    if not recent.labelled:
        missing = sorted(set(DemandRecords.to_schema().columns) - set(recent.frame.columns))
        raise ProjectError(f"retraining needs labelled data; {current} has no {missing} columns")
    why = _reason(drift_dir)
    snapshot, counts = combine(previous, recent.frame, params.retrain.window_days)
    snapshot, report = validate_frame(snapshot, DemandRecords, source="the new training snapshot")
    if not report.valid:
        raise InvalidData(report)
    target = params.train_path
    staged_data = write_csv(snapshot, target.with_name(f".{target.name}.next"))
    staged_record = target.with_name(f".{RECORD_FILE}.next")
    record = {
        "why": why,
        "window_days": params.retrain.window_days,
        "previous": _span(previous, str(params.data.train), sha256_of(target)),
        "recent": {**_span(recent.frame, str(current)), "files": recent.sources},
        "snapshot": _span(snapshot, str(params.data.train), sha256_of(staged_data)) | counts,
    }
    write_json(staged_record, record)
    # both files are complete before either replaces its predecessor
    staged_data.replace(target)
    staged_record.replace(target.with_name(RECORD_FILE))
    return record


def combine(
    previous: pd.DataFrame, recent: pd.DataFrame, window_days: int
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The previous rows of the newest `window_days` days, plus every recent row.

    A (date, store, category) present in both keeps the recent row: it is the later record.
    """
    recent = recent[previous.columns]
    newest = max(previous["date"].max(), recent["date"].max())
    in_window = previous["date"] > newest - pd.Timedelta(days=window_days)
    kept = previous[in_window]
    replaced = kept.merge(recent[list(KEY)], on=list(KEY), how="left", indicator=True)["_merge"]
    kept = kept[(replaced == "left_only").to_numpy()]
    snapshot = pd.concat([kept, recent], ignore_index=True)
    snapshot = snapshot.sort_values(list(KEY), ignore_index=True)
    return snapshot, {
        "rows_from_previous": len(kept),
        "rows_from_recent": len(recent),
        "previous_rows_outside_window": int((~in_window).sum()),
        "previous_rows_replaced_by_recent": int((replaced == "both").sum()),
    }


def _span(frame: pd.DataFrame, location: str, sha256: str | None = None) -> dict:
    span = {
        "location": location,
        "rows": len(frame),
        "from": str(frame["date"].min().date()),
        "to": str(frame["date"].max().date()),
    }
    return span | ({"sha256": sha256} if sha256 else {})


def _reason(drift_dir: Path | None) -> dict:
    """The drift check's verdict, when its output directory was given."""
    if drift_dir is None:
        return {"requested": "by hand (no drift report given with --drift)"}
    path = Path(drift_dir) / "drift.json"
    if not path.is_file():
        raise ProjectError(f"{drift_dir} has no drift.json: run `drift --out {drift_dir}` first")
    found = json.loads(path.read_text(encoding="utf-8"))
    keys = ("drift", "reasons", "drifted_columns", "share", "share_threshold")
    return {key: found.get(key) for key in keys} | {"report": str(path)}
