"""Retraining data: the next training snapshot from the current one plus recent labelled data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.contract import Contract
from ..data.dataset import InvalidData, load_records, sha256_of, time_span
from ..data.incoming import load_table
from ..data.tables import write_table
from ..data.validation import validate_frame
from ..errors import ProjectError
from ..model.artifacts import write_json
from ..model.params import Params

RECORD_FILE = "retrain.json"


def retrain(
    params: Params,
    current: str | Path,
    drift_dir: Path | None = None,
    params_file: Path | None = None,
) -> dict:
    """Replace data.train with the new snapshot and record why in retrain.json beside it;
    given `params_file`, recalibrate its drift thresholds on the snapshot (calibration.py).

    The files are written through temporary files and renames; on any error (no labelled
    recent data, an invalid snapshot) none is touched.
    """
    contract = Contract.load(params)
    previous = load_records(params.train_path, contract)
    recent = load_table(current, contract)
    if recent.frame.empty:
        raise ProjectError(f"no recent data at {current}: nothing to retrain on")
    if not recent.labelled:
        raise ProjectError(
            f"retraining needs labelled data; {current} has no {params.target!r} column: "
            "label the recent rows first"
        )
    why = _reason(drift_dir)
    snapshot, counts = combine(previous, recent.frame, contract)
    snapshot, report = validate_frame(snapshot, contract.records, "the new training snapshot")
    if not report.valid:
        raise InvalidData(report)
    staged_params, calibration = _recalibrated(params, params_file, snapshot)
    target = params.train_path
    staged_data = write_table(snapshot, target.with_name(f".next.{target.name}"))
    staged_record = target.with_name(f".next.{RECORD_FILE}")
    time_column = contract.time_column
    record = {
        "why": why,
        "window_days": params.retrain.window_days if time_column else None,
        "previous": _span(previous, time_column, str(params.data.train), sha256_of(target)),
        "recent": {**_span(recent.frame, time_column, str(current)), "files": recent.sources},
        "snapshot": _span(snapshot, time_column, str(params.data.train), sha256_of(staged_data))
        | counts,
    }
    record["calibration"] = calibration
    write_json(staged_record, record)
    # every file is complete before any replaces its predecessor
    staged_data.replace(target)
    staged_record.replace(target.with_name(RECORD_FILE))
    if staged_params is not None:
        staged_params.replace(params_file)
    return record


def _recalibrated(
    params: Params, params_file: Path | None, snapshot: pd.DataFrame
) -> tuple[Path | None, dict]:
    """The staged params.yaml with thresholds recalibrated on the snapshot, and what changed;
    None when there is nothing to recalibrate (no file, or no threshold carries evidence)."""
    from .calibrated_params import recalibrate, staged_params
    from .calibration import recalibrated

    columns, decay = recalibrated(params)
    if params_file is None or not (columns or decay):
        return None, {"kept": "no threshold carries calibration evidence: all set by hand"}
    text = Path(params_file).read_text(encoding="utf-8")
    recalibration = recalibrate(params, text, snapshot, everything=False)
    return staged_params(Path(params_file), recalibration.text), recalibration.as_record()


def combine(
    previous: pd.DataFrame, recent: pd.DataFrame, contract: Contract
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The previous rows worth keeping, plus every recent row.

    With a time column only the newest `retrain.window_days` days are kept; without one every
    previous row is. A key present in both keeps the recent row: it is the later record.
    """
    recent = recent[previous.columns]
    time_column, key = contract.time_column, contract.params.key
    in_window = pd.Series(True, index=previous.index)
    if time_column:
        newest = max(previous[time_column].max(), recent[time_column].max())
        window = pd.Timedelta(days=contract.params.retrain.window_days)
        in_window = previous[time_column] > newest - window
    kept = previous[in_window]
    replaced = np.zeros(len(kept), dtype=bool)
    if key:
        merged = kept[key].merge(recent[key].drop_duplicates(), on=key, how="left", indicator=True)
        replaced = (merged["_merge"] == "both").to_numpy()
    snapshot = pd.concat([kept[~replaced], recent], ignore_index=True)
    order = list(dict.fromkeys([*([time_column] if time_column else []), *key]))
    if order:
        snapshot = snapshot.sort_values(order, ignore_index=True, kind="stable")
    return snapshot, {
        "rows_from_previous": int((~replaced).sum()),
        "rows_from_recent": len(recent),
        "previous_rows_outside_window": int((~in_window).sum()),
        "previous_rows_replaced_by_recent": int(replaced.sum()),
    }


def _span(
    frame: pd.DataFrame, time_column: str | None, location: str, sha256: str | None = None
) -> dict:
    span = {"location": location, "rows": len(frame)}
    times = time_span(frame, time_column, "t")
    span |= {"from": times["t_from"], "to": times["t_to"]} if times else {}
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
