"""Training: validate the data, fit the pipeline, score the holdout, write the model directory."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sklearn.utils._param_validation import InvalidParameterError

from .artifacts import (
    METRICS_FILE,
    MODEL_FILE,
    RUN_FILE,
    SLICES_FILE,
    TrainedModel,
    atomic_directory,
    write_json,
)
from .dataset import load_records, sha256_of, split_by_time
from .errors import ProjectError
from .metrics import json_safe, score, score_slices
from .params import Params
from .pipeline import build_pipeline
from .runrecord import git_state, package_versions


@dataclass(frozen=True)
class TrainResult:
    out: Path
    metrics: dict[str, float]
    run: dict


def train(params: Params, out: str | Path, data: str | Path | None = None) -> TrainResult:
    """Fit on the older rows, score the newest; `out` is replaced only when all succeeded."""
    import joblib

    started = time.perf_counter()
    data_path = Path(data) if data is not None else params.train_path
    records = load_records(data_path)
    split = split_by_time(records, params.split.holdout_fraction)
    loaded = time.perf_counter()
    pipeline = build_pipeline(params)
    try:
        pipeline.fit(split.train[params.features.all], split.train[params.target])
    except InvalidParameterError as error:
        raise ProjectError(f"model.hyperparameters: {error}") from error
    fitted = time.perf_counter()
    run = _run_record(params, data_path, split)
    model = TrainedModel(pipeline, run)
    predicted = model.predict(split.holdout)
    truth = split.holdout[params.target].to_numpy()
    metrics = score(params.task, truth, predicted)
    slices = score_slices(params.task, split.holdout, params.target, predicted, params.slices)
    run["timings_seconds"] = {
        "load_and_validate": round(loaded - started, 3),
        "fit": round(fitted - loaded, 3),
        "score": round(time.perf_counter() - fitted, 3),
    }
    with atomic_directory(out) as staging:
        joblib.dump(pipeline, staging / MODEL_FILE)
        write_json(staging / METRICS_FILE, json_safe(metrics))
        write_json(staging / SLICES_FILE, [json_safe(row) for row in slices])
        write_json(staging / RUN_FILE, run)
    return TrainResult(Path(out), metrics, run)


def _run_record(params: Params, data_path: Path, split) -> dict:
    return {
        "params": params.model_dump(mode="json"),
        "seed": params.seed,
        "data": {
            "path": str(data_path),
            "sha256": sha256_of(data_path),
            "train_rows": len(split.train),
            "holdout_rows": len(split.holdout),
            "train_from": str(split.train["date"].min().date()),
            "train_to": str(split.train["date"].max().date()),
            "holdout_from": split.cutoff,
            "holdout_to": str(split.holdout["date"].max().date()),
        },
        "git": git_state(params.root),
        "packages": package_versions(),
    }
