"""Batch serving: validate a file of model inputs, predict every row, write the CSV atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from .api import prediction_columns
from .artifacts import load_model
from .dataset import InvalidData
from .errors import ProjectError
from .schemas import ClassificationPredictions, ModelInput, RegressionPredictions
from .validation import read_csv, validate_frame


def predict_file(model_dir: str | Path, source: str | Path, out: str | Path) -> pd.DataFrame:
    """Write `source`'s rows plus their predictions to `out`; return what was written.

    Raise InvalidData (with the full report) when a row breaks the ModelInput schema; `out`
    is then left as it was.
    """
    model = load_model(model_dir)
    raw = read_csv(source)
    inputs, report = validate_frame(raw, ModelInput, source=str(source))
    if not report.valid:
        raise InvalidData(report)
    columns = prediction_columns(model.task, model.predict(inputs))
    clash = sorted(set(columns) & set(raw.columns))
    if clash:
        raise ProjectError(f"{source} already has column(s) {clash}; rename them first")
    schema = ClassificationPredictions if model.task == "classification" else RegressionPredictions
    predicted = schema.validate(pd.DataFrame(columns, index=raw.index))
    written = pd.concat([raw, predicted], axis="columns")
    write_csv_atomically(written, Path(out))
    return written


def write_csv_atomically(frame: pd.DataFrame, out: Path) -> None:
    """Write to a temp file beside `out`, then rename: readers never see half a file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            frame.to_csv(file, index=False)
        os.replace(temp, out)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
