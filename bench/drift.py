"""Drift check cost at scale against a bare SciPy per-column two-sample test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from common import cli, project_env, run

FLOOR = """
import sys, pandas as pd
from scipy import stats
reference, current = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2])
for column in ["price", "promotion", "temperature", "fuel_price"]:
    stats.ks_2samp(reference[column], current[column])
for column in ["store", "category"]:
    table = pd.crosstab(
        pd.concat([reference[column], current[column]]),
        [0] * len(reference) + [1] * len(current),
    )
    stats.chi2_contingency(table)
"""
IMPORT_EVIDENTLY = (
    "import time; t = time.perf_counter(); import evidently.presets; print(time.perf_counter() - t)"
)


def measure(project: Path, rows: int) -> dict[str, object]:
    reference, current = f"bench-data/ref-{rows}.csv", f"bench-data/cur-{rows}.csv"
    cli(project, "data", "--rows", str(rows), "--seed", "1", "--out", reference)
    cli(
        project,
        "data",
        "--scenario",
        "fuel-shock",
        "--rows",
        str(rows),
        "--seed",
        "2",
        "--out",
        current,
    )
    checked = cli(
        project,
        "drift",
        "--reference",
        reference,
        "--current",
        current,
        "--out",
        f"reports/drift-{rows}",
    )
    floor = run([sys.executable, "-c", FLOOR, reference, current], project)
    imports = subprocess.run(
        [sys.executable, "-c", IMPORT_EVIDENTLY],
        cwd=project,
        env=project_env(project),
        capture_output=True,
        text=True,
        check=True,
    )
    timings = json.loads((project / f"reports/drift-{rows}/drift.json").read_text()).get(
        "timings_seconds", {}
    )
    evidently = timings.get("evidently")
    return {
        "rows": rows,
        "seconds": round(checked.seconds, 2),
        "evidently_seconds": evidently,
        "evidently_share": round(evidently / checked.seconds, 2) if evidently else None,
        "floor_seconds": round(floor.seconds, 2),
        "time_ratio": round(checked.seconds / floor.seconds, 2),
        "evidently_import_seconds": round(float(imports.stdout), 2),
        "peak_rss_mb": round(checked.peak_rss_mb, 1),
    }
