"""The seed story, through a baked project's command line: fuel prices jump, drift is found,
retraining on recent data gives a model that beats the old one on the newest days."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import bake, project_env, run_cli

PACKAGE = "demand_forecast"


def evaluate(project: Path, model: str, data: Path) -> dict[str, float]:
    out = project / "reports" / f"{model}.json"
    run_cli(
        project,
        PACKAGE,
        "evaluate",
        "--model",
        f"models/{model}",
        "--data",
        str(data),
        "--json",
        str(out),
    )
    return json.loads(out.read_text())["overall"]


def rows_from(source: Path, first_day: str, target: Path) -> Path:
    """The rows of `source` dated `first_day` or later (ISO dates compare as text)."""
    with source.open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = [row for row in reader if row["date"] >= first_day]
        fields = reader.fieldnames
    with target.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return target


@pytest.mark.slow
def test_a_fuel_shock_is_found_and_retraining_repairs_the_model(cookies, tmp_path):
    project = bake(cookies)
    run_cli(project, PACKAGE, "train", "--out", "models/champion")
    run_cli(
        project,
        PACKAGE,
        "data",
        "--scenario",
        "fuel-shock",
        "--rows",
        "2160",
        "--seed",
        "0",
        "--out",
        "data/incoming/fuel-shock.csv",
    )
    output = tmp_path / "github_output"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            PACKAGE,
            "drift",
            "--model",
            "models/champion",
            "--out",
            "reports/drift",
        ],
        cwd=project,
        env={**project_env(project), "GITHUB_OUTPUT": str(output)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr

    found = json.loads((project / "reports/drift/drift.json").read_text())
    assert output.read_text() == "drift=true\nlabelled=true\n"
    assert done.stdout.startswith("**Drift: yes**")
    assert found["drifted_columns"] == ["fuel_price"]
    assert found["performance"]["decayed"] is True
    assert (project / "reports/drift/report.html").stat().st_size > 100_000

    run_cli(project, PACKAGE, "retrain", "--drift", "reports/drift")
    why = json.loads((project / "data/retrain.json").read_text())
    assert why["why"]["drifted_columns"] == ["fuel_price"]
    assert why["snapshot"]["rows_from_recent"] == 2160
    run_cli(project, PACKAGE, "train", "--out", "models/challenger")

    # the recent holdout: the newest days of the new snapshot, which neither model trained on
    run = json.loads((project / "models/challenger/run.json").read_text())
    holdout = rows_from(
        project / "data/train.csv", run["data"]["holdout_from"], tmp_path / "holdout.csv"
    )
    champion, challenger = (evaluate(project, name, holdout) for name in ("champion", "challenger"))
    assert challenger["wape"] < 0.5 * champion["wape"], (champion, challenger)

    # with the shock in the training data, the same recent data is no longer drift
    run_cli(project, PACKAGE, "drift", "--model", "models/challenger", "--out", "reports/after")
    after = json.loads((project / "reports/after/drift.json").read_text())
    assert after["drift"] is False, after["reasons"]
