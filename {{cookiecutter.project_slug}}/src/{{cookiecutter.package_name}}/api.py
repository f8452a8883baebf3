"""The service's JSON contract: pydantic models derived from the Pandera ModelInput schema."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandera.pandas as pa
from pydantic import BaseModel, ConfigDict, Field, create_model

from .schemas import ModelInput

# The model's name in the BentoML store. A built bento maps this name (as a model alias) to
# the exact version it was built with; outside a bento it means the newest saved version.
MODEL_NAME = "{{ cookiecutter.package_name }}"
# One request carries at most this many rows; it is also the adaptive batch's ceiling, so a
# single large request never waits for a second one to fill the batch.
MAX_ROWS = 1000

# Pandera check name -> pydantic constraint: the same bound, so the service and batch
# predict accept exactly the same rows.
BOUNDS = {
    "greater_than": "gt",
    "greater_than_or_equal_to": "ge",
    "less_than": "lt",
    "less_than_or_equal_to": "le",
}
TYPES = {"str": str, "float64": float, "int64": int}


def row_model(schema: type[pa.DataFrameModel] = ModelInput) -> type[BaseModel]:
    """A pydantic model of one row, with the dtype, allowed values and ranges of `schema`.

    A check this function cannot translate raises at import time: the service must never
    silently accept rows that batch validation would refuse.
    """
    fields: dict[str, Any] = {}
    for name, column in schema.to_schema().columns.items():
        kind = TYPES.get(str(column.dtype))
        if kind is None:
            raise TypeError(f"{name}: no JSON type for dtype {column.dtype}")
        constraints: dict[str, Any] = {}
        for check in column.checks:
            if check.name == "isin":
                kind = Literal[tuple(check.statistics["allowed_values"])]  # type: ignore[misc]
            elif check.name in BOUNDS:
                bound = next(iter(check.statistics.values()))
                constraints[BOUNDS[check.name]] = bound
            else:
                raise TypeError(f"{name}: check {check.name} has no pydantic equivalent")
        fields[name] = (kind, Field(..., **constraints))
    # Extra keys (a date, the target) are ignored, as Pandera ignores extra columns.
    config = ConfigDict(extra="ignore", allow_inf_nan=False, json_schema_extra=_openapi_3_0_bounds)
    return create_model("Row", __config__=config, **fields)


def _openapi_3_0_bounds(schema: dict[str, Any]) -> None:
    """Write strict bounds the OpenAPI 3.0 way (BentoML serves a 3.0 document).

    Pydantic writes JSON Schema 2020 (`exclusiveMinimum: 0`); OpenAPI 3.0 wants
    `minimum: 0, exclusiveMinimum: true`, and clients and fuzzers read it that way.
    """
    for prop in schema.get("properties", {}).values():
        for exclusive, inclusive in (
            ("exclusiveMinimum", "minimum"),
            ("exclusiveMaximum", "maximum"),
        ):
            bound = prop.get(exclusive)
            if isinstance(bound, int | float) and not isinstance(bound, bool):
                prop[inclusive] = bound
                prop[exclusive] = True


Row = row_model()


class RegressionPrediction(BaseModel):
    prediction: float = Field(ge=0, description="predicted units sold")


class ClassificationPrediction(BaseModel):
    label: Literal[0, 1] = Field(description="1 when high demand is predicted")
    probability: float = Field(ge=0, le=1, description="probability of high demand")


PREDICTION_MODELS: dict[str, type[BaseModel]] = {
    "regression": RegressionPrediction,
    "classification": ClassificationPrediction,
}


def prediction_columns(task: str, values: np.ndarray) -> dict[str, np.ndarray]:
    """The predictions table's columns for `values` from TrainedModel.predict."""
    if task == "classification":
        return {"label": (values >= 0.5).astype(int), "probability": values}
    return {"prediction": values}


def predictions(task: str, values: np.ndarray) -> list[BaseModel]:
    """One response object per row, in the order of the rows."""
    columns = prediction_columns(task, np.asarray(values, dtype=float))
    model = PREDICTION_MODELS[task]
    names = list(columns)
    return [
        model(**dict(zip(names, row, strict=True)))
        for row in zip(*(columns[name].tolist() for name in names), strict=True)
    ]
