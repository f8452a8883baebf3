"""Whether `adopt`'s first model is worth a pull request: against a constant and the gate's bounds.

The constant is the trivial baseline, learnt from no feature: regression predicts the training
rows' median (the best constant for mae), classification the training rows' class frequencies.
Both are scored on the same holdout as the model, with the same metrics, so "worse than the
baseline" means the features did not help at all. The gate's absolute bounds are what the
first pull request (no model on main yet) must meet.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .contract import Contract
from .dataset import load_records, split_records
from .metrics import HIGHER_IS_BETTER, score
from .params import Params


def baseline_metrics(params: Params) -> dict[str, float]:
    """The constant prediction's metrics on the holdout that `train` scores the model on."""
    contract = Contract.load(params)
    split = split_records(load_records(params.train_path, contract), contract)
    train, holdout = split.train[params.target], split.holdout[params.target]
    if params.task == "regression":
        constant = float(train.median())
        return score("regression", holdout.to_numpy(float), np.full(len(holdout), constant))
    frequencies = train.value_counts(normalize=True).sort_index()
    codes = pd.Categorical(holdout, categories=frequencies.index).codes.astype(int)
    matrix = np.tile(frequencies.to_numpy(float), (len(holdout), 1))
    return score("classification", codes, matrix)


def worse_than_baseline(metric: str, model: float, baseline: float) -> bool:
    """Whether `model`'s value of `metric` is worse than the baseline's (ties are not worse)."""
    if HIGHER_IS_BETTER[metric]:
        return model < baseline
    return model > baseline


def doubt_about(params: Params, metrics: dict[str, float]) -> str | None:
    """A sentence when the model is no better than a constant or misses the gate's absolute
    bounds on its holdout (and why that may be, with a time column); None when it is fine."""
    problems = _missed_bounds(params, metrics)
    metric = params.gate.primary_metric
    baseline = baseline_metrics(params)
    if metric in metrics and worse_than_baseline(metric, metrics[metric], baseline[metric]):
        constant = "the training median" if params.task == "regression" else "class frequencies"
        problems.append(
            f"{metric} {metrics[metric]:.4g} is worse than predicting {constant} "
            f"({baseline[metric]:.4g})"
        )
    if not problems:
        return None
    said = f"on its holdout the model's {'; '.join(problems)}."
    time_column = params.split.time_column
    if time_column:
        said += (
            f" The holdout is the newest rows by {time_column!r}, which is therefore not a "
            "feature: when the newest rows differ from the older ones by a trend in time, "
            f"adopt again without --time-column (then {time_column!r} may be a feature)."
        )
    return said


def _missed_bounds(params: Params, metrics: dict[str, float]) -> list[str]:
    """The gate's absolute_min and absolute_max that the metrics miss, said one by one."""
    missed = []
    for name, low in params.gate.absolute_min.items():
        if name in metrics and metrics[name] < low:
            missed.append(f"{name} {metrics[name]:.4g} is below gate.absolute_min {low}")
    for name, high in params.gate.absolute_max.items():
        if name in metrics and metrics[name] > high:
            missed.append(f"{name} {metrics[name]:.4g} is above gate.absolute_max {high}")
    return missed
