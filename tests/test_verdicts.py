"""`make verdicts` runs end to end in its smoke size and writes its results (no rates asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import TEMPLATE


@pytest.mark.slow
def test_the_smoke_size_runs_and_writes_every_result(tmp_path):
    results = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, str(TEMPLATE / "verdicts" / "run.py")],
        env={
            **os.environ,
            "VERDICTS_SIZE": "smoke",
            "VERDICTS_WORKERS": "1",
            "VERDICTS_RESULTS": str(results),
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    gate = json.loads((results / "gate.json").read_text())
    drift = json.loads((results / "drift.json").read_text())
    assert gate["records"] and {"overall", "slices", "state"} <= set(gate["records"][0])
    assert {"ordinary", "fuel shock"} <= {record["kind"] for record in drift["records"]}
    summary = (results / "summary.md").read_text()
    assert summary.startswith("# Verdicts (smoke:")
    assert "| PRs truly worse than tolerance + 1 point fail |" in summary


@pytest.mark.slow
def test_the_real_data_verdicts_run_on_one_data_set_and_write_their_table(tmp_path):
    results = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, str(TEMPLATE / "verdicts" / "real_data.py"), "diabetes"],
        env={**os.environ, "VERDICTS_REPLICATES": "1", "VERDICTS_RESULTS": str(results)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads((results / "real.json").read_text())["data_sets"]["diabetes"]
    assert found["no_change_passes"] is True  # the same model against itself
    assert found["baseline"].startswith("the training median")
    assert found["nothing_material"]["of"] == 1
    assert "| diabetes | 442 | mae |" in (results / "real.md").read_text()


@pytest.mark.slow
def test_the_batch_size_verdicts_run_on_one_data_set_and_write_their_table(tmp_path):
    results = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, str(TEMPLATE / "verdicts" / "batch_size.py"), "wage"],
        env={**os.environ, "VERDICTS_BATCHES": "2", "VERDICTS_RESULTS": str(results)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads((results / "batch_size.json").read_text())["wage"]
    assert found["window_rows"] and found["columns"] >= 1
    sizes = found["sizes"]
    assert sizes[str(found["window_rows"])]["raised_by"] == 1.0  # the calibrated size itself
    assert sizes["100"]["raised_by"] > 1 and sizes["100"]["of"] == 2
    assert "| wage | " in (results / "batch_size.md").read_text()


@pytest.mark.slow
def test_the_default_model_beats_its_baseline_on_every_real_data_set(tmp_path):
    """verdicts/baseline_check.py: on the holdout, and on later data where there is a time."""
    import own_data

    results = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, str(TEMPLATE / "verdicts" / "baseline_check.py")],
        env={**os.environ, "VERDICTS_RESULTS": str(results)},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    records = json.loads((results / "baseline.json").read_text())
    losing = [record for record in records if not record["beats_baseline"]]
    assert done.returncode == 0 and losing == [], done.stdout[-3000:] + done.stderr[-3000:]
    assert {record["data_set"] for record in records} == set(own_data.NAMES)
    timed = {name for name in own_data.NAMES if own_data.load(name).time_column}
    later = {r["data_set"] for r in records if r["scored_on"].startswith("later")}
    assert later == timed
