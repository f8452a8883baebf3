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
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
)

from ..errors import ProjectError
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
    if params.model.target_transform == "log1p":
        # Counts that vary multiplicatively: fit log1p(y), and never predict below zero.
        model = TransformedTargetRegressor(model, func=np.log1p, inverse_func=np.expm1)
    return Pipeline([("features", _preprocessing(params)), ("model", model)])


def _preprocessing(params: Params) -> ColumnTransformer:
    """Inputs as the model needs them; missing values are imputed only where it cannot cope."""
    linear = params.model.name == "linear"
    parts = [
        ("categorical", _categorical(linear), params.features.categorical),
        ("numeric", _numeric(linear), params.features.numeric),
        ("datetime", _dates(linear), params.features.datetime),
    ]
    return ColumnTransformer([part for part in parts if part[2]], verbose_feature_names_out=False)


def _categorical(linear: bool) -> Pipeline:
    # Codes, booleans and strings alike become text; a missing value is a category of its own.
    steps = [
        ("as_text", FunctionTransformer(_as_text, feature_names_out="one-to-one")),
        ("missing", SimpleImputer(strategy="constant", fill_value="(missing)")),
    ]
    if linear:
        steps.append(("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False)))
    else:
        # Trees need no one-hot; ordinal codes keep them small. A value unseen in training is
        # missing to the trees, which send it down the branch most training rows took: a code
        # of its own (-1) would sit beside the smallest code and take its branch, and after a
        # time split every new month (say) would be predicted like the first one.
        steps.append(
            ("encode", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan))
        )
    return Pipeline(steps)


def _numeric(linear: bool) -> Pipeline | str:
    if not linear:
        return "passthrough"  # the tree models here split on missing values themselves
    return Pipeline([("missing", SimpleImputer(strategy="median")), ("scale", StandardScaler())])


def _dates(linear: bool) -> Pipeline:
    steps = [("parts", FunctionTransformer(date_parts, feature_names_out=_date_part_names))]
    if linear:
        steps += [("missing", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
    return Pipeline(steps)


DATE_PARTS = ("year", "month", "day_of_week", "day_of_year")


def date_parts(frame):
    """Each datetime column as numbers a model splits on: year, month, weekday, day of year."""
    import pandas as pd

    columns = {}
    for name in frame.columns:
        dates = pd.to_datetime(frame[name], errors="coerce")
        for part in DATE_PARTS:
            attribute = "dayofweek" if part == "day_of_week" else part.replace("_of_", "of")
            columns[f"{name}_{part}"] = getattr(dates.dt, attribute).astype(float)
    return pd.DataFrame(columns, index=frame.index)


def _date_part_names(transformer, names):
    return np.array([f"{name}_{part}" for name in names for part in DATE_PARTS], dtype=object)


def _as_text(frame):
    return frame.astype(str).where(frame.notna(), np.nan)
