"""The PR gate on PRs of known true effect: what `compare` decides against what is true.

For each data seed: a year of demo data, main's model (the shipped params) and one challenger per
PR change, each trained with the project's own `train` and judged with its own `compare`. The
true effect of a PR is the same two fitted models scored on `truth_realisations` independent
years of the same scenario (other seeds), restricted to the holdout's dates: the difference a
reviewer would see on unlimited future data like the holdout.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from common import package, project_params

# name -> (hyper-parameter changes, numeric features dropped, inflation of one store's sales in
# the training data). Harmless tweaks, a mild change, regressions of a few percent, and data bugs
# that hurt one slice (the village store) and barely the whole.
CHANGES: dict[str, tuple[dict, tuple[str, ...], float]] = {
    "no change": ({}, (), 1.0),
    "learning_rate 0.1->0.08": ({"learning_rate": 0.08}, (), 1.0),
    "max_iter 200->150": ({"max_iter": 150}, (), 1.0),
    "l2_regularization 0->1": ({"l2_regularization": 1.0}, (), 1.0),
    "max_leaf_nodes 31->8": ({"max_leaf_nodes": 8}, (), 1.0),
    "learning_rate 0.1->0.05": ({"learning_rate": 0.05}, (), 1.0),
    "max_iter 200->50": ({"max_iter": 50}, (), 1.0),
    "max_leaf_nodes 31->4": ({"max_leaf_nodes": 4}, (), 1.0),
    "learning_rate 0.1->0.02": ({"learning_rate": 0.02}, (), 1.0),
    "drop promotion": ({}, ("promotion",), 1.0),
    "drop price": ({}, ("price",), 1.0),
    "drop temperature": ({}, ("temperature",), 1.0),
    "village sales +6% in training data": ({}, (), 1.06),
    "village sales +12% in training data": ({}, (), 1.12),
}
BIASED_STORE = "village"
TRUTH_SEED = 10_000  # truth years use seeds 10_000, 10_001, ...: never a data seed


def params_with(base: dict, data: Path, change: str) -> dict:
    hyper, dropped, _ = CHANGES[change]
    params = yaml.safe_load(yaml.safe_dump(base))
    params["data"]["train"] = str(data)
    params["model"]["hyperparameters"].update(hyper)
    features = params["features"]
    features["numeric"] = [name for name in features["numeric"] if name not in dropped]
    params["drift"]["columns"] = {
        name: test for name, test in params["drift"]["columns"].items() if name not in dropped
    }
    return params


def biased(year: pd.DataFrame, factor: float, where: Path) -> Path:
    """The PR's training data: one store's sales inflated by `factor` (a bug in its feed)."""
    store = year["store"] == BIASED_STORE
    units = year["units_sold"].where(~store, (year["units_sold"] * factor).round().astype(int))
    return package("demo").write_csv(year.assign(units_sold=units), where / "data.csv")


def truth_frame(realisations: int, rows: int, first_date: pd.Timestamp) -> pd.DataFrame:
    data = package("demo")
    years = [data.generate("baseline", rows, seed=TRUTH_SEED + k) for k in range(realisations)]
    frame = pd.concat(years, ignore_index=True)
    return frame[frame["date"] >= first_date].reset_index(drop=True)


def true_effects(main, challenger, truth: pd.DataFrame, params) -> dict:
    """worse_by of the challenger on the truth rows, overall and per slice (as compare defines)."""
    score = package("model.metrics").score
    primary = params.gate.primary_metric
    higher = package("model.metrics").HIGHER_IS_BETTER[primary]
    y = main.truth_of(truth)
    before, after = main.predict(truth), challenger.predict(truth)

    def metric(mask):
        return score(params.task, y[mask], before[mask])[primary], score(
            params.task, y[mask], after[mask]
        )[primary]

    every = np.ones(len(y), dtype=bool)
    main_all, pr_all = metric(every)
    sign = -1 if higher else 1
    slices = {}
    for column in params.slices:
        for value in sorted(truth[column].unique()):
            m, p = metric((truth[column] == value).to_numpy())
            slices[f"{column}={value}"] = {
                "delta": p - m,
                "worse_by": sign * (p - m) / abs(main_all),
            }
    return {
        "delta": pr_all - main_all,
        "worse_by": sign * (pr_all - main_all) / abs(main_all),
        "slices": slices,
    }


def verdict_of(delta, tolerance: float) -> str:
    """fail, needs a look, pass or not gated: one Delta's verdict, in any version of compare."""
    compare = package("review.compare")
    verdict = getattr(delta, "verdict", None)
    if verdict:
        return verdict
    return "fail" if compare.is_flagged(delta, tolerance) else "pass"


def describe(delta, true: dict, tolerance: float) -> dict:
    return {
        "rows": delta.rows,
        "estimate": delta.worse_by,
        "delta": delta.delta,
        "low": delta.low,
        "high": delta.high,
        "covers_truth": bool(delta.low <= true["delta"] <= delta.high),
        "true_worse_by": true["worse_by"],
        "verdict": verdict_of(delta, tolerance),
    }


