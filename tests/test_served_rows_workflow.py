"""drift.yml on served traffic: with serving.logs set, the rows the service logged are collected
into data.incoming before the drift check reads it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_promotion import repo  # noqa: F401  (the fixture: a baked project in git)
from test_workflows import PACKAGE, drift_run, git

from conftest import project_env, run_cli

# What the service writes, by its own code (prediction_log.py), for rows a client sent.
LOG_ROWS = """
import sys, json, pandas as pd
from {package}.serve.prediction_log import PredictionLog
rows = json.loads(pd.read_csv(sys.argv[1]).drop(columns=sys.argv[3:]).to_json(orient="records"))
log = PredictionLog(sys.argv[2], {{"model": "m:1", "git_commit": "abc"}})
for start in range(0, len(rows), 10):
    log.write(f"request-{{start}}", rows[start:start + 10], [{{"prediction": 1.0}}] * 10)
"""


@pytest.mark.slow
def test_the_drift_workflow_checks_the_rows_the_service_answered(repo, tmp_path):  # noqa: F811
    run_cli(repo, PACKAGE, "data", "--scenario", "fuel-shock", "--rows", "480",
            "--out", str(tmp_path / "served.csv"))  # fmt: skip
    params = yaml.safe_load((repo / "params.yaml").read_text())
    outcomes = [params["target"], *({"units_sold", "high_demand"} - {params["target"]})]
    subprocess.run(
        [sys.executable, "-c", LOG_ROWS.format(package=PACKAGE), str(tmp_path / "served.csv"),
         str(repo / "served" / "predictions"), *outcomes],
        env=project_env(repo), check=True,
    )  # fmt: skip
    text = (repo / "params.yaml").read_text()
    (repo / "params.yaml").write_text(text.replace("  logs: null", "  logs: served/predictions"))
    git(repo, "add", "served", "params.yaml")
    git(repo, "commit", "--quiet", "-m", "where the service's logs are shipped")

    job = drift_run(repo, tmp_path / "state", 900, "")
    collected = job.step(
        "Collect the rows the service answered (when params.yaml sets serving.logs)"
    )
    assert "wrote 480 unlabelled rows" in collected.log
    assert job.step("drift").outputs["labelled"] == "false"  # no outcomes yet: drift only
    drift = json.loads((job.workspace / "reports" / "drift" / "drift.json").read_text())
    assert drift["current"]["rows"] == 480
    assert Path(drift["current"]["location"]).name == "incoming"
