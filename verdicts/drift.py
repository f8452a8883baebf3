"""The drift check on periods of known truth: ordinary months of other years, and real shifts.

Main's model is trained on the project's own year of data (baseline, seed 0). Each period is a
month of another year (other seeds, each season), as is or shifted (see shifts.py), checked by
the project's own `drift.check_drift` twice: with labels (the model's decay can be measured) and
without. A period's true decay is the model's primary metric on `drift_truth_realisations`
independent realisations of the same shifted month, against its metric at training time: the
quantity `drift.decay_tolerance` bounds.
"""

from __future__ import annotations

import calendar
import math
import shutil
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd
import yaml
from common import package, project_params
from shifts import KINDS, TRANSFORMS, fuel_shock

YEAR = 2025
# The rule before issue 12, replayed on each run's scores: any column at or above its old
# threshold, or (with labels) decay beyond the tolerance, opened a retraining PR.
OLD_THRESHOLDS = {"fuel_price": 3.0, "temperature": 2.0}
OLD_DEFAULT = 0.1
TRUTH_SEED = 20_000
TARGETS = ("units_sold", "high_demand")
DECAY_LEVELS = (0.5, 0.75, 0.8, 0.9, 0.95, 0.975)


def period(kind: str, seed: int, month: int) -> pd.DataFrame:
    days = calendar.monthrange(YEAR, month)[1]
    start = f"{YEAR}-{month:02d}-01"
    if kind == "fuel shock":
        return fuel_shock(seed, start, days)
    data = package("demo")
    year = data.generate(
        "baseline", 366 * len(data.STORES) * len(data.CATEGORIES), seed=seed, start=f"{YEAR}-01-01"
    )
    frame = year[year["date"].dt.month == month].reset_index(drop=True)
    if kind == "ordinary":
        return frame
    rng = np.random.default_rng([seed, month, KINDS.index(kind)])
    return TRANSFORMS[kind](frame, rng)


def prepare_reference(project: Path, work: Path) -> tuple[Path, Path, Path]:
    """The reference year, main's model trained on it, and the params that point at it."""
    data, train, params_module = (
        package(name) for name in ("demo", "training.train", "model.params")
    )
    work.mkdir(parents=True, exist_ok=True)
    reference = data.write_csv(data.generate("baseline", 8760, seed=0), work / "reference.csv")
    params = project_params(project)
    params["data"]["train"] = str(reference)
    params_file = work / "params.yaml"
    params_file.write_text(yaml.safe_dump(params))
    train.train(params_module.load_params(params_file), work / "model")
    return reference, work / "model", params_file


def true_decay(kind: str, month: int, model_dir: Path, params, realisations: int) -> float | None:
    """The model's decay_metric on many realisations of the period, relative to training time."""
    if kind == "new category":
        return None  # the schema refuses the data: there is no prediction to score
    artifacts, metrics = package("model.artifacts"), package("model.metrics")
    frames = [period(kind, TRUTH_SEED + k, month) for k in range(realisations)]
    frame = pd.concat(frames, ignore_index=True)
    model = artifacts.load_model(model_dir)
    metric = params.drift.decay_metric
    now = metrics.score(params.task, model.truth_of(frame), model.predict(frame))[metric]
    trained = yaml.safe_load((model_dir / "metrics.json").read_text(encoding="utf-8"))[metric]
    change = (now - trained) / abs(trained)
    return -change if metrics.HIGHER_IS_BETTER[metric] else change


def check(params, reference: Path, frame: pd.DataFrame, folder: Path, model_dir: Path) -> dict:
    """One `check_drift` run: its distribution verdict, its retraining decision, the scores."""
    drift, errors = package("monitor.drift"), package("errors")
    csv = folder / "current.csv"
    package("demo").write_csv(frame, csv)
    try:
        result = drift.check_drift(params, reference, csv, folder / "out", model=model_dir)
    except errors.ProjectError as error:
        refused = {"outcome": "refused", "retrain": False, "old_rule_retrain": False}
        return refused | {"drift": None, "reason": str(error)[:300]}
    performance = result.get("performance") or {}
    decay = None
    if "metrics" in performance:
        decay = performance["metrics"][performance["metric"]]["worse_by"]
    old = any(
        score >= OLD_THRESHOLDS.get(name, OLD_DEFAULT)
        for name, score in ((n, c["score"]) for n, c in result["columns"].items())
    )
    return {
        "outcome": "checked",
        "old_rule_retrain": old or bool(performance.get("decayed")),
        "drift": result["drift"] if "retrain" not in result else result["data_drift"],
        # before issue 12 the workflow opened a retraining PR whenever drift was true
        "retrain": bool(result.get("retrain", result["drift"])),
        "reasons": result.get("retrain_reason", result["reasons"]),
        "measured_decay": decay,
        "decay_upper": performance.get("decay_upper"),
        "decay_confidence": performance.get("confidence"),
        "scores": {name: column["score"] for name, column in result["columns"].items()},
    }


