"""The classification demo ships a gate tolerance calibrated on its own data (docs/verdicts.md):
it must be what the baked project's calibration computes, model by model, or its evidence lies."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import bake, project_env

CALIBRATE = """
import json
from demand_forecast.data.contract import Contract
from demand_forecast.data.dataset import load_records
from demand_forecast.model.params import load_params
from demand_forecast.monitor.gate_tolerance import calibrate_tolerance

params = load_params("params.yaml")
found = calibrate_tolerance(params, load_records(params.train_path, Contract.load(params)))
evidence = params.gate.regression_evidence
print(json.dumps({
    "shipped": [params.gate.max_regression, evidence.refits, evidence.spread, evidence.max],
    "computed": [found.max_regression, found.refits, found.spread, found.largest],
}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("model", ["gradient_boosting", "random_forest", "linear"])
def test_the_classification_demo_ships_the_tolerance_its_calibration_computes(cookies, model):
    project = bake(cookies, task="classification", model=model)
    done = subprocess.run(
        [sys.executable, "-c", CALIBRATE],
        cwd=project,
        env=project_env(project),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["computed"] == pytest.approx(found["shipped"], rel=0.02)
