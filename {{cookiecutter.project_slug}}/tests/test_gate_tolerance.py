"""The gate's tolerance, calibrated on refits of the project's own model (gate_tolerance.py).

Every test runs on whatever data the project holds, the demo's or an adopted table.
"""

from __future__ import annotations

import json
from pathlib import Path
from statistics import NormalDist

import pytest
import yaml

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.data.dataset import load_records
from {{ cookiecutter.package_name }}.data.tables import write_table
from {{ cookiecutter.package_name }}.errors import ProjectError
from {{ cookiecutter.package_name }}.model.params import load_params
from {{ cookiecutter.package_name }}.monitor.calibrated_params import calibrate_adopted
from {{ cookiecutter.package_name }}.monitor.gate_tolerance import (
    CEILING,
    FLOOR,
    REFITS,
    calibrate_tolerance,
)

from conftest import CONTRACT, PARAMS, edit_params, write_params


@pytest.fixture(scope="module")
def training():
    return load_records(PARAMS.train_path, CONTRACT)


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory, training) -> Path:
    """A copy of the project calibrated as `adopt` calibrates it."""
    work = tmp_path_factory.mktemp("tolerance")
    data = write_table(training, work / f"train{PARAMS.train_path.suffix}")
    params_file = write_params(work, data)
    calibrate_adopted(params_file)
    return params_file


@pytest.fixture
def copied(calibrated, tmp_path) -> Path:
    """The calibrated project's params and data, copied: a test may change them."""
    data = tmp_path / calibrated.parent.name / load_params(calibrated).train_path.name
    data.parent.mkdir()
    data.write_bytes(load_params(calibrated).train_path.read_bytes())
    params_file = data.with_name("params.yaml")
    params_file.write_text(calibrated.read_text())
    return edit_params(params_file, data__train=str(data))


def test_the_tolerance_adds_the_refits_noise_at_the_gates_confidence_to_the_default(
    calibrated,
):
    gate = load_params(calibrated).gate
    evidence = gate.regression_evidence
    assert evidence is not None and evidence.refits == REFITS
    margin = NormalDist().inv_cdf(gate.confidence) * evidence.spread
    expected = min(CEILING, FLOOR + margin)
    assert gate.max_regression == pytest.approx(expected, rel=0.01)  # three digits
    written = yaml.safe_load(calibrated.read_text())["gate"]
    assert written["regression_evidence"] == evidence.model_dump()


def test_the_same_data_gives_the_same_tolerance(calibrated, training):
    again = calibrate_tolerance(load_params(calibrated), training)
    assert again.max_regression == load_params(calibrated).gate.max_regression


def test_retrain_recalibrates_a_tolerance_with_evidence_and_keeps_one_set_by_hand(
    copied, training, tmp_path
):
    recent = write_table(training, tmp_path / f"recent{PARAMS.train_path.suffix}")
    edit_params(copied, retrain__window_days=100 * 365)
    assert main(["retrain", "--params", str(copied), "--current", str(recent)]) == 0
    after = load_params(copied)
    assert after.gate.regression_evidence is not None  # recalibrated on the snapshot
    record = json.loads(after.train_path.with_name("retrain.json").read_text())
    changed = {change["key"]: change for change in record["calibration"].get("changed", [])}
    if "gate.max_regression" in changed:
        assert changed["gate.max_regression"]["new"] == after.gate.max_regression
        assert changed["gate.max_regression"]["evidence"]["refits"] == REFITS

    (tmp_path / "by-hand").mkdir()
    data = write_table(training, tmp_path / "by-hand" / f"train{PARAMS.train_path.suffix}")
    by_hand = write_params(tmp_path / "by-hand", data)
    edit_params(
        by_hand,
        gate__max_regression=0.031,
        gate__regression_evidence=None,
        retrain__window_days=100 * 365,
    )
    assert main(["retrain", "--params", str(by_hand), "--current", str(recent)]) == 0
    assert load_params(by_hand).gate.max_regression == 0.031


def test_evidence_that_cannot_be_true_is_refused(copied):
    edit_params(copied, gate__regression_evidence={"refits": 1, "spread": 0.1, "max": 0.0})
    with pytest.raises(ProjectError, match="refits"):
        load_params(copied)


def test_noise_past_the_ceiling_is_named_rather_than_tolerated():
    from {{ cookiecutter.package_name }}.monitor.gate_tolerance import Tolerance

    calm = Tolerance(0.034, REFITS, spread=0.03, largest=0.05, holdout_rows=300)
    noisy = Tolerance(CEILING, REFITS, spread=9.07, largest=28.8, holdout_rows=69)
    assert not calm.too_noisy and "cannot tell" not in calm.summary()
    assert noisy.too_noisy
    assert "On 69 held-out rows the gate cannot tell a regression" in noisy.summary()
