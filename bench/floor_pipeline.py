"""PR pipeline floor: read the CSV, fit and predict the same pipeline twice, no framework."""

import sys

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

CATEGORICAL = ["store", "category"]
NUMERIC = ["price", "promotion", "temperature", "fuel_price"]


def pipeline() -> Pipeline:
    features = ColumnTransformer(
        [("categorical", OrdinalEncoder(), CATEGORICAL), ("numeric", "passthrough", NUMERIC)]
    )
    model = HistGradientBoostingRegressor(
        max_iter=200, learning_rate=0.1, max_leaf_nodes=31, random_state=42
    )
    return Pipeline(
        [
            ("features", features),
            ("model", TransformedTargetRegressor(model, func=np.log1p, inverse_func=np.expm1)),
        ]
    )


def main(path: str, fits: int = 2) -> None:
    """`fits` 2: champion and challenger; 1: the challenger alone, beside a champion that is
    already fitted (the like-for-like floor when main's model comes from the cache)."""
    frame = pd.read_csv(path, parse_dates=["date"])
    cutoff = frame["date"].quantile(0.8)
    train, holdout = frame[frame["date"] < cutoff], frame[frame["date"] >= cutoff]
    fitted = None
    for _ in range(fits):
        fitted = pipeline().fit(train[CATEGORICAL + NUMERIC], train["units_sold"])
        fitted.predict(holdout[CATEGORICAL + NUMERIC])
    if fits == 1:
        fitted.predict(holdout[CATEGORICAL + NUMERIC])  # the kept champion's predictions


if __name__ == "__main__":
    main(sys.argv[1], *(int(arg) for arg in sys.argv[2:3]))
