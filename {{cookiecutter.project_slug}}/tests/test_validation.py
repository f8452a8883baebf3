"""Validation lists every problem with its column, check, failing rows and examples."""

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.errors import ProjectError
from {{ cookiecutter.package_name }}.schemas import DemandRecords
from {{ cookiecutter.package_name }}.validation import read_csv, validate_frame


def broken_frame(baseline_csv):
    frame = pd.read_csv(baseline_csv).head(40).drop(columns=["temperature"])
    frame["price"] = frame["price"].astype(object)
    frame.loc[2, "price"] = "cheap"
    frame.loc[[4, 5], "price"] = -1.5
    frame.loc[7, "store"] = "moon_base"
    return pd.concat([frame, frame.iloc[[0]]], ignore_index=True)


def test_valid_data_passes(baseline_csv):
    _, report = validate_frame(read_csv(baseline_csv), DemandRecords, "baseline")
    assert report.valid
    assert "passed" in report.as_markdown()


def test_every_problem_is_reported_at_once(baseline_csv):
    _, report = validate_frame(broken_frame(baseline_csv), DemandRecords, "broken")
    found = {(p.column, p.check): p for p in report.problems}
    assert found["price", "is a number"].failing_rows == 1
    assert found["price", "is a number"].examples == ("cheap",)
    assert found["price", "must be > 0"].failing_rows == 2
    assert found["temperature", "column is missing"].failing_rows is None
    assert found["store", "must be one of city_centre, suburb, retail_park, village"].examples == (
        "moon_base",
    )
    assert found["date, store, category", "duplicate key"].failing_rows == 2
    assert len(report.problems) == 5


def test_the_report_reads_in_a_terminal_and_as_markdown(baseline_csv):
    _, report = validate_frame(broken_frame(baseline_csv), DemandRecords, "broken.csv")
    text = report.as_text()
    assert text.startswith("broken.csv: INVALID (41 rows, 5 problems)")
    assert "  - price: must be > 0 (2 rows), e.g. -1.5" in text
    markdown = report.as_markdown()
    assert "| `price` | must be > 0 | 2 | `-1.5` |" in markdown


def test_a_missing_value_is_reported_once(baseline_csv):
    frame = pd.read_csv(baseline_csv).head(10)
    frame.loc[3, "units_sold"] = None
    _, report = validate_frame(frame, DemandRecords, "gap")
    assert [(p.column, p.check, p.failing_rows) for p in report.problems] == [
        ("units_sold", "missing value", 1)
    ]


def test_unreadable_files_are_a_clear_error(tmp_path):
    with pytest.raises(ProjectError, match="not found"):
        read_csv(tmp_path / "nope.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ProjectError, match="not a readable CSV"):
        read_csv(empty)
