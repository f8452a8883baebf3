"""Training: validate the data, fit the pipeline, score the holdout, write the model directory."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sklearn.utils._param_validation import InvalidParameterError

from ..data.contract import Contract
from ..data.dataset import Split, load_records, sha256_of, split_records, time_span
from ..errors import ProjectError
from ..folders import atomic_directory
from ..model.artifacts import (
    BASELINE_FILE,
    HOLDOUT_PREDICTIONS_FILE,
    METRICS_FILE,
    MODEL_FILE,
    RUN_FILE,
    SLICES_FILE,
    TrainedModel,
    record_predictions,
    write_json,
)
from ..model.baseline import fit_baseline, skill
from ..model.metrics import json_safe, score, score_slices
from ..model.params import Params
from ..model.pipeline import build_pipeline
from .runrecord import git_state, package_versions, threads


@dataclass(frozen=True)
class TrainResult:
    out: Path
    metrics: dict[str, float]
    run: dict
    baseline: dict  # baseline.json: the trivial baseline's holdout metrics, the model's skill


def train(params: Params, out: str | Path, data: str | Path | None = None) -> TrainResult:
    """Fit on the older rows, score the newest; `out` is replaced only when all succeeded."""
    import joblib

    started = time.perf_counter()
    data_path = Path(data) if data is not None else params.train_path
    contract = Contract.load(params)
    records = load_records(data_path, contract)
    split = split_records(records, contract)
    loaded = time.perf_counter()
    pipeline = build_pipeline(params)
    try:
        pipeline.fit(split.train[params.features.all], split.train[params.target])
    except InvalidParameterError as error:
        raise ProjectError(f"model.hyperparameters: {error}") from error
    fitted = time.perf_counter()
    run = _run_record(contract, data_path, split)
    if params.task == "classification":
        run["classes"] = pipeline.classes_.tolist()
    model = TrainedModel(pipeline, run)
    predicted = model.predict(split.holdout)
    truth = model.truth_of(split.holdout)
    metrics = score(params.task, truth, predicted)
    slices = score_slices(params.task, split.holdout, truth, predicted, params.slices)
    baseline = fit_baseline(
        params.task, params.gate.primary_metric, model.truth_of(split.train), len(model.classes)
    )
    run["baseline"] = baseline.as_json()
    beside = baseline_report(
        baseline.description, metrics, score(params.task, truth, baseline.predict(len(truth)))
    )
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
        write_json(staging / BASELINE_FILE, beside)
        record_predictions(
            staging / HOLDOUT_PREDICTIONS_FILE, split.holdout, model.features, predicted
        )
    return TrainResult(Path(out), metrics, run, beside)


def baseline_report(description: str, model: dict, baseline: dict) -> dict:
    """baseline.json: the baseline's metrics on the holdout and the model's skill over it."""
    return {
        "baseline": description,
        "metrics": json_safe(baseline),
        "skill": {name: skill(name, model[name], baseline[name]) for name in model},
    }


def _run_record(contract: Contract, data_path: Path, split: Split) -> dict:
    params = contract.params
    return {
        "params": params.model_dump(mode="json", by_alias=True),
        # the contract travels with the model: the service, the champion's comparison and the
        # card read it from here, whatever schema.yaml says by then
        "schema": contract.schema.to_yaml(),
        "seed": params.seed,
        "data": {
            "path": str(data_path),
            "sha256": sha256_of(data_path),
            **_dvc_version(data_path),
            "schema_sha256": sha256_of(params.schema_path),
            "train_rows": len(split.train),
            "holdout_rows": len(split.holdout),
            "split": split.how,
            **time_span(split.train, contract.time_column, "train"),
            **time_span(split.holdout, contract.time_column, "holdout"),
        },
        "git": git_state(params.root),
        "packages": package_versions(),
        "threads": threads(),
    }


def _dvc_version(data_path: Path) -> dict:
    """The DVC version (md5, size) when the data is tracked by a pointer; {} otherwise."""
    from ..data.storage import version_of

    version = version_of(data_path)
    if version is None:
        return {}
    pointed = {"md5": version.md5, "size": version.size}
    return {"dvc": pointed}
