"""The demo's story: a fuel shock is drift in fuel_price, and the model trained before it decays."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.demo import generate

from conftest import edit_params, write_params

pytestmark = pytest.mark.demo_only


def drift(params: Path, reference: Path, current: Path, out: Path, *extra: str) -> dict:
    args = ["--reference", str(reference), "--current", str(current), "--out", str(out)]
    assert main(["drift", "--params", str(params), *args, *extra]) == 0
    return json.loads((out / "drift.json").read_text())


@pytest.fixture(scope="module")
def shock(tmp_path_factory, baseline_csv, shock_csv, trained_model_dir) -> Path:
    """The drift check of sixty fuel-shock days against sixty calm ones, with the model."""
    work = tmp_path_factory.mktemp("shock")
    params = write_params(work, baseline_csv)
    drift(params, baseline_csv, shock_csv, work / "out", "--model", str(trained_model_dir))
    return work / "out"


def test_a_fuel_shock_is_drift_in_fuel_price_only(shock):
    result = json.loads((shock / "drift.json").read_text())
    assert result["drift"] is True
    assert result["drifted_columns"] == ["fuel_price"]
    fuel = result["columns"]["fuel_price"]
    assert (fuel["method"], fuel["statistic"]) == ("wasserstein", "distance")
    assert fuel["score"] >= fuel["threshold"] == 3.0
    assert result["share"] == pytest.approx(1 / 6)
    assert result["quality"]["columns"]["fuel_price"]["above_reference_max"] > 1000


def test_the_report_names_the_test_that_saw_it(shock):
    html = (shock / "report.html").read_text()
    assert "Wasserstein distance (normed)" in html
    assert "| `fuel_price` | wasserstein (distance) |" in (shock / "summary.md").read_text()


def test_the_model_trained_before_the_shock_has_decayed(shock):
    performance = json.loads((shock / "drift.json").read_text())["performance"]
    assert performance["decayed"] is True


def test_unlabelled_shock_data_drifts_in_fuel_price(baseline_csv, tmp_path):
    inputs = tmp_path / "inputs.csv"
    shocked = generate("fuel-shock", rows=1440, seed=1)
    shocked.drop(columns=["units_sold", "high_demand"]).to_csv(inputs, index=False)
    params = write_params(tmp_path, baseline_csv)
    result = drift(params, baseline_csv, inputs, tmp_path / "out")
    assert result["drifted_columns"] == ["fuel_price"]


def test_a_sample_of_the_shock_still_drifts_in_fuel_price(baseline_csv, shock_csv, tmp_path):
    params = edit_params(write_params(tmp_path, baseline_csv), drift__sample_rows=1000)
    result = drift(params, baseline_csv, shock_csv, tmp_path / "out")
    assert result["sampled"] is True and result["drifted_columns"] == ["fuel_price"]
