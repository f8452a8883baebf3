"""From the prediction log to recent data: logged rows, joined with their outcomes, validated.

`collect` reads the JSON lines the service wrote (prediction_log.py), keeps the rows served in
a time window, joins the outcomes that arrived since (by request id, or by the contract's key),
and writes one row per logged row in the data contract's columns, where `drift` and `retrain`
read recent data.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..data.contract import Contract
from ..data.dataset import InvalidData
from ..data.tables import write_table_atomically
from ..data.validation import validate_frame
from ..errors import ProjectError
from ..model.params import Params

LOG_PATTERN = "*.jsonl"
COLLECTED = re.compile(r"collected-(\d+)\.csv")
# the log's columns that identify a row: the request and the row's place in it
REQUEST_ID, ROW = "request_id", "row"


@dataclass(frozen=True)
class Collected:
    """What `collect` wrote, and what it could not use, for its message."""

    out: Path | None
    rows: int
    labelled: bool
    outcomes: int  # rows whose outcome was found in the labels file
    skipped_lines: int  # unfinished last lines (a file still being written)
    duplicates: int  # the same request id and row logged twice (a log copied twice)


def collect(
    params: Params,
    logs: str,
    labels: str | None = None,
    since: pd.Timestamp | None = None,
    until: pd.Timestamp | None = None,
    out: Path | None = None,
) -> Collected:
    """Write the logged rows served in [since, until) to `out`; nothing when there are none.

    The file carries the outcomes only when every row has one: a file is labelled or not, as
    `drift` reads it; the rows are written unlabelled otherwise, and the result says how many
    outcomes were found (collect again with an earlier `until` to keep them).
    """
    records, skipped = read_logs(logs)
    frame = _in_window(records, since, until)
    before = len(frame)
    frame = frame.drop_duplicates([REQUEST_ID, ROW]).reset_index(drop=True)
    duplicates = before - len(frame)
    if frame.empty:
        return Collected(None, 0, False, 0, skipped, duplicates)
    contract = Contract.load(params)
    rows = _rows_of(frame, contract)
    outcomes = 0
    if labels is not None:
        rows, outcomes = _join_outcomes(rows, labels, contract)
    labelled = outcomes == len(rows)
    columns = [name for name in contract.schema.columns if name in rows.columns]
    if not labelled:
        columns = [name for name in columns if name in contract.unlabelled.columns]
    schema = contract.records if labelled else contract.unlabelled
    validated, report = validate_frame(rows[columns], schema, source=f"the log at {logs}")
    if not report.valid:
        raise InvalidData(report)
    out = out or next_incoming_file(params)
    if out.exists():
        raise ProjectError(f"{out} exists: collect writes a new file, never over another")
    write_table_atomically(validated[columns], out)
    return Collected(out, len(validated), labelled, outcomes, skipped, duplicates)


def read_logs(location: str) -> tuple[pd.DataFrame, int]:
    """Every record of the log files at `location` (a file, a folder, or an fsspec URL)."""
    records, skipped = [], 0
    for name, text in _log_files(location):
        lines = text.split("\n")
        if lines[-1]:
            skipped += 1  # no newline yet: the service is still writing this line
        for number, line in enumerate(lines[:-1], start=1):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ProjectError(f"{name}:{number} is not a JSON record: {error}") from error
    frame = pd.DataFrame.from_records(records)
    missing = {REQUEST_ID, ROW, "time", "inputs"} - set(frame.columns)
    if records and missing:
        raise ProjectError(f"the log at {location} lacks {sorted(missing)}: not a prediction log")
    if not records:
        frame = pd.DataFrame(columns=[REQUEST_ID, ROW, "time", "inputs"])
    frame["time"] = pd.to_datetime(frame["time"], utc=True, format="ISO8601")
    return frame, skipped


def _log_files(location: str) -> list[tuple[str, str]]:
    if "://" in location:
        import fsspec

        fs, path = fsspec.core.url_to_fs(location)
        names = [path] if fs.isfile(path) else sorted(fs.glob(f"{path.rstrip('/')}/**.jsonl"))
        return [(fs.unstrip_protocol(n), fs.cat_file(n).decode("utf-8")) for n in names]
    path = Path(location)
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(path.rglob(LOG_PATTERN))
    else:
        raise ProjectError(f"prediction log not found: {path}")
    return [(str(file), file.read_text(encoding="utf-8")) for file in files]


def _in_window(
    records: pd.DataFrame, since: pd.Timestamp | None, until: pd.Timestamp | None
) -> pd.DataFrame:
    keep = pd.Series(True, index=records.index)
    if since is not None:
        keep &= records["time"] >= since
    if until is not None:
        keep &= records["time"] < until
    return records[keep]


def _rows_of(records: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """The logged inputs as columns, with the log's request id and row number beside them.

    A client that does not send the contract's time column has it filled with the time the
    row was answered (UTC): the drift check and retraining order recent rows by it.
    """
    rows = pd.DataFrame.from_records(records["inputs"].tolist(), index=records.index)
    rows = rows.drop(columns=[REQUEST_ID, ROW], errors="ignore")
    time_column = contract.time_column
    if time_column:
        served = records["time"].dt.tz_convert("UTC").dt.tz_localize(None)
        rows[time_column] = rows.get(time_column, pd.NaT)
        rows[time_column] = rows[time_column].where(rows[time_column].notna(), served)
    rows[REQUEST_ID] = records[REQUEST_ID].astype(str)
    rows[ROW] = records[ROW].astype(int)
    return rows.reset_index(drop=True)


def _join_outcomes(rows: pd.DataFrame, labels: str, contract: Contract) -> tuple[pd.DataFrame, int]:
    """Left-join the outcomes by request id (and row), else by the key; count rows matched."""
    from ..data.incoming import read_location

    params = contract.params
    outcomes, _ = read_location(labels)
    if REQUEST_ID in outcomes.columns:
        on = [REQUEST_ID, ROW] if ROW in outcomes.columns else [REQUEST_ID]
        outcomes[REQUEST_ID] = outcomes[REQUEST_ID].astype(str)
    elif params.key and set(params.key) <= set(outcomes.columns):
        on = list(params.key)
    else:
        raise ProjectError(
            f"{labels} must have a {REQUEST_ID} column (the X-Request-ID the service answered) "
            f"or the key columns {params.key}, to join its outcomes to the logged rows"
        )
    if params.target not in outcomes.columns:
        raise ProjectError(f"{labels} has no {params.target!r} column: no outcome to join")
    if outcomes.duplicated(on).any():
        raise ProjectError(f"{labels} has several outcomes for the same {on}")
    if on == list(params.key):
        rows, outcomes = (
            _as_the_contract_types(rows, on, contract),
            _as_the_contract_types(outcomes, on, contract),
        )
    added = [name for name in outcomes.columns if name not in rows.columns or name in on]
    joined = rows.merge(outcomes[added], how="left", on=on, validate="many_to_one")
    matched = int(joined[params.target].notna().sum())
    return joined, matched


def _as_the_contract_types(frame: pd.DataFrame, columns: list[str], contract: Contract):
    """`columns` of `frame` as the contract types them, so that equal keys compare equal
    (a time sent as 2024-05-01T00:00:00 and written 2024-05-01 in the outcomes file)."""
    frame = frame.copy()
    for name in columns:
        dtype = str(contract.schema.columns[name].dtype)
        if dtype.startswith("datetime"):
            frame[name] = pd.to_datetime(frame[name], format="ISO8601")
        else:
            frame[name] = frame[name].astype(str)
    return frame


def next_incoming_file(params: Params) -> Path:
    """`collected-NNNN.csv` in data.incoming, numbered after the files already there."""
    location = params.incoming_location
    folder = Path(location)
    if "://" in location or (folder.exists() and not folder.is_dir()):
        raise ProjectError(f"data.incoming ({location}) is not a local folder: pass --out")
    numbers = [
        int(match.group(1))
        for path in (folder.iterdir() if folder.is_dir() else [])
        if (match := COLLECTED.fullmatch(path.name))
    ]
    return folder / f"collected-{max(numbers, default=0) + 1:04d}.csv"
