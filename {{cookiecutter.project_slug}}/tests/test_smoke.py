"""The release's smoke request is made of the project's own rows that its contract accepts."""

from __future__ import annotations

import json

import pandas as pd
import pandera.pandas as pa

from {{ cookiecutter.package_name }}.adopt.smoke import json_value, request_rows, smoke_json

SCHEMA = pa.DataFrameSchema(
    {
        "size": pa.Column(float, pa.Check.in_range(0, 10), nullable=True),
        "colour": pa.Column(str, pa.Check.isin(["red", "blue"])),
        "opened": pa.Column("datetime64[ns]"),
        "kind": pa.Column(str),
    }
)
FEATURES = ["size", "colour", "opened"]


def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "size": [None, 99.0, 2.5, 3.5, 4.5],  # a missing value, then one out of range
            "colour": ["red", "red", "red", "red", "blue"],
            "opened": pd.to_datetime(["2024-01-01"] * 4 + ["2024-02-01T08:30"], format="ISO8601"),
            "kind": ["a", "a", "a", "a", "b"],
        }
    )


def test_the_rows_are_complete_accepted_and_of_two_classes():
    rows = request_rows(table(), SCHEMA, FEATURES, "kind", "classification")

    assert rows == [
        {"size": 2.5, "colour": "red", "opened": "2024-01-01"},
        {"size": 4.5, "colour": "blue", "opened": "2024-02-01T08:30:00"},
    ]


def test_for_regression_the_first_two_accepted_complete_rows_are_taken():
    rows = request_rows(table(), SCHEMA, FEATURES, "kind", "regression")

    assert [row["size"] for row in rows] == [2.5, 3.5]


def test_the_file_is_json_with_one_row_per_line():
    rows = request_rows(table(), SCHEMA, FEATURES, "kind", "regression")
    text = smoke_json(rows)

    assert json.loads(text) == {"rows": rows}
    assert len(text.splitlines()) == 2 + len(rows) + 2


def test_cells_become_plain_json():
    assert json_value(float("nan")) is None
    assert json_value(pd.NaT) is None
    assert json_value(pd.Timestamp("2024-03-01")) == "2024-03-01"
    whole = json_value(pd.Series([3]).iloc[0])  # numpy's int64
    assert whole == 3 and type(whole) is int
