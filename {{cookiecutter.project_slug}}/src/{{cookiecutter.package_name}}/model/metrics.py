"""Model quality: overall metrics and the same metrics for every slice (params.yaml `slices`)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

REGRESSION_METRICS = ("mae", "rmse", "wape", "r2")
# The same names for two classes or more: f1_macro and roc_auc average over the classes
# (roc_auc one class against the rest), so a reviewer reads one kind of table for every task.
CLASSIFICATION_METRICS = ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss")
# The direction each metric improves in, so reports can say "better" or "worse".
HIGHER_IS_BETTER = {
    "mae": False,
    "rmse": False,
    "wape": False,
    "r2": True,
    "accuracy": True,
    "balanced_accuracy": True,
    "f1_macro": True,
    "roc_auc": True,
    "log_loss": False,
}


def metrics_for(task: str) -> tuple[str, ...]:
    return REGRESSION_METRICS if task == "regression" else CLASSIFICATION_METRICS


def score(task: str, truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Metrics for one set of rows.

    Regression: `truth` and `predicted` are values. Classification: `truth` holds class codes
    (the column of `predicted`; -1 for a class the model never saw) and `predicted` the
    probability matrix, one column per class.
    """
    if task == "regression":
        return _regression(np.asarray(truth, dtype=float), np.asarray(predicted, dtype=float))
    # One implementation for scores and their bootstrap: unit weights give the plain metric.
    from .bootstrap import weighted_metrics

    values = weighted_metrics(task, truth, predicted, np.ones(len(truth)))
    return {name: float(values[name][0]) for name in CLASSIFICATION_METRICS}


def _regression(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    errors = np.abs(truth - predicted)
    total = np.abs(truth).sum()
    return {
        "mae": float(errors.mean()) if len(truth) else math.nan,
        "rmse": float(np.sqrt(np.mean((truth - predicted) ** 2))) if len(truth) else math.nan,
        "wape": float(errors.sum() / total) if total else math.nan,
        "r2": _r2(truth, predicted) if len(truth) > 1 else math.nan,
    }


def _r2(truth: np.ndarray, predicted: np.ndarray) -> float:
    """scikit-learn's r2_score, in NumPy: `compare` then scores without importing scikit-learn."""
    residual = float(np.sum((truth - predicted) ** 2))
    spread = float(np.sum((truth - truth.mean()) ** 2))
    if spread == 0:
        return 1.0 if residual == 0 else 0.0  # as r2_score's force_finite: constant truth
    return 1 - residual / spread


def score_slices(
    task: str, frame: pd.DataFrame, truth: np.ndarray, predicted: np.ndarray, slices: list[str]
) -> list[dict]:
    """One row per (slice column, value): its size and its metrics (`truth` as for `score`)."""
    rows = []
    for column in slices:
        for value, part in frame.groupby(column, sort=True, observed=True):
            positions = frame.index.get_indexer(part.index)
            rows.append(
                {
                    "slice": column,
                    "value": str(value),
                    "rows": len(part),
                    **score(task, truth[positions], predicted[positions]),
                }
            )
    return rows


def json_safe(values: dict[str, float]) -> dict[str, float | None]:
    """NaN (e.g. ROC AUC of a one-class slice) becomes null, which JSON can hold."""
    return {
        key: (None if isinstance(v, float) and math.isnan(v) else v) for key, v in values.items()
    }
