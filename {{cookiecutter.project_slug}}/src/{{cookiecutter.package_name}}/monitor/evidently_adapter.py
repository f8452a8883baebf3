"""The one module that imports Evidently (0.7 API): column drift tests and the HTML report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class ColumnDrift:
    """Evidently's verdict on one column: its test, score, threshold and whether it drifted."""

    column: str
    method: str
    score: float
    threshold: float
    drifted: bool


@dataclass(frozen=True)
class DriftRun:
    """The per-column results of one Evidently report, and the report itself for its HTML."""

    columns: dict[str, ColumnDrift]
    snapshot: Any

    def save_html(self, path: Path) -> None:
        self.snapshot.save_html(str(path))


def run_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    tests: dict[str, tuple[str, float]],
    drift_share: float,
    metadata: dict[str, str] | None = None,
) -> DriftRun:
    """Test every column of `numeric` + `categorical` with its (method, threshold) from `tests`."""
    # imported here: Evidently takes seconds to import and only this subcommand needs it
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset, DataSummaryPreset

    columns = [*categorical, *numeric]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)

    def dataset(frame: pd.DataFrame) -> Any:
        frame = frame[columns].copy()
        # Evidently labels categories by text: integer codes, booleans and floats such as a
        # 1.0/2.0 code become strings (a missing value stays missing)
        for name in categorical:
            frame[name] = frame[name].astype(str).where(frame[name].notna())
        return Dataset.from_pandas(frame, data_definition=definition)

    preset = DataDriftPreset(
        columns=columns,
        drift_share=drift_share,
        per_column_method={name: method for name, (method, _) in tests.items()},
        per_column_threshold={name: threshold for name, (_, threshold) in tests.items()},
    )
    report = Report(
        [preset, DataSummaryPreset(columns=columns)],
        include_tests=True,  # the per-column drift verdicts are Evidently's tests
        metadata=metadata or {},
    )
    snapshot = report.run(dataset(current), dataset(reference))
    return DriftRun(_column_results(snapshot.dict()), snapshot)


def _column_results(snapshot: dict) -> dict[str, ColumnDrift]:
    """Pair each ValueDrift metric (score, method, threshold) with its test (drifted or not)."""
    failed = {
        test["metric_config"]["params"]["column"]
        for test in snapshot["tests"]
        if test["metric_config"]["params"].get("type") == "evidently:metric_v2:ValueDrift"
        and test["status"] == "FAIL"
    }
    results = {}
    for metric in snapshot["metrics"]:
        config = metric["config"]
        if config.get("type") != "evidently:metric_v2:ValueDrift":
            continue
        column = config["column"]
        results[column] = ColumnDrift(
            column=column,
            method=str(config["method"]),
            score=float(metric["value"]),
            threshold=float(config["threshold"]),
            drifted=column in failed,
        )
    return results
