"""Batch serving: validate a file of model inputs, predict every row, write the CSV atomically."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..data.contract import Contract
from ..data.dataset import InvalidData
from ..data.tables import read_table, write_table
from ..data.validation import validate_frame
from ..errors import ProjectError
from ..model.artifacts import load_model
from .api import prediction_columns


def predict_file(model_dir: str | Path, source: str | Path, out: str | Path) -> pd.DataFrame:
    """Write `source`'s rows plus their predictions to `out`; return what was written.

    Raise InvalidData (with the full report) when a row breaks the model's input schema;
    `out` is then left as it was.
    """
    model = load_model(model_dir)
    raw = read_table(source)
    inputs, report = validate_frame(raw, Contract.of_model(model).inputs, source=str(source))
    if not report.valid:
        raise InvalidData(report)
    columns = prediction_columns(model.task, model.predict(inputs), model.classes)
    clash = sorted(set(columns) & set(raw.columns))
    if clash:
        raise ProjectError(f"{source} already has column(s) {clash}; rename them first")
    written = pd.concat([raw, pd.DataFrame(columns, index=raw.index)], axis="columns")
    write_table(written, Path(out))
    return written
