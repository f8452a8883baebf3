"""The service's request model accepts exactly the rows the Pandera ModelInput schema accepts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from pydantic import ValidationError

from {{ cookiecutter.package_name }}.api import Row, predictions, row_model
from {{ cookiecutter.package_name }}.schemas import CATEGORIES, STORES, ModelInput
from {{ cookiecutter.package_name }}.validation import validate_frame

VALID = {
    "store": STORES[0],
    "category": CATEGORIES[0],
    "price": 2.5,
    "promotion": 0,
    "temperature": 12.0,
    "fuel_price": 1.6,
}
# Each edge case is one field changed; both validators must agree on every one.
EDGES = [
    ("store", STORES[-1]),
    ("store", "moon_base"),
    ("category", "toys"),
    ("price", 0),
    ("price", 0.01),
    ("price", 1000),
    ("price", 1000.5),
    ("promotion", 1),
    ("promotion", 2),
    ("temperature", -40),
    ("temperature", -40.1),
    ("temperature", 50),
    ("temperature", 50.1),
    ("fuel_price", 0),
    ("fuel_price", 10),
    ("fuel_price", 10.01),
]


def pandera_accepts(row: dict) -> bool:
    _, report = validate_frame(pd.DataFrame([row]), ModelInput, source="row")
    return report.valid


def pydantic_accepts(row: dict) -> bool:
    try:
        Row.model_validate(row)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(("field", "value"), EDGES)
def test_the_request_model_and_the_schema_agree_on_every_edge(field, value):
    row = {**VALID, field: value}
    assert pydantic_accepts(row) == pandera_accepts(row)


def test_every_row_of_the_demo_data_is_a_valid_request(baseline_csv):
    frame = pd.read_csv(baseline_csv)
    for row in frame[list(Row.model_fields)].head(200).to_dict(orient="records"):
        Row.model_validate(row)


def test_a_bad_row_is_reported_by_field():
    with pytest.raises(ValidationError) as raised:
        Row.model_validate({**VALID, "price": -1, "store": "moon_base"})
    assert {error["loc"] for error in raised.value.errors()} == {("price",), ("store",)}


def test_non_finite_numbers_are_refused():
    assert not pydantic_accepts({**VALID, "temperature": float("nan")})
    assert not pydantic_accepts({**VALID, "price": float("inf")})


def test_a_schema_check_without_a_pydantic_equivalent_is_an_error_not_a_silent_gap():
    class Odd(pa.DataFrameModel):
        price: pa.typing.Series[float] = pa.Field(str_startswith="1")

    with pytest.raises(TypeError, match="price"):
        row_model(Odd)


def test_strict_bounds_are_written_the_openapi_3_0_way():
    price = Row.model_json_schema()["properties"]["price"]
    assert (price["minimum"], price["exclusiveMinimum"]) == (0, True)


def test_predictions_are_one_per_row_in_order():
    regression = predictions("regression", np.array([3.0, 0.0]))
    assert [p.model_dump() for p in regression] == [{"prediction": 3.0}, {"prediction": 0.0}]
    classification = predictions("classification", np.array([0.2, 0.5]))
    assert [p.model_dump() for p in classification] == [
        {"label": 0, "probability": 0.2},
        {"label": 1, "probability": 0.5},
    ]
