"""Whether `adopt`'s first model is worth a pull request: against its baseline and the bounds.

The baseline is the one `train` fitted beside the model (baseline.py: the training median or
mean, or the class frequencies) and scored on the same holdout, so "no better than the
baseline" means the features did not help at all. The gate's optional absolute bounds are what
the first pull request (no model on main yet) must also meet.
"""

from __future__ import annotations

from ..model.params import Params


def doubt_about(params: Params, trained) -> str | None:
    """A sentence when the model (a TrainResult) is no better than its baseline or misses the
    gate's absolute bounds on its holdout (and why that may be, with a time column); None when
    it is fine."""
    metrics = trained.metrics
    problems = _missed_bounds(params, metrics)
    metric = params.gate.primary_metric
    report = trained.baseline
    baseline, skill = report["metrics"].get(metric), report["skill"].get(metric)
    if skill is not None and skill <= 0:
        problems.append(
            f"{metric} {metrics[metric]:.4g} is no better than the baseline's {baseline:.4g} "
            f"({report['baseline']})"
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
