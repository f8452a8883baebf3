"""Does the default model beat a trivial baseline on every real data set of the corpus?

For each data set of `tests/own_data.py` (real tables shipped inside pip packages, read
offline), a freshly baked project `adopt`s it as a user would, and the model that the
project's defaults then train is scored against the trivial baseline on the primary metric
that `adopt` chose:

- regression: the training median (mae is primary, and the median minimises it);
- classification: the training class frequencies, the same for every row (log_loss).

Twice: on the project's own holdout (`split_records`, as `train` scores it), and, for a data
set with a time column, on later data: fit on everything before the last year (or, when the
table spans less than two years, before the last quarter of its span) and score that.

    .venv/bin/python verdicts/baseline_check.py                 # the defaults as adopt writes them
    .venv/bin/python verdicts/baseline_check.py --candidates    # and each candidate setting
    .venv/bin/python verdicts/baseline_check.py --only wine,macro

Writes verdicts/results/baseline.json and prints a markdown table (docs/verdicts.md, "Model
defaults against the baseline").
"""

from __future__ import annotations

import argparse
import json
import os

# one thread: on a shared machine OpenMP's idle threads spin, and small fits are not worth them
os.environ.setdefault("OMP_NUM_THREADS", "1")

import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from common import RESULTS, bake, package, use_project, write_json

import own_data

# Settings tried against the defaults, by name: model.hyperparameters for gradient boosting.
CANDIDATES: dict[str, dict] = {
    "before: 200 iterations, rate 0.1, 31 leaves": {
        "max_iter": 200,
        "learning_rate": 0.1,
        "max_leaf_nodes": 31,
    },
    "early stopping (what adopt now writes)": {
        "max_iter": 200,
        "learning_rate": 0.1,
        "max_leaf_nodes": 31,
        "early_stopping": True,
    },
    "early stopping, rate 0.05, l2 1, 20 per leaf": {
        "max_iter": 500,
        "learning_rate": 0.05,
        "max_leaf_nodes": 31,
        "min_samples_leaf": 20,
        "l2_regularization": 1.0,
        "early_stopping": True,
    },
    "early stopping 20%, patience 20, rate 0.05, 15 leaves, 20 per leaf, l2 1": {
        "max_iter": 500,
        "learning_rate": 0.05,
        "max_leaf_nodes": 15,
        "min_samples_leaf": 20,
        "l2_regularization": 1.0,
        "early_stopping": True,
        "validation_fraction": 0.2,
        "n_iter_no_change": 20,
    },
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated data set names (default: all)")
    parser.add_argument("--candidates", action="store_true", help="also score CANDIDATES")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else own_data.NAMES
    settings = {"defaults": None, **(CANDIDATES if args.candidates else {})}
    with tempfile.TemporaryDirectory(prefix="baseline-check-") as work:
        baked = bake(Path(work) / "bake")
        use_project(baked)
        records = []
        for name in names:
            project = adopted(own_data.load(name), baked, Path(work) / name)
            for setting, hyperparameters in settings.items():
                started = time.perf_counter()
                for row in measure(project, hyperparameters):
                    row |= {"data_set": name, "setting": setting}
                    row["seconds"] = round(time.perf_counter() - started, 1)
                    records.append(row)
                    print(json.dumps(row), flush=True)
    write_json(RESULTS / "baseline.json", records)
    print(table(records))
    losing = [r for r in records if r["setting"] == "defaults" and not r["beats_baseline"]]
    return 1 if losing else 0


def adopted(data: own_data.DataSet, baked: Path, folder: Path) -> Path:
    """A copy of the baked project that has adopted `data` (no training: measured here)."""
    shutil.copytree(baked, folder)
    source = data.write(folder.parent / f"{data.name}-source" / data.file_name)
    package("adopt.adopt").adopt(
        source,
        folder,
        target=data.target,
        task=data.task,
        time_column=data.time_column,
        key=data.key,
        slices=data.slices or None,
        check=lambda project: None,
    )
    return folder


def measure(project: Path, hyperparameters: dict | None) -> list[dict]:
    """The model's and the baseline's primary metric on the holdout and on later data."""
    params = package("model.params").load_params(project / "params.yaml")
    if hyperparameters is not None:
        model = params.model.model_copy(update={"hyperparameters": hyperparameters})
        params = params.model_copy(update={"model": model})
    contract = package("data.contract").Contract.load(params)
    records = package("data.dataset").load_records(params.train_path, contract)
    split = package("data.dataset").split_records(records, contract)
    rows = [score(params, "holdout", split.train, split.holdout)]
    if contract.time_column:
        earlier, later, period = later_data(records, contract.time_column)
        rows.append(score(params, f"later ({period})", earlier, later))
    return rows


def later_data(records: pd.DataFrame, time_column: str) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Earlier and later rows: the last year when the table spans two years or more and that
    year holds a tenth of the rows or more; else the last quarter of the table's span."""
    times = records[time_column]
    span = times.max() - times.min()
    later = times > times.max() - pd.Timedelta(days=365)
    if span >= pd.Timedelta(days=730) and later.mean() >= 0.1:
        return records[~later], records[later], "last year"
    later = times > times.max() - span / 4
    return records[~later], records[later], "last quarter of the span"


def score(params, scored_on: str, train: pd.DataFrame, test: pd.DataFrame) -> dict:
    metrics = package("model.metrics")
    primary = params.gate.primary_metric
    pipeline = package("model.pipeline").build_pipeline(params)
    x, y = params.features.all, params.target
    pipeline.fit(train[x], train[y])
    if params.task == "classification":
        classes = list(pipeline.classes_)
        truth = pd.Categorical(test[y], categories=classes).codes.astype(int)
        model = pipeline.predict_proba(test[x])
        frequencies = train[y].value_counts(normalize=True).reindex(classes).to_numpy()
        baseline = np.tile(frequencies, (len(test), 1))
        baseline_name = "class frequencies"
    else:
        truth = test[y].to_numpy(dtype=float)
        model = pipeline.predict(test[x])
        if params.model.target_transform == "log1p":
            model = np.clip(model, 0, None)
        baseline = np.full(len(test), float(train[y].median()))
        baseline_name = "median"
    model_value = metrics.score(params.task, truth, model)[primary]
    baseline_value = metrics.score(params.task, truth, baseline)[primary]
    better = metrics.HIGHER_IS_BETTER[primary]
    return {
        "scored_on": scored_on,
        "train_rows": len(train),
        "test_rows": len(test),
        "metric": primary,
        "model": round(model_value, 4),
        "baseline": baseline_name,
        "baseline_value": round(baseline_value, 4),
        "beats_baseline": bool(
            model_value > baseline_value if better else model_value < baseline_value
        ),
    }


def table(records: list[dict]) -> str:
    """One line per data set and scoring: the baseline, then each setting's value."""
    settings = list(dict.fromkeys(r["setting"] for r in records))
    header = ["data set", "scored on", "metric", "baseline", *settings]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    keyed: dict[tuple, dict] = {}
    for r in records:
        keyed.setdefault((r["data_set"], r["scored_on"]), {})[r["setting"]] = r
    for (name, scored_on), by_setting in keyed.items():
        first = next(iter(by_setting.values()))
        cells = [
            f"{by_setting[s]['model']:.4g}{'' if by_setting[s]['beats_baseline'] else ' ✗'}"
            if s in by_setting
            else ""
            for s in settings
        ]
        baseline = f"{first['baseline_value']:.4g} ({first['baseline']})"
        lines.append(
            f"| {name} | {scored_on} ({first['test_rows']} rows) | {first['metric']} "
            f"| {baseline} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
