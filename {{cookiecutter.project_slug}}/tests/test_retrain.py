"""Retraining: the next training snapshot is the newest window of the old one plus recent data."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.data.contract import Contract
from {{ cookiecutter.package_name }}.data.dataset import load_records, time_span
from {{ cookiecutter.package_name }}.data.tables import write_table
from {{ cookiecutter.package_name }}.model.params import Params, load_params
from {{ cookiecutter.package_name }}.monitor.retrain import combine

from conftest import CONTRACT, PARAMS, edit_params, require, write_params

TIME, KEY = PARAMS.split.time_column, PARAMS.key
needs_time = pytest.mark.skipif(not TIME, reason="params.yaml names no split.time_column")
needs_key = pytest.mark.skipif(not KEY, reason="params.yaml names no key")
EVERYTHING = 100 * 365  # a window that keeps every row


def older_and_newer(records: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The records before and from their middle time (or the first and second half)."""
    if not TIME:
        half = len(records) // 2
        return records.iloc[:half], records.iloc[half:]
    middle = records[TIME].iloc[len(records) // 2]
    return records[records[TIME] < middle], records[records[TIME] >= middle]


def relabel(rows: pd.DataFrame) -> pd.DataFrame:
    """The same rows with another target value, so a test can tell which copy was kept."""
    target = rows[PARAMS.target]
    if PARAMS.task == "regression":
        return rows.assign(**{PARAMS.target: target + 1})
    classes = sorted(target.unique())
    swap = dict(zip(classes, classes[1:] + classes[:1], strict=True))
    return rows.assign(**{PARAMS.target: target.map(swap)})


@pytest.fixture
def project(tmp_path: Path, params_file: Path, records: pd.DataFrame) -> Path:
    """params.yaml with the older half of the sample as its own data.train, which retrain
    replaces; the newer half is in recent.csv."""
    older, newer = older_and_newer(records)
    write_table(older, tmp_path / "train.csv")
    write_table(newer, tmp_path / "recent.csv")
    edit_params(params_file, data__train="train.csv", retrain__window_days=EVERYTHING)
    return params_file


def load_params_with(**changes: object) -> Params:
    """The project's params with dotted (a__b) keys changed."""
    with tempfile.TemporaryDirectory() as scratch:
        return load_params(write_params(Path(scratch), PARAMS.train_path, **changes))


def retrain(params_file: Path, current: Path, *extra: str) -> int:
    return main(["retrain", "--params", str(params_file), "--current", str(current), *extra])


@needs_time
def test_the_snapshot_keeps_the_newest_window_and_every_recent_row(records):
    previous, recent = older_and_newer(records)
    # a window reaching back to about the middle of the previous rows
    days = (recent[TIME].max() - previous[TIME].iloc[len(previous) // 2]).days
    contract = Contract.load(load_params_with(retrain__window_days=days))
    snapshot, counts = combine(previous, recent, contract)
    kept = previous[previous[TIME] > recent[TIME].max() - pd.Timedelta(days=days)]
    assert 0 < len(kept) < len(previous)
    assert snapshot[TIME].min() == kept[TIME].min()
    assert len(snapshot) == len(kept) + len(recent)
    assert counts == {
        "rows_from_previous": len(kept),
        "rows_from_recent": len(recent),
        "previous_rows_outside_window": len(previous) - len(kept),
        "previous_rows_replaced_by_recent": 0,
    }


@needs_key
def test_a_key_in_both_keeps_the_recent_record(records):
    overlap = records.tail(len(records) // 4)
    recent = relabel(overlap)
    contract = Contract.load(load_params_with(retrain__window_days=EVERYTHING))
    snapshot, counts = combine(records, recent, contract)
    assert counts["previous_rows_replaced_by_recent"] == len(recent)
    assert len(snapshot) == len(records)
    assert not snapshot.duplicated(KEY).any()
    kept = snapshot.merge(recent[KEY], on=KEY)
    expected = recent.sort_values(list(dict.fromkeys([*([TIME] if TIME else []), *KEY])))
    pd.testing.assert_frame_equal(
        kept.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )


def test_without_a_time_column_every_previous_row_is_kept(records):
    previous, recent = older_and_newer(records)
    contract = Contract.load(load_params_with(split__time_column=None, retrain__window_days=1))
    snapshot, counts = combine(previous, recent, contract)
    assert len(snapshot) == len(previous) + len(recent)
    assert counts["previous_rows_outside_window"] == 0


@needs_time
def test_the_window_can_leave_out_all_of_the_old_data(project, tmp_path):
    edit_params(project, retrain__window_days=1)
    newer = load_records(tmp_path / "recent.csv", CONTRACT)
    previous = load_records(tmp_path / "train.csv", CONTRACT)
    require(newer[TIME].max() - previous[TIME].max() > pd.Timedelta(days=1) or None, "time gap")
    assert retrain(project, tmp_path / "recent.csv") == 0
    record = json.loads((tmp_path / "retrain.json").read_text())
    assert record["snapshot"]["rows_from_previous"] == 0
    assert record["snapshot"]["previous_rows_outside_window"] == len(previous)


def test_retrain_replaces_the_training_data_and_records_why(project, tmp_path):
    drift_dir = tmp_path / "drift"
    drift_dir.mkdir()
    verdict = {"drift": True, "reasons": ["a column moved"], "drifted_columns": ["a_column"]}
    (drift_dir / "drift.json").write_text(json.dumps(verdict))
    previous = load_records(tmp_path / "train.csv", CONTRACT)
    recent = load_records(tmp_path / "recent.csv", CONTRACT)

    assert retrain(project, tmp_path / "recent.csv", "--drift", str(drift_dir)) == 0

    snapshot = load_records(tmp_path / "train.csv", CONTRACT)
    record = json.loads((tmp_path / "retrain.json").read_text())
    assert len(snapshot) == len(previous) + len(recent)
    assert record["why"]["drifted_columns"] == ["a_column"]
    assert record["recent"]["files"] == [str(tmp_path / "recent.csv")]
    assert record["snapshot"]["rows"] == len(snapshot)
    assert record["snapshot"]["sha256"] != record["previous"]["sha256"]
    if TIME:  # days, or times of day for hourly data, as every record writes them
        span = time_span(pd.concat([previous, recent]), TIME, "snapshot")
        written = record["snapshot"]
        assert (written["from"], written["to"]) == (span["snapshot_from"], span["snapshot_to"])
    assert not list(tmp_path.glob(".next.*"))  # no staging files left behind


def test_the_retrained_snapshot_trains(project, tmp_path):
    assert retrain(project, tmp_path / "recent.csv") == 0
    assert main(["train", "--params", str(project), "--out", str(tmp_path / "model")]) == 0


def test_unlabelled_recent_data_cannot_retrain_and_changes_nothing(project, tmp_path, capsys):
    recent = load_records(tmp_path / "recent.csv", CONTRACT)
    inputs = write_table(recent.drop(columns=[PARAMS.target]), tmp_path / "inputs.csv")
    before = (tmp_path / "train.csv").read_bytes()
    assert retrain(project, inputs) == 1
    assert "retraining needs labelled data" in capsys.readouterr().err
    assert (tmp_path / "train.csv").read_bytes() == before
    assert not (tmp_path / "retrain.json").exists()
