"""The drift check: recent vs training data (Evidently), data quality, performance decay."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from ..data.contract import Contract
from ..data.incoming import Table, load_table
from ..folders import atomic_directory
from ..model.artifacts import write_json
from ..model.params import CATEGORICAL_DRIFT_METHODS, NUMERIC_DRIFT_METHODS, Params
from .calibration import size_factor
from .decay import performance_decay
from .drift_summary import percent, summary_markdown
from .evidently_adapter import DriftRun, run_drift  # imports Evidently itself only when run

JSON_FILE, HTML_FILE, SUMMARY_FILE = "drift.json", "report.html", "summary.md"


def check_drift(
    params: Params, reference: str | Path, current: str | Path, out: str | Path, model: Path | None
) -> dict:
    """Compare `current` with `reference`; write drift.json, report.html, summary.md to `out`.

    Drift is a finding, not an error: the result says whether the feature columns drifted
    (share of drifted columns) or the model decayed. Unreadable or invalid data raises
    ProjectError and leaves `out` as it was.
    """
    started = time.perf_counter()
    contract = Contract.load(params)
    ref, cur = load_table(reference, contract), load_table(current, contract)
    result = {
        "reference": _describe(ref, str(reference)),
        "current": _describe(cur, str(current)),
    }
    timings = {"load_and_validate": time.perf_counter() - started}
    run = None
    if cur.frame.empty:
        result |= {
            "columns": {},
            "drift": False,
            "retrain": False,
            "retrain_reason": "no recent data",
            "reasons": [f"no recent data at {current}"],
        }
    else:
        run = _findings(params, ref, cur, model, result, timings)
    timings["total"] = time.perf_counter() - started
    result["timings_seconds"] = {name: round(value, 3) for name, value in timings.items()}
    with atomic_directory(out) as staging:
        write_json(staging / JSON_FILE, result)
        (staging / SUMMARY_FILE).write_text(summary_markdown(result), encoding="utf-8")
        if run is not None:
            run.save_html(staging / HTML_FILE)
    return result


def _describe(table: Table, location: str) -> dict:
    dates = table.dates
    return {
        "location": location,
        "files": table.sources,
        "rows": len(table.frame),
        "labelled": table.labelled,
        "from": dates[0] if dates else None,
        "to": dates[1] if dates else None,
    }


def _findings(
    params: Params, ref: Table, cur: Table, model: Path | None, result: dict, timings: dict
) -> DriftRun:
    """Fill `result` with the column tests, quality, decay and verdict; return Evidently's run."""
    limit = params.drift.sample_rows
    result["sampled"] = len(ref.frame) > limit or len(cur.frame) > limit
    tested = {}
    for name, table in (("reference", ref), ("current", cur)):
        frame = table.frame
        tested[name] = (
            frame.sample(n=limit, random_state=params.seed) if len(frame) > limit else frame
        )
        result[name]["rows_tested"] = len(tested[name])
    started = time.perf_counter()
    sizes = (len(tested["current"]), len(tested["reference"]))
    raised = {name: noise_factor(params, name, *sizes) for name in tested_columns(params)}
    run = _evidently(params, tested["reference"], tested["current"], result["sampled"], raised)
    timings["evidently"] = time.perf_counter() - started  # includes importing it
    result["columns"] = {
        name: {
            "type": "categorical" if name in params.features.categorical else "numeric",
            "method": drift.method,
            "statistic": _statistic(params, name, drift.method),
            "score": drift.score,
            "threshold": drift.threshold,
            "drifted": drift.drifted,
            # >1: the current table is smaller than a calibrated window, the threshold raised
            "raised_by": round(raised[name], 3),
        }
        for name, drift in run.columns.items()
    }
    result["quality"] = data_quality(params, ref.frame, cur.frame)
    result["performance"] = performance_decay(params, model, cur) if model else None
    result |= _decide(params, result)
    return run


def _evidently(
    params: Params,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    sampled: bool,
    raised: dict[str, float],
) -> DriftRun:
    limit = params.drift.sample_rows
    return run_drift(
        reference,
        current,
        numeric=params.features.numeric,
        categorical=params.features.categorical,
        # dates used as features always move forward: they are not tested for drift
        tests={name: _test(params, name, raised[name]) for name in tested_columns(params)},
        drift_share=params.drift.share,
        metadata={"rows tested": f"a seeded sample of {limit} per table" if sampled else "all"},
    )


def tested_columns(params: Params) -> list[str]:
    return [*params.features.categorical, *params.features.numeric]


def _test(params: Params, column: str, raised: float = 1.0) -> tuple[str, float]:
    test = params.drift.test_for(column, categorical=column in params.features.categorical)
    return test.method, test.threshold * raised


