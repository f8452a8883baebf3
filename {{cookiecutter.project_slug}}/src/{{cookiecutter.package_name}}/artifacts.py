"""The trained-model directory: written all at once (temp dir, then rename) and read back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from .errors import ProjectError

MODEL_FILE = "model.joblib"
METRICS_FILE = "metrics.json"
SLICES_FILE = "slice_metrics.json"
RUN_FILE = "run.json"


@dataclass(frozen=True)
class TrainedModel:
    """A fitted pipeline plus the run record that says what it expects and predicts."""

    pipeline: Pipeline
    run: dict

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

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Values (regression) or the probability matrix, one column per class."""
        inputs = frame[self.features]
        if self.task == "classification":
            return self.pipeline.predict_proba(inputs)
        values = self.pipeline.predict(inputs)
        if self.run["params"]["model"].get("target_transform") == "log1p":
            return np.clip(values, 0, None)  # log1p targets are never negative
        return values

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
    # joblib unpickles: load only models this project trained (never from untrusted sources).
    return TrainedModel(joblib.load(directory / MODEL_FILE), run)


def write_json(path: Path, payload: object) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