def simulate_seed(
    seed: int,
    project: str,
    work: str,
    months: tuple[int, ...],
    model_dir: str,
    reference: str,
    params_file: str,
) -> list[dict]:
    params = package("model.params").load_params(Path(params_file))
    folder = Path(work) / f"drift-{seed}"
    records = []
    for month in months:
        for kind in KINDS:
            frame = period(kind, seed, month)
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            labelled = check(params, Path(reference), frame, folder, Path(model_dir))
            unlabelled_frame = frame.drop(columns=[c for c in TARGETS if c in frame])
            unlabelled = check(params, Path(reference), unlabelled_frame, folder, Path(model_dir))
            records.append(
                {
                    "seed": seed,
                    "month": month,
                    "kind": kind,
                    "labelled": labelled,
                    "unlabelled": unlabelled,
                }
            )
    shutil.rmtree(folder, ignore_errors=True)
    return records


def replay_decay_levels(records: list[dict], tolerance: float, levels: tuple[float, ...]) -> dict:
    """The labelled retraining rule at other levels of `drift.decay_confidence`, replayed from
    each run's estimate and interval end (normal approximation; exact at the level run)."""
    by_level = {}
    for level in levels:
        z = NormalDist().inv_cdf(level)

        def retrains(check: dict) -> bool:
            decay, upper = check.get("measured_decay"), check.get("decay_upper")
            if check["outcome"] != "checked" or decay is None:
                return bool(check["retrain"])
            if decay > tolerance:
                return True
            if upper is None or not check["drift"]:
                return False
            spread = (upper - decay) / NormalDist().inv_cdf(check["decay_confidence"])
            return decay + z * spread > tolerance

        by_level[str(level)] = {
            group: rate([retrains(r["labelled"]) for r in members])
            for group, members in _groups(records, tolerance).items()
        }
    return by_level


def _groups(records: list[dict], tolerance: float) -> dict[str, list[dict]]:
    shifts = [r for r in records if r["kind"] != "ordinary" and r["true_decay"] is not None]
    return {
        "ordinary": [r for r in records if r["kind"] == "ordinary"],
        "harmful": [r for r in shifts if r["true_decay"] > tolerance],
        "harmless": [r for r in shifts if r["true_decay"] <= tolerance],
    }


def rate(hits: list[bool]) -> dict:
    return {"rate": (sum(hits) / len(hits)) if hits else math.nan, "of": len(hits)}


def summarise(records: list[dict], truths: dict, tolerance: float) -> dict:
    """False alarms on ordinary months, detection of shifts whose true decay exceeds tolerance."""
    for record in records:
        record["true_decay"] = truths[f"{record['kind']}|{record['month']}"]
    ordinary = [r for r in records if r["kind"] == "ordinary"]
    harmful = [r for r in records if r["kind"] != "ordinary" and (r["true_decay"] or 0) > tolerance]
    harmless = [
        r
        for r in records
        if r["kind"] != "ordinary" and r["true_decay"] is not None and r["true_decay"] <= tolerance
    ]
    summary: dict = {"periods": len(records)}
    for mode in ("labelled", "unlabelled"):
        summary[mode] = {
            "ordinary_retrain": rate([r[mode]["retrain"] for r in ordinary]),
            "ordinary_drift": rate([bool(r[mode]["drift"]) for r in ordinary]),
            "harmful_shift_retrain": rate([r[mode]["retrain"] for r in harmful]),
            "harmless_shift_retrain": rate([r[mode]["retrain"] for r in harmless]),
            "old_rule": {
                "ordinary_retrain": rate([r[mode]["old_rule_retrain"] for r in ordinary]),
                "harmful_shift_retrain": rate([r[mode]["old_rule_retrain"] for r in harmful]),
                "harmless_shift_retrain": rate([r[mode]["old_rule_retrain"] for r in harmless]),
            },
            "per_kind": {
                kind: {
                    "retrain": rate([r[mode]["retrain"] for r in records if r["kind"] == kind]),
                    "drift": rate([bool(r[mode]["drift"]) for r in records if r["kind"] == kind]),
                    "refused": rate(
                        [r[mode]["outcome"] == "refused" for r in records if r["kind"] == kind]
                    ),
                }
                for kind in KINDS
            },
        }
    summary["true_decay"] = truths
    summary["decay_levels"] = replay_decay_levels(records, tolerance, DECAY_LEVELS)
    columns = sorted({c for r in ordinary for c in r["labelled"].get("scores", {})})
    summary["ordinary_scores"] = {
        column: {
            "p95": float(np.percentile([r["labelled"]["scores"][column] for r in ordinary], 95)),
            "max": float(max(r["labelled"]["scores"][column] for r in ordinary)),
        }
        for column in columns
    }
    summary["shift_scores_median"] = {
        kind: {
            column: float(
                np.median(
                    [
                        r["labelled"]["scores"][column]
                        for r in records
                        if r["kind"] == kind and "scores" in r["labelled"]
                    ]
                )
            )
            for column in columns
        }
        for kind in KINDS
        if kind != "new category"
    }
    return summary
