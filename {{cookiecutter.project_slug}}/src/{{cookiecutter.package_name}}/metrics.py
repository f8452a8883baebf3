"""Model quality: overall metrics and the same metrics for every slice (store, category)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

REGRESSION_METRICS = ("mae", "rmse", "wape", "r2")
CLASSIFICATION_METRICS = ("accuracy", "f1", "roc_auc", "log_loss")
# The direction each metric improves in, so reports can say "better" or "worse".
HIGHER_IS_BETTER = {
    "mae": False,
    "rmse": False,
    "wape": False,
    "r2": True,
    "accuracy": True,
    "f1": True,
    "roc_auc": True,
    "log_loss": False,
}


def score(task: str, truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Metrics for one set of rows. `predicted` is units (regression) or P(class 1)."""
    # imported here: params.py validates metric names from this module without paying for sklearn
    from sklearn import metrics as skm

    truth = np.asarray(truth, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    if task == "regression":
        errors = np.abs(truth - predicted)
        total = np.abs(truth).sum()
        return {
            "mae": float(errors.mean()),
            "rmse": float(np.sqrt(np.mean((truth - predicted) ** 2))),
            "wape": float(errors.sum() / total) if total else math.nan,
            "r2": float(skm.r2_score(truth, predicted)) if len(truth) > 1 else math.nan,
        }
    labels = (predicted >= 0.5).astype(int)
    both_classes = len(np.unique(truth)) == 2
    return {
        "accuracy": float(skm.accuracy_score(truth, labels)),
        "f1": float(skm.f1_score(truth, labels, zero_division=0)),
        "roc_auc": float(skm.roc_auc_score(truth, predicted)) if both_classes else math.nan,
        "log_loss": float(skm.log_loss(truth, np.clip(predicted, 1e-15, 1 - 1e-15), labels=[0, 1])),
    }


def score_slices(
    task: str, frame: pd.DataFrame, truth: str, predicted: np.ndarray, slices: list[str]
) -> list[dict]:
    """One row per (slice column, value): its size and its metrics."""
    rows = []
    for column in slices:
        for value, part in frame.groupby(column, sort=True, observed=True):
            positions = frame.index.get_indexer(part.index)
            rows.append(
                {
                    "slice": column,
                    "value": str(value),
                    "rows": len(part),
                    **score(task, part[truth].to_numpy(), predicted[positions]),
                }
            )
    return rows


def json_safe(values: dict[str, float]) -> dict[str, float | None]:
    """NaN (e.g. ROC AUC of a one-class slice) becomes null, which JSON can hold."""
    return {
        key: (None if isinstance(v, float) and math.isnan(v) else v) for key, v in values.items()
    }
