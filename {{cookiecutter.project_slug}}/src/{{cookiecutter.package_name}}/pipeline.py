"""The scikit-learn Pipeline (preprocessing + model) that params.yaml describes."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from .errors import ProjectError
from .params import Params

ESTIMATORS: dict[tuple[str, str], type[BaseEstimator]] = {
    ("regression", "gradient_boosting"): HistGradientBoostingRegressor,
    ("regression", "random_forest"): RandomForestRegressor,
    ("regression", "linear"): Ridge,
    ("classification", "gradient_boosting"): HistGradientBoostingClassifier,
    ("classification", "random_forest"): RandomForestClassifier,
    ("classification", "linear"): LogisticRegression,
}


def build_pipeline(params: Params) -> Pipeline:
    """An unfitted pipeline; raise ProjectError for a hyper-parameter the model does not have."""
    estimator_class = ESTIMATORS[(params.task, params.model.name)]
    known = estimator_class().get_params()
    unknown = sorted(set(params.model.hyperparameters) - set(known))
    if unknown:
        raise ProjectError(
            f"model.hyperparameters: {unknown} not accepted by {estimator_class.__name__}; "
            f"it accepts {sorted(known)}"
        )
    settings = dict(params.model.hyperparameters)
    if "random_state" in known:
        settings["random_state"] = params.seed  # one seed in params.yaml makes runs repeatable
    model = estimator_class(**settings)
    if params.task == "regression":
        # Demand is a count that varies multiplicatively: fit log1p(units), never predict < 0.
        model = TransformedTargetRegressor(model, func=np.log1p, inverse_func=np.expm1)
    return Pipeline([("features", _preprocessing(params)), ("model", model)])


def _preprocessing(params: Params) -> ColumnTransformer:
    if params.model.name == "linear":
        categorical = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
        numeric = StandardScaler()
    else:
        # Trees need no scaling; ordinal codes keep the forest small and fast.
        categorical = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
        numeric = "passthrough"
    return ColumnTransformer(
        [
            ("categorical", categorical, params.features.categorical),
            ("numeric", numeric, params.features.numeric),
        ],
        verbose_feature_names_out=False,
    )
