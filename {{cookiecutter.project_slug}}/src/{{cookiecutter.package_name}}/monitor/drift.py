"""The drift check: recent vs training data (Evidently), data quality, performance decay."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.contract import Contract
from ..data.incoming import Table, load_table
from ..errors import ProjectError
from ..folders import atomic_directory
from ..markdown_text import code_span, plain
from ..model.artifacts import METRICS_FILE, load_model, write_json
from ..model.bootstrap import group_codes, resampled_metrics, resampling_groups
from ..model.metrics import HIGHER_IS_BETTER, json_safe, score
from ..model.params import CATEGORICAL_DRIFT_METHODS, NUMERIC_DRIFT_METHODS, Params
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
    run = _evidently(params, tested["reference"], tested["current"], result["sampled"])
    timings["evidently"] = time.perf_counter() - started  # includes importing it
    result["columns"] = {
        name: {
            "type": "categorical" if name in params.features.categorical else "numeric",
            "method": drift.method,
            "statistic": _statistic(params, name, drift.method),
            "score": drift.score,
            "threshold": drift.threshold,
            "drifted": drift.drifted,
        }
        for name, drift in run.columns.items()
    }
    result["quality"] = data_quality(params, ref.frame, cur.frame)
    result["performance"] = performance_decay(params, model, cur) if model else None
    result |= _decide(params, result)
    return run


def _evidently(
    params: Params, reference: pd.DataFrame, current: pd.DataFrame, sampled: bool
) -> DriftRun:
    limit = params.drift.sample_rows
    return run_drift(
        reference,
        current,
        numeric=params.features.numeric,
        categorical=params.features.categorical,
        # dates used as features always move forward: they are not tested for drift
        tests={name: _test(params, name) for name in tested_columns(params)},
        drift_share=params.drift.share,
        metadata={"rows tested": f"a seeded sample of {limit} per table" if sampled else "all"},
    )


def tested_columns(params: Params) -> list[str]:
    return [*params.features.categorical, *params.features.numeric]


def _test(params: Params, column: str) -> tuple[str, float]:
    test = params.drift.test_for(column, categorical=column in params.features.categorical)
    return test.method, test.threshold


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
    tolerance = params.drift.decay_tolerance
    return {
        "model": str(model_dir),
        "metric": metric,
        "tolerance": tolerance,
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
            f"{performance['metric']} is {_percent(worse_by)} worse than at training "
            f"(tolerance {_percent(performance['tolerance'])})"
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
        metric, tolerance = performance["metric"], _percent(performance["tolerance"])
        worse_by = performance["metrics"][metric]["worse_by"]
        if worse_by is None:
            return data_drift, f"{metric} could not be measured: the distribution decides"
        how = f"{_percent(abs(worse_by))} {'worse' if worse_by > 0 else 'better'}"
        found = f"on labelled recent data {metric} is {how} than at training"
        if performance["decayed"]:
            return True, f"{found}, more than the {tolerance} tolerated"
        upper = performance.get("decay_upper")
        if upper is not None and upper > performance["tolerance"]:
            sure = f"{_percent(performance['confidence'])} sure of at most {_percent(upper)} worse"
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


def summary_markdown(result: dict) -> str:
    """The short markdown for a job summary or a pull request body."""
    verdict = "**Drift: yes**" if result["drift"] else "**Drift: no**"
    reasons = "; ".join(result["reasons"])
    lines = [f"{verdict}{': ' + reasons if reasons else ''}"]
    if "retrain" in result:
        retrain = "**Retraining: yes**" if result["retrain"] else "**Retraining: no**"
        lines += ["", f"{retrain}: {result['retrain_reason']}."]
    if result["columns"]:
        lines += ["", "| column | test | score | threshold | drifted |"]
        lines += ["| --- | --- | ---: | ---: | --- |"]
        for name, c in result["columns"].items():
            test = f"{c['method']} ({c['statistic'].replace('_', '-')})"
            drifted = "**yes**" if c["drifted"] else "no"
            lines += [
                f"| `{name}` | {test} | {c['score']:.4g} | {c['threshold']:.4g} | {drifted} |"
            ]
        share, threshold = result["share"], result["share_threshold"]
        lines += ["", f"Share of drifted columns: {share:.2f} (drift from {threshold})."]
    lines += ["", *_data_lines(result), *_quality_lines(result), *_performance_lines(result)]
    return "\n".join(lines) + "\n"


def _data_lines(result: dict) -> list[str]:
    lines = []
    for name in ("reference", "current"):
        table = result[name]
        span = f", {table['from']} to {table['to']}" if table["from"] else ""
        tested = table.get("rows_tested", table["rows"])
        sample = f" (a seeded sample of {tested} tested)" if tested < table["rows"] else ""
        location = code_span(table["location"])
        lines.append(f"- {name}: {location}, {table['rows']} rows{span}{sample}")
    return lines


def _quality_lines(result: dict) -> list[str]:
    quality = result.get("quality")
    if not quality:
        return []
    notes = []
    for name, c in quality["columns"].items():
        if c.get("new_categories"):
            # production data: each value escaped (markdown_text), shown, never rendered
            values = ", ".join(plain(value) for value in c["new_categories"])
            notes += [f"`{name}`: {c['rows_with_new_category']} rows of new values {values}"]
        if c.get("below_reference_min"):
            notes += [f"`{name}`: {c['below_reference_min']} rows below {c['reference_min']:.4g}"]
        if c.get("above_reference_max"):
            notes += [f"`{name}`: {c['above_reference_max']} rows above {c['reference_max']:.4g}"]
    found = "; outside what training saw: " + "; ".join(notes) if notes else ""
    return [f"- quality: the current data passes the schema{found}"]


def _performance_lines(result: dict) -> list[str]:
    performance = result.get("performance")
    if not performance:
        return []
    if "skipped" in performance:
        return ["", f"Performance: not measured ({performance['skipped']})."]
    lines = [
        "",
        f"Performance of `{performance['model']}` (decay when `{performance['metric']}` is "
        f"more than {_percent(performance['tolerance'])} worse):",
        "",
        "| metric | at training | on current data | worse by |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, row in performance["metrics"].items():
        cells = [
            _number(row["training"]),
            _number(row["current"]),
            "n/a" if row["worse_by"] is None else _percent(row["worse_by"], sign="+"),
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    upper = performance.get("decay_upper")
    if upper is not None:
        lines += [
            "",
            f"The bootstrap ({performance['resampled']}, "
            f"{performance['rows_resampled']} rows) is {_percent(performance['confidence'])} "
            f"sure that `{performance['metric']}` is at most {_percent(upper, sign='+')} worse.",
        ]
    return lines


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _percent(value: float, sign: str = "") -> str:
    return format(value, f"{sign}.0%")  # 0.5 -> "50%"
