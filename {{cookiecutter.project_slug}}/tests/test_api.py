"""The service's request model accepts exactly the rows the data contract's inputs accept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from pydantic import ValidationError

from {{ cookiecutter.package_name }}.data.tables import read_table
from {{ cookiecutter.package_name }}.data.validation import validate_frame
from {{ cookiecutter.package_name }}.serve.api import predictions, row_model

from conftest import CONTRACT, PARAMS, not_allowed, numeric_feature, out_of_range, require

Row = row_model(CONTRACT.inputs)
BOUNDS = (
    "greater_than",
    "greater_than_or_equal_to",
    "less_than",
    "less_than_or_equal_to",
)


def edges() -> list[tuple[str, object]]:
    """Values on and beside every bound and allowed-value list of the input columns."""
    found = []
    for name, column in CONTRACT.inputs.columns.items():
        for check in column.checks:
            if check.name in BOUNDS:
                bound = next(iter(check.statistics.values()))
                found += [(name, bound - 1), (name, bound), (name, bound + 1)]
            elif check.name == "in_range":
                low, high = check.statistics["min_value"], check.statistics["max_value"]
                found += [(name, low - 1), (name, low), (name, high), (name, high + 1)]
            elif check.name == "isin":
                allowed = list(check.statistics["allowed_values"])
                found += [(name, allowed[0]), (name, allowed[-1])]
    unknown = not_allowed()
    if unknown is not None:
        found.append(unknown)
    return found or [(PARAMS.features.all[0], None)]


def valid_row() -> dict:
    frame = read_table(PARAMS.train_path).head(50)
    _, report = validate_frame(frame, CONTRACT.inputs, "first rows")
    assert report.valid, report.as_text()
    return json_ready(frame[PARAMS.features.all]).iloc[0].to_dict()


def json_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """What a JSON client sends: null for a missing value."""
    return frame.astype(object).where(frame.notna(), None)


def pandera_accepts(row: dict) -> bool:
    _, report = validate_frame(pd.DataFrame([row]), CONTRACT.inputs, source="row")
    return report.valid


def pydantic_accepts(row: dict) -> bool:
    try:
        Row.model_validate(row)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(("field", "value"), edges())
def test_the_request_model_and_the_schema_agree_on_every_edge(field, value):
    row = {**valid_row(), field: value}
    assert pydantic_accepts(row) == pandera_accepts(row)


def test_the_request_model_has_exactly_the_feature_columns():
    assert list(Row.model_fields) == PARAMS.features.all


def test_every_row_of_the_projects_data_is_a_valid_request(sample_file):
    frame = json_ready(read_table(sample_file)[PARAMS.features.all].head(200))
    for row in frame.to_dict(orient="records"):
        Row.model_validate(row)


def test_a_bad_row_is_reported_by_field():
    bounded, too_far, _ = require(out_of_range(), "bounded feature")
    listed, unknown = require(not_allowed(), "feature with allowed values")
    with pytest.raises(ValidationError) as raised:
        Row.model_validate({**valid_row(), bounded: too_far, listed: unknown})
    assert {error["loc"] for error in raised.value.errors()} == {(bounded,), (listed,)}


def test_a_missing_field_and_a_string_for_a_number_are_refused():
    row = valid_row()
    first = PARAMS.features.all[0]
    assert not pydantic_accepts({k: v for k, v in row.items() if k != first})
    number = require(numeric_feature(), "numeric feature")
    assert not pydantic_accepts({**row, number: "cheap"})


def test_non_finite_numbers_are_refused():
    number = require(numeric_feature(), "numeric feature")
    assert not pydantic_accepts({**valid_row(), number: float("nan")})
    assert not pydantic_accepts({**valid_row(), number: float("inf")})


def test_a_schema_check_without_a_pydantic_equivalent_is_an_error_not_a_silent_gap():
    odd = pa.DataFrameSchema({"price": pa.Column(float, pa.Check.str_startswith("1"))})
    with pytest.raises(TypeError, match="price"):
        row_model(odd)


def test_strict_bounds_are_written_the_openapi_3_0_way():
    schema = pa.DataFrameSchema({"price": pa.Column(float, pa.Check.gt(0))})
    price = row_model(schema).model_json_schema()["properties"]["price"]
    assert (price["minimum"], price["exclusiveMinimum"]) == (0, True)


def test_a_nullable_column_may_be_null_and_a_required_one_may_not():
    schema = pa.DataFrameSchema(
        {"size": pa.Column(float, nullable=True), "colour": pa.Column(str, nullable=False)}
    )
    model = row_model(schema)
    model.model_validate({"size": None, "colour": "red"})
    with pytest.raises(ValidationError):
        model.model_validate({"size": 1.0, "colour": None})


def test_predictions_are_one_per_row_in_order():
    regression = predictions("regression", np.array([3.0, 0.0]), [])
    assert [p.model_dump() for p in regression] == [{"prediction": 3.0}, {"prediction": 0.0}]
    matrix = np.array([[0.8, 0.2], [0.5, 0.5], [0.1, 0.9]])
    classification = predictions("classification", matrix, [0, 1])
    assert [p.model_dump()["label"] for p in classification] == [0, 0, 1]  # a tie: the first
    assert [p.model_dump()["probabilities"] for p in classification] == [
        dict(zip(["0", "1"], row, strict=True)) for row in matrix.tolist()
    ]


def test_three_classes_answer_with_three_probabilities():
    matrix = np.array([[0.2, 0.3, 0.5]])
    [answer] = predictions("classification", matrix, ["low", "mid", "high"])
    assert answer.label == "high"
    assert answer.probabilities == dict(low=0.2, mid=0.3, high=0.5)


@pytest.mark.parametrize("value", [1972, "1972", 1972.0, "31/01/2024", True])
def test_a_date_is_refused_unless_it_is_iso_text(value):
    # pydantic alone reads 1972 and "1972" as 1972 seconds after 1970: a silently wrong date
    model = row_model(pa.DataFrameSchema({"opened": pa.Column("datetime64[ns]")}))
    with pytest.raises(ValidationError, match="a day or time must be ISO text"):
        model.model_validate({"opened": value})


@pytest.mark.parametrize("value", ["1972-01-01", "2024-01-31T08:00:00", "2024-01-31T08:00:00Z"])
def test_an_iso_date_or_datetime_is_read_as_written(value):
    model = row_model(pa.DataFrameSchema({"opened": pa.Column("datetime64[ns]")}))
    opened = model.model_validate({"opened": value}).opened
    assert opened.isoformat().startswith(value.rstrip("Z")[:10])
