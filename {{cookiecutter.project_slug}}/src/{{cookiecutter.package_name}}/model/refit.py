"""A model's recipe fitted again on other rows: from params, or cloned from a fitted pipeline.

Calibration refits the project's own params on windows of its history; the gate, on a holdout
too small to tell, refits main's model and this PR's on the same rows of several splits. A
clone keeps main's pipeline exactly as main built it (its columns, steps and hyper-parameters),
whatever this PR's params say.
"""

from __future__ import annotations

import pandas as pd

from .artifacts import TrainedModel
from .params import Params


def fit_params(params: Params, rows: pd.DataFrame) -> TrainedModel:
    """A new model built from `params`, fitted on `rows`."""
    from .pipeline import build_pipeline

    pipeline = build_pipeline(params)
    pipeline.fit(rows[params.features.all], rows[params.target])
    return _trained(pipeline, {"params": params.model_dump(mode="json", by_alias=True)})


def fit_like(model: TrainedModel, rows: pd.DataFrame) -> TrainedModel:
    """`model`'s pipeline, unfitted (scikit-learn's clone), fitted again on `rows`."""
    from sklearn.base import clone

    pipeline = clone(model.pipeline)
    pipeline.fit(rows[model.features], rows[model.target])
    return _trained(pipeline, {key: value for key, value in model.run.items() if key != "classes"})


def _trained(pipeline, run: dict) -> TrainedModel:
    if run["params"]["task"] == "classification":
        run["classes"] = pipeline.classes_.tolist()  # the classes these rows taught it
    return TrainedModel(pipeline, run)
