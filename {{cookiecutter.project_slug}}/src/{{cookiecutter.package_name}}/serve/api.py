"""The service's JSON contract: pydantic models derived from the data contract's input schema."""

from __future__ import annotations

import datetime
import re
from typing import Annotated, Any, Literal

import numpy as np
import pandera.pandas as pa
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

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
# Pandera dtype (by prefix) -> the JSON value a request carries for it.
TYPES = (
    ("str", str),
    ("object", str),
    ("string", str),
    ("bool", bool),
    ("int", int),
    ("float", float),
    ("datetime", datetime.datetime),
)


# A date arrives as ISO text. Pydantic alone would read a bare number (1972, or "1972") as
# seconds since 1970: a silently wrong date, so anything but ISO text is refused.
ISO_DATE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}")


def _iso_date_text(value: object) -> object:
    # a Python caller may pass day or time objects (they have isoformat); JSON sends text
    if hasattr(value, "isoformat") or (isinstance(value, str) and ISO_DATE.match(value)):
        return value
    raise ValueError(
        f"a day or time must be ISO text such as 2024-01-31 or 2024-01-31T08:00:00, not {value!r}"
    )


IsoDateTime = Annotated[datetime.datetime, BeforeValidator(_iso_date_text)]


def row_model(schema: pa.DataFrameSchema) -> type[BaseModel]:
    """A pydantic model of one row, with the dtype, allowed values and ranges of `schema`.

    Every column is required (a missing one is a 4xx); a nullable column may be null. A check
    this function cannot translate raises at build time: the service must never silently
    accept rows that batch validation would refuse.
    """
    fields: dict[str, Any] = {}
    for name, column in schema.columns.items():
        kind = _json_type(name, str(column.dtype))
        constraints: dict[str, Any] = {}
        for check in column.checks:
            kind = _constrain(name, check, kind, constraints)
        if column.nullable:
            kind = kind | None  # type: ignore[operator]
        fields[name] = (kind, Field(..., **constraints))
    # Extra keys (the time column, the target) are ignored, as Pandera ignores extra columns.
    config = ConfigDict(extra="ignore", allow_inf_nan=False, json_schema_extra=_openapi_3_0_bounds)
    return create_model("Row", __config__=config, **fields)


def _json_type(name: str, dtype: str) -> Any:
    for prefix, kind in TYPES:
        if dtype.lower().startswith(prefix):
            return IsoDateTime if kind is datetime.datetime else kind
    raise TypeError(f"{name}: no JSON type for dtype {dtype}")


def _constrain(name: str, check: pa.Check, kind: Any, constraints: dict[str, Any]) -> Any:
    """Add `check` to the field's constraints; return its (possibly narrowed) type."""
    statistics = check.statistics
    if check.name == "isin":
        return Literal[tuple(statistics["allowed_values"])]  # type: ignore[misc]
    if check.name in BOUNDS:
        constraints[BOUNDS[check.name]] = next(iter(statistics.values()))
    elif check.name == "in_range":
        low = "ge" if statistics.get("include_min", True) else "gt"
        high = "le" if statistics.get("include_max", True) else "lt"
        constraints |= {low: statistics["min_value"], high: statistics["max_value"]}
    elif check.name == "str_length":
        constraints |= {
            key: statistics[bound]
            for key, bound in (("min_length", "min_value"), ("max_length", "max_value"))
            if statistics.get(bound) is not None
        }
    elif check.name == "str_matches":
        constraints["pattern"] = f"^(?:{statistics['pattern']})"
    else:
        raise TypeError(f"{name}: check {check.name} has no pydantic equivalent")
    return kind


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


class RegressionPrediction(BaseModel):
    prediction: float = Field(description="the predicted value of the target")


class ClassificationPrediction(BaseModel):
    label: Any = Field(description="the most probable class")
    probabilities: dict[str, float] = Field(description="each class and its probability")


PREDICTION_MODELS: dict[str, type[BaseModel]] = {
    "regression": RegressionPrediction,
    "classification": ClassificationPrediction,
}


def prediction_columns(task: str, values: np.ndarray, classes: list) -> dict[str, np.ndarray]:
    """The predictions table's columns for `values` from TrainedModel.predict."""
    if task == "classification":
        values = np.asarray(values, dtype=float)
        labels = np.asarray(classes, dtype=object)[values.argmax(axis=1)]
        return {"label": labels} | {
            f"probability_{label}": values[:, column] for column, label in enumerate(classes)
        }
    return {"prediction": np.asarray(values, dtype=float)}


def predictions(task: str, values: np.ndarray, classes: list) -> list[BaseModel]:
    """One response object per row, in the order of the rows."""
    if task == "regression":
        return [RegressionPrediction(prediction=v) for v in np.asarray(values, float).tolist()]
    names = [str(label) for label in classes]
    matrix = np.asarray(values, dtype=float)
    return [
        ClassificationPrediction(
            label=classes[int(row.argmax())],
            probabilities=dict(zip(names, row.tolist(), strict=True)),
        )
        for row in matrix
    ]
