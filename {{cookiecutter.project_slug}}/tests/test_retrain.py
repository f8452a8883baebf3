"""Retraining: the next training snapshot is the newest window of the old one plus recent data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.artifacts import load_model
from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.data import generate
from {{ cookiecutter.package_name }}.dataset import load_records, split_by_time
from {{ cookiecutter.package_name }}.metrics import HIGHER_IS_BETTER, score
from {{ cookiecutter.package_name }}.params import load_params
from {{ cookiecutter.package_name }}.retrain import combine

from conftest import PROJECT, edit_params


@pytest.fixture
def project(tmp_path: Path, params_file: Path, baseline_csv: Path) -> Path:
    """params.yaml with its own copy of the baseline as data.train, which retrain replaces.

    The small baseline (early 2024) and fuel-shock (early 2025) sets are a year apart: a window
    of 800 days keeps both in the snapshot.
    """
    shutil.copy(baseline_csv, tmp_path / "train.csv")
    edit_params(params_file, data__train="train.csv", retrain__window_days=800)
    return params_file


def retrain(params_file: Path, current: Path, *extra: str) -> int:
    return main(["retrain", "--params", str(params_file), "--current", str(current), *extra])


def frame(scenario: str, days: int, start: str, seed: int = 0) -> pd.DataFrame:
    return load_frame(generate(scenario, rows=24 * days, seed=seed, start=start))


def load_frame(raw: pd.DataFrame) -> pd.DataFrame:
    return raw.assign(date=pd.to_datetime(raw["date"]))


def test_the_snapshot_keeps_the_newest_window_and_every_recent_row():
    previous = frame("baseline", 30, "2024-01-01")
    recent = frame("fuel-shock", 10, "2024-01-31")
    snapshot, counts = combine(previous, recent, window_days=20)
    assert snapshot["date"].min() == pd.Timestamp("2024-01-21")  # 20 days up to 2024-02-09
    assert snapshot["date"].max() == pd.Timestamp("2024-02-09")
    assert len(snapshot) == 24 * 20
    assert counts == {
        "rows_from_previous": 24 * 10,
        "rows_from_recent": 24 * 10,
        "previous_rows_outside_window": 24 * 20,
        "previous_rows_replaced_by_recent": 0,
    }


def test_the_window_can_leave_out_all_of_the_old_data(project, shock_csv, tmp_path):
    edit_params(project, retrain__window_days=365)
    assert retrain(project, shock_csv) == 0
    record = json.loads((tmp_path / "retrain.json").read_text())
    assert record["snapshot"]["rows_from_previous"] == 0
    assert record["snapshot"]["previous_rows_outside_window"] == 1440


def test_a_day_in_both_keeps_the_recent_record():
    previous = frame("baseline", 10, "2024-01-01")
    recent = frame("fuel-shock", 5, "2024-01-08", seed=3)  # overlaps the last three days
    snapshot, counts = combine(previous, recent, window_days=365)
    assert counts["previous_rows_replaced_by_recent"] == 24 * 3
    assert not snapshot.duplicated(["date", "store", "category"]).any()
    overlap = snapshot[snapshot["date"] >= "2024-01-08"].reset_index(drop=True)
    expected = recent.sort_values(["date", "store", "category"], ignore_index=True)
    pd.testing.assert_frame_equal(overlap, expected, check_dtype=False)


def test_retrain_replaces_the_training_data_and_records_why(project, shock_csv, tmp_path):
    drift_dir = tmp_path / "drift"
    drift_dir.mkdir()
    verdict = {"drift": True, "reasons": ["fuel"], "drifted_columns": ["fuel_price"]}
    (drift_dir / "drift.json").write_text(json.dumps(verdict))
    assert retrain(project, shock_csv, "--drift", str(drift_dir)) == 0
    snapshot = load_records(tmp_path / "train.csv")
    record = json.loads((tmp_path / "retrain.json").read_text())
    assert len(snapshot) == 1440 + 1440  # 60 days each, both inside the window
    assert record["why"]["drifted_columns"] == ["fuel_price"]
    assert record["previous"]["to"] == "2024-02-29"
    assert record["recent"]["files"] == [str(shock_csv)]
    assert record["snapshot"]["rows"] == len(snapshot)
    assert (record["snapshot"]["from"], record["snapshot"]["to"]) == ("2024-01-01", "2025-03-01")
    assert not list(tmp_path.glob(".*.next"))  # no staging files left behind


def test_unlabelled_recent_data_cannot_retrain_and_changes_nothing(project, tmp_path, capsys):
    inputs = tmp_path / "inputs.csv"
    generate("fuel-shock", rows=48).drop(columns=["units_sold", "high_demand"]).to_csv(
        inputs, index=False
    )
    before = (tmp_path / "train.csv").read_bytes()
    assert retrain(project, inputs) == 1
    assert "retraining needs labelled data" in capsys.readouterr().err
    assert (tmp_path / "train.csv").read_bytes() == before
    assert not (tmp_path / "retrain.json").exists()


@pytest.fixture(scope="module")
def retrained(
    tmp_path_factory: pytest.TempPathFactory, baseline_csv: Path, shock_csv: Path
) -> Path:
    """A project folder retrained with the fuel-shock data, with its model in challenger/."""
    work = tmp_path_factory.mktemp("retrained")
    shutil.copy(baseline_csv, work / "train.csv")
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    params["data"]["train"] = "train.csv"
    params["retrain"]["window_days"] = 800
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    assert retrain(work / "params.yaml", shock_csv) == 0
    assert (
        main(["train", "--params", str(work / "params.yaml"), "--out", str(work / "challenger")])
        == 0
    )
    return work


def test_the_retrained_model_beats_the_old_one_after_the_fuel_shock(retrained, trained_model_dir):
    params = load_params(retrained / "params.yaml")
    # the challenger's holdout: the newest fuel-shock days, which neither model trained on
    holdout = split_by_time(load_records(params.train_path), params.split.holdout_fraction).holdout
    assert holdout["date"].min() > pd.Timestamp("2025-01-10")  # after the shock
    metric = params.drift.decay_metric
    errors = {}
    for name, directory in (
        ("champion", trained_model_dir),
        ("challenger", retrained / "challenger"),
    ):
        model = load_model(directory)
        errors[name] = score(model.task, holdout[params.target], model.predict(holdout))[metric]
    better = max if HIGHER_IS_BETTER[metric] else min
    assert better(errors, key=errors.get) == "challenger", errors


def test_the_pull_request_gate_passes_the_retrained_model_as_significantly_better(
    retrained, trained_model_dir
):
    args = ["compare", "--champion", str(trained_model_dir)]
    args += ["--challenger", str(retrained / "challenger"), "--data", str(retrained / "train.csv")]
    args += ["--out", str(retrained / "comment.md"), "--artifacts", str(retrained / "report")]
    assert main(args) == 0
    report = json.loads((retrained / "report" / "report.json").read_text())
    assert report["passed"] is True
    assert report["verdict"] == "better"
