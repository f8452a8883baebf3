"""The trained-model directory: written all at once (temp dir, then rename) and read back."""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import ProjectError

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from .baseline import Baseline

MODEL_FILE = "model.joblib"
METRICS_FILE = "metrics.json"
SLICES_FILE = "slice_metrics.json"
# The trivial baseline on the same holdout, and how much of its error the model removes
BASELINE_FILE = "baseline.json"
RUN_FILE = "run.json"
# What `train` predicted for its holdout, with the fingerprint of the inputs it predicted from
HOLDOUT_PREDICTIONS_FILE = "holdout_predictions.npz"


@dataclass(frozen=True)
class TrainedModel:
    """A fitted pipeline plus the run record that says what it expects and predicts.

    Read from a directory, the pipeline is unpickled only when first used: `compare` usually
    needs only the predictions `train` recorded, and importing scikit-learn costs a second.
    """

    fitted: Pipeline | None
    run: dict
    directory: Path | None = None

    @cached_property
    def pipeline(self) -> Pipeline:
        if self.fitted is not None:
            return self.fitted
        import joblib

        # joblib unpickles: load only models this project trained (never untrusted ones)
        return joblib.load(self.directory / MODEL_FILE)

    @property
    def task(self) -> str:
        return self.run["params"]["task"]

    @property
    def target(self) -> str:
        return self.run["params"]["target"]

    @property
    def features(self) -> list[str]:
        features = self.run["params"]["features"]
        return [*features["categorical"], *features["numeric"], *features.get("datetime", [])]

    @property
    def classes(self) -> list:
        """The classes a classifier learned, in the order of its probability columns ([] for
        a regression model, which has none)."""
        if self.task != "classification":
            return []
        # models trained before classes were recorded: the fitted pipeline knows them too
        return list(self.run.get("classes") or self.pipeline.classes_.tolist())

    @property
    def baseline(self) -> Baseline | None:
        """The trivial baseline fitted beside this model (None for models trained before)."""
        from .baseline import Baseline

        recorded = self.run.get("baseline")
        return Baseline.from_json(self.task, recorded) if recorded else None

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Values (regression) or the probability matrix, one column per class."""
        inputs = frame[self.features]
        if self.task == "classification":
            return self.pipeline.predict_proba(inputs)
        values = self.pipeline.predict(inputs)
        if self.run["params"]["model"].get("target_transform") == "log1p":
            return np.clip(values, 0, None)  # log1p targets are never negative
        return values

    def predict_recalled(self, frame: pd.DataFrame) -> np.ndarray:
        """`predict`, or what `train` recorded for exactly these inputs (the same values and
        types in the same order): the same fitted model on the same inputs gives the same
        numbers, and the PR check then predicts each holdout once instead of twice."""
        recorded = self._recorded_predictions()
        if recorded is None or len(recorded[1]) != len(frame):
            return self.predict(frame)
        if recorded[0] != inputs_fingerprint(frame, self.features):
            return self.predict(frame)
        return recorded[1]

    def _recorded_predictions(self) -> tuple[str, np.ndarray] | None:
        path = self.directory / HOLDOUT_PREDICTIONS_FILE if self.directory else None
        if path is None or not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as recorded:
                return str(recorded["fingerprint"]), recorded["predictions"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            return None  # a damaged record only costs a prediction

    def truth_of(self, frame: pd.DataFrame) -> np.ndarray:
        """The target as `metrics.score` reads it: values, or codes of `classes` (-1: unseen)."""
        truth = frame[self.target]
        if self.task == "classification":
            return pd.Categorical(truth, categories=self.classes).codes.astype(int)
        return truth.to_numpy(dtype=float)

    def labels_of(self, predicted: np.ndarray) -> np.ndarray:
        """The most probable class of each row of a probability matrix."""
        return np.asarray(self.classes, dtype=object)[np.asarray(predicted).argmax(axis=1)]


def load_model(directory: str | Path) -> TrainedModel:
    """Read a directory written by `train`; raise ProjectError if it is not one."""
    directory = Path(directory)
    missing = [name for name in (MODEL_FILE, RUN_FILE) if not (directory / name).is_file()]
    if missing:
        raise ProjectError(f"{directory} is not a trained model directory (missing {missing})")
    run = json.loads((directory / RUN_FILE).read_text(encoding="utf-8"))
    return TrainedModel(None, run, directory)


def in_class_order(predicted: np.ndarray, classes: list, order: list) -> np.ndarray:
    """A probability matrix over `classes` rearranged into the columns of `order`; a class
    the model never learned gets probability 0."""
    if classes == order:
        return predicted
    aligned = np.zeros((len(predicted), len(order)))
    for column, label in enumerate(classes):
        if label in order:
            aligned[:, order.index(label)] = predicted[:, column]
    return aligned


def record_predictions(path: Path, frame: pd.DataFrame, features: list[str], predicted) -> None:
    """Keep `predicted` with the fingerprint of the inputs it came from (`predict_recalled`)."""
    fingerprint = np.array(inputs_fingerprint(frame, features))
    np.savez(path, predictions=np.asarray(predicted), fingerprint=fingerprint)


def inputs_fingerprint(frame: pd.DataFrame, features: list[str]) -> str:
    """sha256 of the model's input columns: names, types and every row's values, in order.

    Rows are hashed by pandas (64 bits per row, all columns): two different inputs share a
    fingerprint only if some changed row collides, about 2**-64 per row.
    """
    inputs = frame[features]
    digest = hashlib.sha256(json.dumps([features, [str(t) for t in inputs.dtypes]]).encode())
    digest.update(pd.util.hash_pandas_object(inputs, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def write_json(path: Path, payload: object) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
