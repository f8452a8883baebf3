"""Every number of the PR check's report as JSON: the artifact's report.json.

comment.py renders the comment from this data alone (as comment.yml does, from the default
branch), so it holds everything the comment shows, NaN written as null.
"""

from __future__ import annotations

import math

from .changes import Context, champion_run, diff_params
from .compare import Comparison, Delta


def as_json(c: Comparison, context: Context) -> dict:
    """Every number of the report, for the artifact (NaN written as null)."""
    main_run = champion_run(c)
    payload = {
        "passed": c.passed,
        "state": c.state,
        "failures": c.failures,
        "needs_a_look": c.looks,
        "verdict": c.primary.direction if c.primary else None,
        "gate": c.gate.model_dump(mode="json"),
        "champion": {key: getattr(c.champion, key) for key in ("status", "reason", "commit")},
        "holdout": vars(c.holdout),
        "bootstrap": {
            "resamples": c.resamples,
            "seed": c.seed,
            "confidence": 0.95,
            "resampled": c.resampled,
        },
        "metrics": [_delta_json(d) for d in c.deltas],
        "baseline": _baseline_json(c),
        "identical": c.identical,
        "repeated_splits": None
        if c.repeated is None
        else {"how": c.repeated_how, "delta": _delta_json(c.repeated)},
        "slices": [_delta_json(d) for d in c.slice_deltas],
        "this_pr": {"metrics": c.metrics, "slices": c.slice_metrics},
        "params_changes": _param_changes(main_run, c.challenger_run),
        "runs": {"main": main_run, "this_pr": c.challenger_run},
        "lock": {"file": context.lock_name, "sha256": context.lock_sha256},
        "validation": context.validation,
    }
    return _without_nan(payload)


def _baseline_json(c: Comparison) -> dict | None:
    check = c.baseline
    if check is None:
        return None
    return {
        "description": check.description,
        "metrics": check.metrics,
        "delta": _delta_json(check.delta),
        "required": check.required,
        "beaten": check.beaten,
        "skill": check.skill,
    }


def _param_changes(main_run: dict | None, pr_run: dict) -> list | None:
    if main_run is None:
        return None
    return [list(change) for change in diff_params(main_run["params"], pr_run["params"])]


def _delta_json(d: Delta) -> dict:
    return {
        **vars(d),
        "delta": d.delta,
        "significant": d.significant,
        "direction": d.direction,
        "how_sure": d.how_sure,
        "worse_by": d.worse_by if math.isfinite(d.worse_by) else None,
    }


def _without_nan(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _without_nan(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nan(item) for item in value]
    return value
