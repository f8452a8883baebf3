"""The release's smoke request: rows of the project's own data that its contract accepts."""

from __future__ import annotations

import datetime
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

SMOKE_FILE = Path(".github") / "smoke" / "predict.json"
SMOKE_ROWS = 2


def request_rows(
    frame: pd.DataFrame, schema: pa.DataFrameSchema, features: list[str], target: str, task: str
) -> list[dict]:
    """Up to SMOKE_ROWS rows of `frame`'s features, as a client sends them, that `schema` accepts.

    Complete rows are preferred (a nullable feature may still be empty in a request, but an
    example should show every field); for classification the rows are of different classes,
    so the smoke test sees more than one answer.
    """
    accepted = _accepted(frame, schema, features)
    complete = accepted[accepted[features].notna().all(axis=1)]
    pool = complete if len(complete) else accepted
    if pool.empty:
        return []
    chosen = [pool.index[0]]
    others = pool.iloc[1:]
    if task == "classification":
        different = others[others[target] != pool[target].iloc[0]]
        others = different if len(different) else others
    chosen += list(others.index[: SMOKE_ROWS - 1])
    return [{name: json_value(frame.at[index, name]) for name in features} for index in chosen]


def _accepted(frame: pd.DataFrame, schema: pa.DataFrameSchema, features: list[str]) -> pd.DataFrame:
    """The rows of `frame` whose features pass their columns' checks in `schema`."""
    columns = {name: schema.columns[name] for name in features}
    inputs = pa.DataFrameSchema(columns, coerce=True, strict=False)
    try:
        inputs.validate(frame[features], lazy=True)
    except pa.errors.SchemaErrors as errors:
        failed = errors.failure_cases["index"].dropna()
        return frame.drop(index=[index for index in failed.unique() if index in frame.index])
    return frame


def json_value(value: object) -> object:
    """A cell as plain JSON: ISO dates (a day when there is no time), None for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | datetime.datetime):
        stamp = pd.Timestamp(value)
        midnight = stamp == stamp.normalize() and stamp.tzinfo is None
        return stamp.strftime("%Y-%m-%d") if midnight else stamp.isoformat()
    if isinstance(value, np.generic):
        return json_value(value.item())
    return value


def smoke_json(rows: list[dict]) -> str:
    """The request body the release posts to /predict: one row per line, as people read it."""
    lines = [json.dumps(row, allow_nan=False, ensure_ascii=False) for row in rows]
    body = ",\n".join(f"    {line}" for line in lines)
    return '{\n  "rows": [\n' + body + "\n  ]\n}\n"