def noise_factor(params: Params, column: str, current_rows: int, reference_rows: int) -> float:
    """How much further a column's calibrated threshold must sit for tables of these sizes
    (calibration.size_factor); 1 for a threshold set by a person."""
    test = params.drift.test_for(column, categorical=column in params.features.categorical)
    return size_factor(test.evidence, current_rows, reference_rows)


def _statistic(params: Params, column: str, method: str) -> str:
    """p_value (drift below the threshold) or distance (drift at or above it)."""
    categorical = column in params.features.categorical
    methods = CATEGORICAL_DRIFT_METHODS if categorical else NUMERIC_DRIFT_METHODS
    return methods.get(method, "score")


def data_quality(params: Params, reference: pd.DataFrame, current: pd.DataFrame) -> dict:
    """What the schema allows but training never saw: new categories, values outside its range.

    The current data has passed the same Pandera schema as the training data (so no missing
    values or impossible values); this adds what is new relative to the reference.
    """
    columns = {}
    for name in params.features.categorical:
        new = sorted(set(current[name].astype(str)) - set(reference[name].astype(str)))
        rows = int(current[name].astype(str).isin(new).sum())
        columns[name] = {
            "missing": int(current[name].isna().sum()),
            "new_categories": new,
            "rows_with_new_category": rows,
        }
    for name in params.features.numeric:
        low, high = reference[name].min(), reference[name].max()
        columns[name] = {
            "missing": int(current[name].isna().sum()),
            "reference_min": float(low),
            "reference_max": float(high),
            "below_reference_min": int((current[name] < low).sum()),
            "above_reference_max": int((current[name] > high).sum()),
        }
    return {"schema": "valid", "rows": len(current), "columns": columns}


def _decide(params: Params, result: dict) -> dict:
    """`drift`: the distribution moved. `retrain`: whether to open a retraining PR, and why.

    Labelled recent data decides by the model's decay alone: a drifted column whose model still
    predicts well is reported, but proposes no retraining. Without labels (or without a model)
    distribution drift is all there is to go on, with thresholds set above what ordinary windows
    of the project's own history score (calibration.py; the demo's, above ordinary months of
    other years: docs/verdicts.md in the template).
    """
    columns = result["columns"]
    drifted = [name for name, column in columns.items() if column["drifted"]]
    share = len(drifted) / len(columns) if columns else 0.0
    data_drift = share >= params.drift.share
    reasons = []
    if data_drift:
        reasons.append(
            f"{len(drifted)} of {len(columns)} columns drifted ({', '.join(drifted)}): "
            f"share {share:.2f} >= {params.drift.share}"
        )
    performance = result.get("performance") or {}
    if performance.get("decayed"):
        worse_by = performance["metrics"][performance["metric"]]["worse_by"]
        reasons.append(
            f"{performance['metric']} is {percent(worse_by)} worse than at training "
            f"(tolerance {percent(performance['tolerance'])})"
        )
    retrain, why = _retrain(performance, data_drift)
    return {
        "drift": data_drift,
        "retrain": retrain,
        "retrain_reason": why,
        "reasons": reasons,
        "data_drift": data_drift,
        "drifted_columns": drifted,
        "share": share,
        "share_threshold": params.drift.share,
    }


def _retrain(performance: dict, data_drift: bool) -> tuple[bool, str]:
    """Labelled data: decayed past the tolerance retrains; so does drifted data whose decay the
    labels cannot place within the tolerance (a month of labels measures decay to about ±15
    points on the demo, see the template's docs/verdicts.md); otherwise the model is fine."""
    if "metrics" in performance:
        metric, tolerance = performance["metric"], percent(performance["tolerance"])
        worse_by = performance["metrics"][metric]["worse_by"]
        if worse_by is None:
            return data_drift, f"{metric} could not be measured: the distribution decides"
        how = f"{percent(abs(worse_by))} {'worse' if worse_by > 0 else 'better'}"
        found = f"on labelled recent data {metric} is {how} than at training"
        if performance["decayed"]:
            return True, f"{found}, more than the {tolerance} tolerated"
        upper = performance.get("decay_upper")
        if upper is not None and upper > performance["tolerance"]:
            sure = f"{percent(performance['confidence'])} sure of at most {percent(upper)} worse"
            if data_drift:
                return True, (
                    f"{found}, but the data drifted and the labels cannot rule out more than "
                    f"the {tolerance} tolerated ({sure})"
                )
            return False, (
                f"{found}, within the {tolerance} tolerated, though the labels cannot rule out "
                f"more ({sure}); the data has not drifted"
            )
        despite = " despite the drift" if data_drift else ""
        return False, f"{found}, within the {tolerance} tolerated: the model is fine{despite}"
    if data_drift:
        return True, "no labelled recent data to measure the model on: the distribution drifted"
    return False, "no labelled recent data, and the distribution has not drifted"
