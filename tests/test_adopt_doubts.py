"""`adopt` questions doubtful input instead of accepting it silently, on a real table made doubtful.

Each file is the cars table (`unseen_data.cars`) written the way people's files arrive: numbers
with thousands separators, a column named twice, a Latin-1 name, rows without the target. When
`adopt` refuses, the project is left exactly as it was, byte for byte.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from unseen_data import cars

from conftest import bake, run_cli

PACKAGE = "demand_forecast"
TARGET = "Miles_per_Gallon"


def snapshot(project: Path) -> dict[str, bytes]:
    """Every file of the project but git's own, with its bytes."""
    return {
        str(path.relative_to(project)): path.read_bytes()
        for path in sorted(project.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(project).parts
    }


def refused(project: Path, source: Path, *args: str) -> str:
    """Run adopt, which must exit 1 and leave the project as it was; return its error."""
    before = snapshot(project)
    done = run_cli(project, PACKAGE, "adopt", str(source), "--target", TARGET, *args, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert snapshot(project) == before, "adopt changed the project although it refused"
    return done.stderr


def with_separators(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """`column` written as people's spreadsheets export it: "3,504"."""
    return frame.assign(**{column: frame[column].map(lambda value: f"{value:,}")})


@pytest.fixture
def project(cookies):
    return bake(cookies)


@pytest.fixture
def table() -> pd.DataFrame:
    return cars().frame


def test_numbers_with_thousands_separators_are_read_as_numbers_and_said_so(
    project, table, tmp_path
):
    source = tmp_path / "cars.csv"
    with_separators(table, "Weight_in_lbs").to_csv(source, index=False)
    assert '"3,504"' in source.read_text()  # what the file really holds

    done = run_cli(project, PACKAGE, "adopt", str(source), "--target", TARGET,
                   "--drop-missing-target")  # fmt: skip

    assert "'Weight_in_lbs' holds numbers written with thousands separators (e.g. '3,504')" in (
        done.stdout
    )
    assert "read as numbers ('3,504' is 3504)" in done.stdout
    numeric = done.stdout.split("Numeric features: ")[1].splitlines()[0]
    assert "'Weight_in_lbs'" in numeric
    adopted = pd.read_csv(project / "data" / "train.csv")
    assert pd.api.types.is_integer_dtype(adopted["Weight_in_lbs"])
    assert adopted["Weight_in_lbs"].iloc[0] == 3504


def test_a_column_mixing_such_numbers_with_text_is_refused_with_an_example_of_each(
    project, table, tmp_path
):
    frame = with_separators(table, "Weight_in_lbs")
    frame.loc[5, "Weight_in_lbs"] = "about 4,000"
    source = tmp_path / "cars.csv"
    frame.to_csv(source, index=False)

    error = refused(project, source, "--drop-missing-target")

    assert "column 'Weight_in_lbs' mixes numbers written with thousands separators" in error
    assert "'3,504'" in error and "'about 4,000'" in error


def test_a_column_named_twice_is_refused_naming_it_and_where(project, table, tmp_path):
    source = tmp_path / "cars.csv"
    with source.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow([*table.columns, "Horsepower"])
        for row in table.itertuples(index=False):
            writer.writerow([*row, row.Horsepower])

    error = refused(project, source, "--drop-missing-target")

    position = list(table.columns).index("Horsepower") + 1
    assert f"names the column 'Horsepower' 2 times (columns {position}, 10)" in error


def test_a_file_that_is_not_utf8_is_refused_with_save_it_as_utf8(project, table, tmp_path):
    frame = table.copy()
    frame.loc[0, "Name"] = "citroën ds-21 pallas"
    source = tmp_path / "cars.csv"
    frame.to_csv(source, index=False, encoding="latin-1")

    error = refused(project, source, "--drop-missing-target")

    assert "is not UTF-8 text" in error and "save it as UTF-8" in error


def test_rows_without_the_target_are_refused_unless_dropped_and_then_counted(
    project, table, tmp_path
):
    source = cars().write(tmp_path / "cars.csv")
    missing = int(table[TARGET].isna().sum())
    assert missing > 0

    error = refused(project, source)
    assert f"is empty in {missing} of {len(table)} rows" in error
    assert "--drop-missing-target" in error

    done = run_cli(project, PACKAGE, "adopt", str(source), "--target", TARGET,
                   "--drop-missing-target")  # fmt: skip
    kept = len(table) - missing
    assert f"Dropped {missing} of {len(table)} rows without '{TARGET}'" in done.stdout
    assert len(pd.read_csv(project / "data" / "train.csv")) == kept
    # a near-unique name (one per car model, nearly) is no category: left out, and why
    assert "Left out 'Name': nearly unique text (" in done.stdout
    assert "'Name'" not in done.stdout.split("Categorical features: ")[1].splitlines()[0]


def test_a_time_column_is_judged_against_the_baseline_a_model_could_know(project, tmp_path):
    """--time-column Year holds out the newest cars: r2 there is negative, since it compares
    with the holdout's own mean, which no model fitted on older years can know; against the
    training median (the baseline) the model removes half the error, and adopt says both."""
    source = cars().write(tmp_path / "cars.csv")

    done = run_cli(project, PACKAGE, "adopt", str(source), "--target", TARGET,
                   "--drop-missing-target", "--time-column", "Year")  # fmt: skip

    assert "r2 -0." in done.stdout  # shown, not hidden
    assert "Baseline: mae " in done.stdout and "(the training median (" in done.stdout
    if "does NOT beat its baseline" in done.stdout:
        assert "Not ready for a pull request:" in done.stdout
        assert "adopt again without --time-column" in done.stdout
    else:
        assert "Not ready" not in done.stdout and "open a pull request" in done.stdout


def test_a_long_list_of_classes_is_cut_in_the_message(project, tmp_path):
    source = cars().write(tmp_path / "cars.csv")

    error = refused(project, source, "--drop-missing-target", "--task", "classification")

    assert "classes with a single row" in error
    assert " more;" in error  # ten names, then how many more
    assert len(error) < 800, error


def test_a_target_of_such_numbers_is_a_regression_not_a_list_of_classes(project, table, tmp_path):
    source = tmp_path / "cars.csv"
    with_separators(table, "Weight_in_lbs").to_csv(source, index=False)

    done = run_cli(project, PACKAGE, "adopt", str(source), "--target", "Weight_in_lbs")

    assert "'Weight_in_lbs' holds numbers written with thousands separators" in done.stdout
    assert "Task: regression of 'Weight_in_lbs'" in done.stdout
