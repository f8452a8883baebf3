"""Validation lists every problem with its column, check, failing rows and examples."""

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.data.tables import read_table, write_table
from {{ cookiecutter.package_name }}.data.validation import validate_frame
from {{ cookiecutter.package_name }}.errors import ProjectError

from conftest import (
    CONTRACT,
    PARAMS,
    non_nullable_column,
    not_allowed,
    numeric_feature,
    out_of_range,
    require,
    required_feature,
)


def validate(frame: pd.DataFrame, source: str = "broken"):
    return validate_frame(frame, CONTRACT.records, source)[1]


def checks_of(report) -> set[tuple[str, str]]:
    return {(problem.column, problem.check) for problem in report.problems}


def test_the_projects_own_data_is_valid(sample_file):
    report = validate(read_table(sample_file), "sample")
    assert report.valid, report.as_text()
    assert "passed" in report.as_markdown()


def test_a_missing_column_is_reported_as_missing(records):
    column = required_feature()
    report = validate(records.drop(columns=[column]))
    assert [(p.column, p.check, p.failing_rows) for p in report.problems] == [
        (column, "column is missing", None)
    ]


def test_a_string_in_a_numeric_column_is_reported_with_its_value(records):
    column = require(numeric_feature(), "numeric feature")
    frame = records.astype({column: object})
    frame.loc[2, column] = "cheap"
    found = {p.column: p for p in validate(frame).problems}
    assert (found[column].check, found[column].failing_rows) == ("is a number", 1)
    assert found[column].examples == ("cheap",)


def test_a_value_outside_its_range_is_reported(records):
    column, value, check = require(out_of_range(), "bounded feature")
    frame = records.astype({column: object})
    frame.loc[[4, 5], column] = value
    problem = next(p for p in validate(frame).problems if p.column == column)
    assert problem.check.startswith(check) and problem.failing_rows == 2


def test_a_value_that_is_not_allowed_is_reported(records):
    column, value = require(not_allowed(), "feature with allowed values")
    frame = records.astype({column: object})
    frame.loc[7, column] = value
    problem = next(p for p in validate(frame).problems if p.column == column)
    assert problem.check.startswith("must be one of") and problem.examples == (str(value),)


def test_a_missing_value_in_a_required_column_is_reported_once(records):
    column = require(non_nullable_column(), "non-nullable column")
    frame = records.astype({column: object})
    frame.loc[3, column] = None
    report = validate(frame, "gap")
    assert [(p.column, p.check, p.failing_rows) for p in report.problems] == [
        (column, "missing value", 1)
    ]


def test_a_duplicate_key_is_reported(records):
    require(PARAMS.key or None, "key in params.yaml")
    report = validate(pd.concat([records, records.iloc[[0]]], ignore_index=True))
    assert [(p.column, p.check, p.failing_rows) for p in report.problems] == [
        (", ".join(PARAMS.key), "duplicate key", 2)
    ]


def test_every_problem_is_reported_at_once_in_a_terminal_and_as_markdown(records):
    missing = required_feature()
    others = [name for name in CONTRACT.schema.columns if name != missing]
    column, value, _ = require(out_of_range(others), "bounded column besides a required one")
    frame = records.drop(columns=[missing]).astype({column: object})
    frame.loc[[4, 5], column] = value
    report = validate(frame, "broken.csv")
    assert len(report.problems) == 2
    text = report.as_text()
    assert text.startswith(f"broken.csv: INVALID ({len(frame)} rows, 2 problems)")
    assert f"  - {missing}: column is missing" in text
    bounded = next(problem for problem in report.problems if problem.column == column)
    example = bounded.examples[0]
    assert f"  - {column}: {bounded.check} (2 rows), e.g. {example}" in text
    markdown = report.as_markdown()
    assert f"| `{missing}` | column is missing | whole column |" in markdown
    assert f"| `{column}` | {bounded.check} | 2 | `{example}` |" in markdown


def test_unreadable_files_are_a_clear_error(tmp_path):
    with pytest.raises(ProjectError, match="not found"):
        read_table(tmp_path / "nope.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ProjectError, match="is empty"):
        read_table(empty)
    broken = tmp_path / "broken.parquet"
    broken.write_text("not parquet")
    with pytest.raises(ProjectError, match="not a readable Parquet"):
        read_table(broken)


def test_a_table_written_as_parquet_reads_back_the_same(records, tmp_path):
    written = write_table(records, tmp_path / "records.parquet")
    pd.testing.assert_frame_equal(read_table(written), records)
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind
