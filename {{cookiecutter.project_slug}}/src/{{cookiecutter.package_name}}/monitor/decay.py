"""Performance decay: the model's metrics on labelled recent data against those at training.

How much worse the decay metric is (`worse_by`, relative), and how much worse it may be: the
end of a one-sided bootstrap interval over the recent rows (whole days together when the data
has a time column), which `drift` weighs against `drift.decay_tolerance`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..data.incoming import Table
from ..errors import ProjectError
from ..model.artifacts import METRICS_FILE, load_model
from ..model.bootstrap import group_codes, resampled_metrics, resampling_groups
from ..model.metrics import HIGHER_IS_BETTER, json_safe, score
from ..model.params import Params
from .calibration import size_factor


def performance_decay(params: Params, model_dir: Path, current: Table) -> dict:
    """The model's metrics on labelled current data against its holdout metrics at training.

    `decay` is the decay metric's `worse_by`; `decay_upper`, the end of its one-sided
    bootstrap interval at `drift.decay_confidence` (a month of labels measures decay roughly).
    """
    if not current.labelled:
        return {"model": str(model_dir), "skipped": "the current data has no labels"}
    model = load_model(model_dir)
    metric = params.drift.decay_metric
    trained = json.loads((Path(model_dir) / METRICS_FILE).read_text(encoding="utf-8"))
    truth, predicted = model.truth_of(current.frame), model.predict(current.frame)
    now = score(model.task, truth, predicted)
    if metric not in now:
        raise ProjectError(f"drift.decay_metric {metric!r} is not a metric of a {model.task} model")
    metrics = {
        name: _change(name, trained.get(name), value) for name, value in json_safe(now).items()
    }
    decay = metrics[metric]["worse_by"]
    time_column = params.split.time_column
    groups = resampling_groups(current.frame, time_column)
    upper, rows = _decay_upper(
        params, model.task, trained.get(metric), decay, truth, predicted, groups
    )
    # the calibrated tolerance allows for a smaller labelled table's noise, as thresholds do
    holdout_rows = (model.run.get("data") or {}).get("holdout_rows") or len(truth)
    raised = size_factor(params.drift.decay_evidence, len(truth), holdout_rows)
    tolerance = params.drift.decay_tolerance * raised
    return {
        "model": str(model_dir),
        "metric": metric,
        "tolerance": tolerance,
        "raised_by": round(raised, 3),
        "decayed": decay is not None and decay > tolerance,
        "decay": decay,
        "decay_upper": upper,
        "confidence": params.drift.decay_confidence,
        "resampled": f"the rows of one {time_column} together" if time_column else "each row",
        "rows_resampled": rows,
        "metrics": metrics,
    }


def _decay_upper(
    params: Params,
    task: str,
    trained: float | None,
    decay: float | None,
    truth: np.ndarray,
    predicted: np.ndarray,
    groups: np.ndarray,
) -> tuple[float | None, int]:
    """The decay the bootstrap is `drift.decay_confidence` sure the model does not exceed
    (None: unknown), and how many rows it resampled.

    The bootstrap's cost grows with the rows it spreads its counts over, so above
    `drift.sample_rows` it resamples a seeded sample and moves the sample's spread onto the
    whole table's decay (a sample's spread is, if anything, wider).
    """
    metric, limit = params.drift.decay_metric, params.drift.sample_rows
    rows = np.arange(len(truth))
    here = decay  # where the resamples are centred: the whole table's decay, or the sample's
    if len(rows) > limit:
        rows = np.sort(np.random.default_rng(params.seed).choice(rows, size=limit, replace=False))
        truth, predicted, groups = truth[rows], predicted[rows], group_codes(groups[rows])
        here = _change(metric, trained, score(task, truth, predicted)[metric])["worse_by"]
    rng = np.random.default_rng(params.seed)
    resampled = resampled_metrics(task, truth, predicted, rng, groups=groups)[metric]
    spread = _change_array(metric, trained, resampled)
    if spread is None or here is None or decay is None:
        return None, len(rows)
    end = float(np.quantile(spread, params.drift.decay_confidence))
    return end - here + decay, len(rows)


def _change_array(metric: str, trained: float | None, values: np.ndarray) -> np.ndarray | None:
    """`worse_by` of many values of `metric` (the undefined ones left out); None if none is."""
    if trained is None or trained == 0:
        return None
    change = (values - trained) / abs(trained)
    worse_by = -change if HIGHER_IS_BETTER[metric] else change
    worse_by = worse_by[~np.isnan(worse_by)]
    return worse_by if worse_by.size else None


def _change(name: str, trained: float | None, current: float | None) -> dict:
    """`worse_by`: relative change in the direction that makes the metric worse (0.5 = 50%)."""
    worse_by = None
    if trained is not None and current is not None and trained != 0:
        change = (current - trained) / abs(trained)
        worse_by = -change if HIGHER_IS_BETTER[name] else change
        worse_by = None if math.isnan(worse_by) else worse_by
    return {"training": trained, "current": current, "worse_by": worse_by}
