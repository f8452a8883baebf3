"""The trivial baseline every model is shown beside: what a model must beat to be one.

Regression: one constant, the training median when the primary metric rewards the median (mae,
wape) and the training mean otherwise (rmse, r2). Classification: the training class
frequencies, the same probabilities for every row. Both are fitted on the training rows only,
so they are scored on the holdout exactly as the model is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .metrics import HIGHER_IS_BETTER

# metrics whose best constant is the median: absolute errors; every other one favours the mean
MEDIAN_METRICS = ("mae", "wape")


@dataclass(frozen=True)
class Baseline:
    """A fitted trivial predictor: `value` for regression, `frequencies` for classification
    (in the model's class order)."""

    task: str
    kind: str  # "median", "mean" or "class frequencies"
    value: float = math.nan
    frequencies: tuple[float, ...] = ()

    @property
    def description(self) -> str:
        if self.task == "classification":
            return "the training class frequencies"
        return f"the training {self.kind} ({self.value:.4g})"

    def predict(self, rows: int) -> np.ndarray:
        """What the baseline predicts for `rows` rows: values, or the probability matrix."""
        if self.task == "classification":
            return np.tile(np.asarray(self.frequencies, dtype=float), (rows, 1))
        return np.full(rows, self.value, dtype=float)

    def as_json(self) -> dict:
        if self.task == "classification":
            return {"kind": self.kind, "frequencies": list(self.frequencies)}
        return {"kind": self.kind, "value": self.value}

    @classmethod
    def from_json(cls, task: str, payload: dict) -> Baseline:
        return cls(
            task=task,
            kind=str(payload["kind"]),
            value=float(payload.get("value", math.nan)),
            frequencies=tuple(float(p) for p in payload.get("frequencies", ())),
        )


def fit_baseline(task: str, primary_metric: str, truth: np.ndarray, classes: int = 0) -> Baseline:
    """The baseline of the training rows' `truth` (values, or class codes 0..classes-1)."""
    truth = np.asarray(truth)
    if task == "classification":
        counts = np.bincount(truth[truth >= 0].astype(int), minlength=classes).astype(float)
        return Baseline(task, "class frequencies", frequencies=tuple(counts / counts.sum()))
    values = truth.astype(float)
    if primary_metric in MEDIAN_METRICS:
        return Baseline(task, "median", value=float(np.median(values)))
    return Baseline(task, "mean", value=float(np.mean(values)))


def skill(metric: str, model: float | None, baseline: float | None) -> float | None:
    """How much of the baseline's shortfall from a perfect score the model removes.

    1 is perfect, 0 is no better than the baseline, negative is worse. Lower-is-better metrics
    are perfect at 0 (skill = 1 - model / baseline); higher-is-better ones at 1. None when
    undefined (a perfect or undefined baseline).
    """
    if model is None or baseline is None or math.isnan(model) or math.isnan(baseline):
        return None
    perfect = 1.0 if HIGHER_IS_BETTER[metric] else 0.0
    gap = perfect - baseline
    if gap == 0:
        return None
    return (model - baseline) / gap


def beside_baseline(metric: str, model: float, report: dict) -> str:
    """One sentence: the model's `metric` beside its baseline's, from baseline.json's `report`,
    and plainly whether the model beats it (the point estimates; the gate asks for more)."""
    baseline = report["metrics"].get(metric)
    gained = report["skill"].get(metric)
    if baseline is None or gained is None:
        return f"{metric} {model:.4g}; the baseline ({report['baseline']}) cannot be compared."
    said = (
        f"{metric} {model:.4g} against {baseline:.4g} for the baseline ({report['baseline']}): "
        f"skill {gained * 100:.0f}% (the share of the baseline's shortfall the model removes)."
    )
    if gained > 0:
        return said
    return (
        f"{said} The model does NOT beat its baseline: it has learned nothing the baseline does "
        "not know. Try a simpler or more regularised model (model.name: linear, or fewer "
        "iterations), other features, or more rows; check that the features can predict the "
        "target at all."
    )
