"""The demo's ending: retrained on the fuel-shock days, the model beats the one trained before."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.data.contract import Contract
from {{ cookiecutter.package_name }}.data.dataset import load_records, split_records
from {{ cookiecutter.package_name }}.model.artifacts import load_model
from {{ cookiecutter.package_name }}.model.metrics import HIGHER_IS_BETTER, score
from {{ cookiecutter.package_name }}.model.params import load_params

from conftest import write_params

pytestmark = pytest.mark.demo_only


@pytest.fixture(scope="module")
def retrained(tmp_path_factory, baseline_csv: Path, shock_csv: Path) -> Path:
    """A project folder retrained with the fuel-shock data, with its model in challenger/.

    The small baseline (early 2024) and fuel-shock (early 2025) sets are a year apart: a
    window of 800 days keeps both in the snapshot.
    """
    work = tmp_path_factory.mktemp("retrained")
    shutil.copy(baseline_csv, work / "train.csv")
    params = write_params(work, Path("train.csv"), retrain__window_days=800)
    assert main(["retrain", "--params", str(params), "--current", str(shock_csv)]) == 0
    assert main(["train", "--params", str(params), "--out", str(work / "challenger")]) == 0
    return work


def test_the_retrained_model_beats_the_old_one_after_the_fuel_shock(retrained, trained_model_dir):
    params = load_params(retrained / "params.yaml")
    contract = Contract.load(params)
    # the challenger's holdout: the newest fuel-shock days, which neither model trained on
    holdout = split_records(load_records(params.train_path, contract), contract).holdout
    assert str(holdout["date"].min().date()) > "2025-01-10"  # after the shock
    metric = params.drift.decay_metric
    found = {}
    for name, directory in (("champion", trained_model_dir), ("challenger", "challenger")):
        model = load_model(retrained / directory)
        found[name] = score(model.task, model.truth_of(holdout), model.predict(holdout))[metric]
    better = max if HIGHER_IS_BETTER[metric] else min
    assert better(found, key=found.get) == "challenger", found


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