def simulate_seed(seed: int, project: str, work: str, realisations: int) -> list[dict]:
    """Every PR change on one data seed: one record per PR."""
    data, train, compare, params_module, artifacts = (
        package(name)
        for name in ("demo", "training.train", "review.compare", "model.params", "model.artifacts")
    )
    folder = Path(work) / f"gate-{seed}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    year = data.generate("baseline", 8760, seed=seed)
    csv = data.write_csv(year, folder / "data.csv")
    base = project_params(Path(project))
    models = {}
    for index, change in enumerate(CHANGES):
        where = folder / f"pr-{index}"
        where.mkdir()
        training = csv if CHANGES[change][2] == 1.0 else biased(year, CHANGES[change][2], where)
        (where / "params.yaml").write_text(yaml.safe_dump(params_with(base, training, change)))
        train.train(params_module.load_params(where / "params.yaml"), where / "model")
        models[change] = where / "model"
    main_dir = models["no change"]
    main = artifacts.load_model(main_dir)
    params = params_module.load_params(folder / "pr-0" / "params.yaml")
    cutoff = pd.Timestamp(main.run["data"]["holdout_from"])
    truth = truth_frame(realisations, len(year), cutoff)
    records = []
    for change, model_dir in models.items():
        result = compare.compare(main_dir, model_dir, csv)
        true = true_effects(main, artifacts.load_model(model_dir), truth, params)
        gate = result.gate
        records.append(
            {
                "seed": seed,
                "change": change,
                "state": getattr(result, "state", "pass" if result.passed else "fail"),
                "overall": describe(result.primary, true, gate.max_regression),
                "slices": {
                    d.label: describe(d, true["slices"][d.label], gate.max_slice_regression)
                    for d in result.slice_deltas
                },
            }
        )
    shutil.rmtree(folder, ignore_errors=True)
    return records


def rate(hits: list[bool]) -> dict:
    return {"rate": (sum(hits) / len(hits)) if hits else math.nan, "of": len(hits)}


def summarise(records: list[dict], tolerance: float, slice_tolerance: float) -> dict:
    """Rates against the targets of issue 12 (tolerances as fractions, 'points' of 0.01)."""
    over = [r["overall"] for r in records]
    worse = [o for o in over if o["true_worse_by"] >= tolerance + 0.01]
    within = [o for o in over if o["true_worse_by"] <= tolerance - 0.01]
    between = [o for o in over if o not in worse and o not in within]

    def fails(deltas: list[dict]) -> dict:  # the overall verdict alone, slices aside
        return rate([d["verdict"] == "fail" for d in deltas])

    def looks(deltas: list[dict]) -> dict:
        return rate([d["verdict"] == "needs a look" for d in deltas])

    slices = [s for r in records for s in r["slices"].values()]
    gated = [s for s in slices if s["verdict"] != "not gated"]
    clean = [
        r
        for r in records
        if max(s["true_worse_by"] for s in r["slices"].values()) < slice_tolerance / 2
    ]
    bad_slices = [s for s in slices if s["true_worse_by"] >= 1.5 * slice_tolerance]
    per_change = {}
    for change in CHANGES:
        mine = [r for r in records if r["change"] == change]
        per_change[change] = {
            "median_true_worse_by": float(np.median([r["overall"]["true_worse_by"] for r in mine])),
            "fail": fails([r["overall"] for r in mine]),
            "needs_a_look": looks([r["overall"] for r in mine]),
            "check_fails": rate([r["state"] == "fail" for r in mine]),
            "slice_fail": rate(
                [any(s["verdict"] == "fail" for s in r["slices"].values()) for r in mine]
            ),
            "max_true_slice_worse_by": float(
                np.median([max(s["true_worse_by"] for s in r["slices"].values()) for r in mine])
            ),
        }
    flagged = [s for s in slices if s["verdict"] == "fail"]
    # PRs that break no tolerance at all: overall and every slice truly within it
    harmless = [
        r
        for r in records
        if r["overall"]["true_worse_by"] <= tolerance - 0.01
        and max(s["true_worse_by"] for s in r["slices"].values()) < slice_tolerance
    ]
    return {
        "prs": len(records),
        "overall": {
            "truly_worse_fail": fails(worse),
            "truly_worse_needs_a_look": looks(worse),
            "truly_within_fail": fails(within),
            "truly_within_needs_a_look": looks(within),
            "in_between_fail": fails(between),
            "in_between_needs_a_look": looks(between),
            "interval_coverage": rate([o["covers_truth"] for o in over]),
        },
        "slices": {
            "clean_prs_with_a_slice_fail": rate(
                [any(s["verdict"] == "fail" for s in r["slices"].values()) for r in clean]
            ),
            "clean_prs_with_a_slice_look": rate(
                [any(s["verdict"] == "needs a look" for s in r["slices"].values()) for r in clean]
            ),
            "truly_bad_slices_flagged": rate([s["verdict"] == "fail" for s in bad_slices]),
            "flagged_slices_truly_worse_than_tolerance": rate(
                [s["true_worse_by"] >= slice_tolerance for s in flagged]
            ),
            "flagged_slices_truly_worse_under_half_tolerance": rate(
                [s["true_worse_by"] < slice_tolerance / 2 for s in flagged]
            ),
            "interval_coverage": rate([s["covers_truth"] for s in gated]),
        },
        "harmless_prs": {
            "check_fails": rate([r["state"] == "fail" for r in harmless]),
            "needs_a_look": rate([r["state"] == "needs a look" for r in harmless]),
        },
        "per_change": per_change,
    }
