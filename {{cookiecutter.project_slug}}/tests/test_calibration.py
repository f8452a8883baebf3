"""Drift thresholds calibrated on ordinary windows of the project's own training data.

Every test runs on whatever data the project holds (the demo's, or an adopted table) and says
why it is skipped when that data cannot show what it checks.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.data.dataset import load_records
from {{ cookiecutter.package_name }}.data.tables import write_table
from {{ cookiecutter.package_name }}.errors import ProjectError
from {{ cookiecutter.package_name }}.model.params import load_params
from {{ cookiecutter.package_name }}.monitor.calibrated_params import calibrate_adopted, replace_section
from {{ cookiecutter.package_name }}.monitor.calibration import (
    DIRECT,
    MARGIN,
    MIN_WINDOW_ROWS,
    MIN_WINDOWS,
    calibrate,
    calibration_windows,
    column_score,
    default_window,
    ordinary_windows,
    window_ids,
    window_of,
)
from {{ cookiecutter.package_name }}.monitor.drift import check_drift

from conftest import CONTRACT, PARAMS, edit_params, write_params

TIME = PARAMS.split.time_column
FEW_ROWS = 10  # a window of fewer rows is a handful of points, not a distribution


@pytest.fixture(scope="module")
def training() -> pd.DataFrame:
    """The whole training table: calibration needs its history, not a sample."""
    return load_records(PARAMS.train_path, CONTRACT)


@pytest.fixture(scope="module")
def window(training) -> str:
    return window_of(PARAMS, training, TIME)


@pytest.fixture(scope="module")
def windows(training, window) -> list[np.ndarray]:
    found = calibration_windows(training, window, TIME, PARAMS.seed)
    if len(found) < MIN_WINDOWS:
        pytest.skip(f"the training data has {len(found)} ordinary windows of {window}: too few")
    return found


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory, training, windows) -> Path:
    """A copy of the project calibrated as `adopt` calibrates it (thresholds and decay)."""
    work = tmp_path_factory.mktemp("calibrated")
    data = write_table(training, work / f"train{PARAMS.train_path.suffix}")
    params_file = write_params(work, data)
    calibrate_adopted(params_file)
    return params_file


def columns_under_test() -> list[tuple[str, bool]]:
    return [(n, True) for n in PARAMS.features.categorical] + [
        (n, False) for n in PARAMS.features.numeric
    ]


def test_the_statistic_computed_here_is_evidentlys(training, windows):
    from {{ cookiecutter.package_name }}.monitor.evidently_adapter import run_drift

    inside = windows[len(windows) // 2]
    reference, current = training[~inside], training[inside]
    compared = 0
    for column, categorical in columns_under_test():
        for method in sorted(DIRECT):
            if method == "wasserstein" and categorical:
                continue
            ours = column_score(method, categorical, reference[column], current[column])
            theirs = run_drift(
                reference,
                current,
                numeric=[] if categorical else [column],
                categorical=[column] if categorical else [],
                tests={column: (method, 1.0)},
                drift_share=0.5,
            ).columns[column]
            assert math.isclose(ours, theirs.score, rel_tol=1e-9, abs_tol=1e-12), (column, method)
            compared += 1
    assert compared


def test_thresholds_are_written_with_their_evidence(calibrated, window, windows):
    params = load_params(calibrated)
    written = yaml.safe_load(calibrated.read_text())["drift"]
    assert written["window"] == window
    for column, _ in columns_under_test():
        test = params.drift.columns[column]
        assert test.evidence is not None, column
        assert test.evidence.windows == len(windows)
        assert test.evidence.q90 <= test.evidence.max
        # above everything an ordinary window scored, with room to spare (both numbers are
        # written to three significant digits: each may be 0.5% off)
        assert test.threshold >= MARGIN * test.evidence.max * 0.99
        assert written["columns"][column]["evidence"]["max"] == test.evidence.max
    if params.drift.decay_evidence is None:
        pytest.skip("too few labelled holdout windows to calibrate the decay tolerance")
    assert params.drift.decay_tolerance >= params.drift.decay_evidence.max


def test_ordinary_windows_score_below_their_calibrated_thresholds(calibrated, training, windows):
    params = load_params(calibrated)
    for column, categorical in columns_under_test():
        test = params.drift.columns[column]
        for inside in windows:
            score = column_score(
                test.method,
                categorical,
                training.loc[~inside, column],
                training.loc[inside, column],
            )
            assert score < test.threshold, (column, score, test.threshold)


def moved(
    frame: pd.DataFrame, reference: pd.DataFrame, columns: list[str], sds: float = 2.0
) -> pd.DataFrame:
    """`frame` with each column moved up by `sds` of the reference's standard deviations (whole
    numbers stay whole: a schema of integers refuses 3.5)."""
    shifted = frame.copy()
    for name in columns:
        step = sds * float(reference[name].std())
        if pd.api.types.is_integer_dtype(frame[name]):
            step = max(1, round(step))
        shifted[name] = frame[name] + step
    return shifted


def movable(frame: pd.DataFrame, reference: pd.DataFrame, sds: float = 2.0) -> list[str]:
    """Up to three numeric features whose moved values the schema still accepts."""
    from {{ cookiecutter.package_name }}.data.validation import validate_frame

    names = []
    for name in PARAMS.features.numeric:
        _, report = validate_frame(moved(frame, reference, [name], sds), CONTRACT.records, "moved")
        if report.valid:
            names.append(name)
    if not names:
        pytest.skip(f"no numeric feature of the project can move by {sds:.3g} standard deviations")
    return names[:3]


def beyond_history(params, columns: list[str]) -> float:
    """How far to move `columns`, in standard deviations: 2, or past their thresholds where the
    data's ordinary windows already move that far (decades of a trending series). Wasserstein
    thresholds are in standard deviations, so a quarter past the highest is out of the ordinary."""
    tests = [params.drift.test_for(name, False) for name in columns]
    return max([2.0] + [1.25 * test.threshold for test in tests if test.method == "wasserstein"])


def test_a_window_moved_two_standard_deviations_or_past_its_history_retrains(
    calibrated, training, window, windows, tmp_path
):
    params = load_params(calibrated)
    sds = beyond_history(params, movable(training, training))
    numeric = movable(training, training, sds)
    # the window most like the rest: moving it is the hardest case to tell from an ordinary one
    totals = [
        sum(
            column_score("wasserstein", False, training.loc[~w, n], training.loc[w, n])
            for n in numeric
        )
        for w in windows
    ]
    inside = windows[int(np.argmin(totals))]
    if inside.sum() < FEW_ROWS:
        pytest.skip(
            f"a window of {window} holds {inside.sum()} rows of this data: thresholds set above "
            f"what windows that small score cannot see a shift of {sds:.3g} standard deviations"
        )
    current = moved(training[inside], training, numeric, sds).drop(columns=[PARAMS.target])
    path = write_table(current, tmp_path / f"moved{PARAMS.train_path.suffix}")

    result = check_drift(params, params.train_path, path, tmp_path / "out", model=None)

    assert result["drift"] and result["retrain"], result["reasons"]
    assert set(result["drifted_columns"]) & set(numeric)


def test_an_ordinary_window_without_labels_proposes_no_retraining(
    calibrated, training, windows, tmp_path
):
    params = load_params(calibrated)
    inside = windows[len(windows) // 2]
    current = training[inside].drop(columns=[PARAMS.target])
    path = write_table(current, tmp_path / f"ordinary{PARAMS.train_path.suffix}")

    result = check_drift(params, params.train_path, path, tmp_path / "out", model=None)

    assert not result["retrain"], result["reasons"]


def test_retrain_recalibrates_on_the_new_snapshot_and_says_what_changed(
    calibrated, training, windows, tmp_path, capsys
):
    before = load_params(calibrated)
    # the newest half of the training rows, moved, arrives as labelled recent data
    numeric = movable(training, training)
    newer = training.iloc[len(training) // 2 :]
    recent = write_table(
        moved(newer, training, numeric), tmp_path / f"recent{PARAMS.train_path.suffix}"
    )
    edit_params(calibrated, retrain__window_days=100 * 365)

    assert (
        main(
            [
                "retrain",
                "--params",
                str(calibrated),
                "--current",
                str(recent),
                "--summary",
                str(tmp_path / "calibration.md"),
            ]
        )
        == 0
    )

    after = load_params(calibrated)
    record = json.loads((after.train_path.with_name("retrain.json")).read_text())
    changed = {change["key"]: change for change in record["calibration"]["changed"]}
    moved_keys = {f"drift.columns.{name}.threshold" for name in numeric}
    assert moved_keys & set(changed), record["calibration"]
    for key, change in changed.items():
        if key.startswith("drift.columns."):
            name = key.split(".")[2]
            assert change["old"] == before.drift.columns[name].threshold
            assert change["new"] == after.drift.columns[name].threshold
            assert after.drift.columns[name].evidence.model_dump() == change["evidence"]
    summary = (tmp_path / "calibration.md").read_text()
    first = sorted(moved_keys & set(changed))[0]
    assert f"`{first}` | {changed[first]['old']:.3g} | {changed[first]['new']:.3g}" in summary
    assert summary in capsys.readouterr().out


def test_thresholds_set_by_hand_are_kept_by_retrain(params_file, records, tmp_path):
    """A threshold without evidence was set by a person: retrain leaves params.yaml alone."""
    edit_params(params_file, retrain__window_days=100 * 365)
    params = load_params(params_file)
    if any(test.evidence for test in params.drift.columns.values()) or params.drift.decay_evidence:
        pytest.skip("this project's thresholds carry calibration evidence")
    recent = write_table(records, tmp_path / f"recent{PARAMS.train_path.suffix}")
    text = params_file.read_text()

    assert main(["retrain", "--params", str(params_file), "--current", str(recent)]) == 0

    assert params_file.read_text() == text


@pytest.mark.parametrize(("pace", "rows"), [("h", 24 * 400), ("D", 800), ("B", 800)])
def test_the_default_window_follows_the_pace_of_the_data(pace, rows):
    times = pd.Series(pd.date_range("2020-01-01", periods=rows, freq=pace))
    window = default_window(times, rows, 0.2)
    counts = np.unique(window_ids(pd.DataFrame({"t": times}), window, "t", 0), return_counts=True)
    # a month when a month holds enough rows (hourly, daily); weekdays only fall just short
    assert (window == "month") == (pace != "B")
    assert np.median(counts[1]) >= MIN_WINDOW_ROWS


@pytest.mark.parametrize(("pace", "rows"), [("W", 300), ("QS", 200), ("QS", 40)])
def test_sparse_data_gets_windows_of_days_that_hold_enough_rows_to_calibrate_on(pace, rows):
    times = pd.Series(pd.date_range("1960-01-01", periods=rows, freq=pace))
    window = default_window(times, rows, 0.2)
    assert window.endswith(" days")
    ids = window_ids(pd.DataFrame({"t": times}), window, "t", 0)
    counts, full = np.unique(ids, return_counts=True), ordinary_windows(ids)
    # as many rows as a month of daily data, unless that would leave too few windows
    assert np.median(counts[1]) >= MIN_WINDOW_ROWS - 1 or len(full) >= MIN_WINDOWS
    assert len(full) >= MIN_WINDOWS


def test_without_a_time_column_the_window_is_a_batch_the_size_of_the_holdout():
    assert default_window(None, 1000, 0.2) == "200 rows"


def test_without_a_time_column_thresholds_rest_on_many_random_batches():
    """Any batch of untimed rows is ordinary: forty seeded batches, not a partition into five."""
    from {{ cookiecutter.package_name }}.monitor.calibration import RANDOM_BATCHES

    rows = pd.DataFrame({"x": range(1000)})
    batches = calibration_windows(rows, "200 rows", None, seed=0)
    assert len(batches) == RANDOM_BATCHES and all(inside.sum() == 200 for inside in batches)
    assert len({inside.tobytes() for inside in batches}) == RANDOM_BATCHES  # drawn anew
    assert calibration_windows(rows, "200 rows", None, seed=0)[0].tobytes() == batches[0].tobytes()
    assert calibration_windows(rows.head(799), "200 rows", None, seed=0) == []  # under 4 windows


def test_a_window_of_days_needs_a_time_column(training):
    with pytest.raises(ProjectError, match=r"drift\.window 'month' needs split\.time_column"):
        window_ids(training, "month", None, PARAMS.seed)


def test_replacing_the_drift_section_keeps_every_other_line():
    text = (
        "# top\ntask: regression\n\n# about drift\ndrift:\n  share: 0.1\n  # gone\n\n"
        "# about retrain\nretrain: {window_days: 365}\n"
    )

    replaced = replace_section(text, "drift", {"share": 0.2})

    assert replaced.startswith("# top\ntask: regression\n\n# about drift\n")
    assert "drift:\n  share: 0.2\n" in replaced and "# gone" not in replaced
    assert replaced.endswith("\n# about retrain\nretrain: {window_days: 365}\n")
    assert yaml.safe_load(replaced) == {
        "task": "regression",
        "drift": {"share": 0.2},
        "retrain": {"window_days": 365},
    }


def test_calibration_without_enough_windows_keeps_the_thresholds(training):
    few = training.head(max(2, len(training) // 50))
    calibration = calibrate(PARAMS, few, decay=False)
    if calibration.thresholds:
        pytest.skip("even a fiftieth of the training data has enough ordinary windows")
    assert "thresholds" in calibration.skipped
