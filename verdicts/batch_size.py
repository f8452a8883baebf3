"""Drift alarms on recent tables smaller than the calibrated window, before and after the size
allowance (calibration.size_factor): how often a batch of the same world alarms, and how often a
column moved by one standard deviation is still caught.

For each untimed data set of the corpus (tests/own_data.py), a seeded 80% of the rows is adopted
as a user would (`adopt` calibrates thresholds on batches of the holdout's size against the
rest); batches of the other 20%, never seen by the calibration, are then scored against the
adopted table with the drift check's own statistics. A batch alarms when the share of its
drifted columns reaches `drift.share`, as the drift check decides. "Moved": the batch with its
first calibrated numeric column moved by one (or half a) standard deviation; caught when that
column drifts. `python verdicts/batch_size.py [NAME ...]` writes results/batch_size.json and .md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from common import RESULTS, bake, package, use_project, write_json  # noqa: E402

import own_data  # noqa: E402  (tests/own_data.py: the corpus)

NAMES = ("diamonds", "credit_default", "taxi_tips", "wage")
SIZES = (100, 300, 1000, 3000)
BATCHES = int(os.environ.get("VERDICTS_BATCHES", 20))  # per size
MAX_ROWS = 60_000


def main(names: list[str]) -> int:
    results = {}
    with tempfile.TemporaryDirectory(prefix="verdicts-batch-") as work:
        project = bake(Path(work) / "bake")
        use_project(project)
        for name in names or NAMES:
            results[name] = measure(own_data.load(name), Path(work) / name, project)
            print(name, results[name], flush=True)
    write_json(RESULTS / "batch_size.json", results)
    text = markdown(results)
    (RESULTS / "batch_size.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


def measure(data, folder: Path, template_project: Path) -> dict:
    frame = data.frame
    if len(frame) > MAX_ROWS:
        frame = frame.sample(n=MAX_ROWS, random_state=0)
    unseen_mask = np.random.default_rng(0).random(len(frame)) < 0.2
    adopted, unseen = frame[~unseen_mask], frame[unseen_mask]
    folder.mkdir(parents=True)
    source = data.write(folder / data.file_name, adopted)
    project = folder / "project"
    shutil.copytree(template_project, project)
    subprocess.run(
        [sys.executable, "-m", "demand_forecast", "adopt", str(source), *data.adopt_args()],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project / "src")},
        check=True,
        capture_output=True,
    )
    params = package("model.params").load_params(project / "params.yaml")
    calibration = package("monitor.calibration")
    contract = package("data.contract").Contract.load(params)
    records = package("data.dataset").load_records(params.train_path, contract)
    limit = params.drift.sample_rows
    reference = (
        records.sample(n=limit, random_state=params.seed) if len(records) > limit else records
    )
    columns = {
        name: test
        for name, test in params.drift.columns.items()
        if test.evidence is not None and test.evidence.rows is not None
    }
    numeric = next((n for n in columns if n in params.features.numeric), None)
    window_rows = next(iter(columns.values())).evidence.rows if columns else None
    found = {"rows": len(frame), "window_rows": window_rows, "sizes": {}}
    for size in [s for s in (*SIZES, window_rows) if s and s <= len(unseen)]:
        counts = dict.fromkeys(
            ("alarm_before", "alarm_after", "caught_before", "caught_after", "half_before"), 0
        ) | {"half_after": 0}
        for batch_seed in range(BATCHES):
            batch = unseen.sample(n=size, random_state=batch_seed)
            before = drifted(calibration, params, columns, reference, batch, raise_=False)
            after = drifted(calibration, params, columns, reference, batch, raise_=True)
            share = params.drift.share * len(columns)
            counts["alarm_before"] += len(before) >= share
            counts["alarm_after"] += len(after) >= share
            for sds, key in ((1.0, "caught"), (0.5, "half")):
                if numeric is None:
                    continue
                moved = batch.assign(**{numeric: batch[numeric] + sds * records[numeric].std()})
                only = {numeric: columns[numeric]}
                counts[f"{key}_before"] += bool(
                    drifted(calibration, params, only, reference, moved, raise_=False)
                )
                counts[f"{key}_after"] += bool(
                    drifted(calibration, params, only, reference, moved, raise_=True)
                )
        found["sizes"][size] = counts | {
            "of": BATCHES,
            "raised_by": round(
                calibration.size_factor(
                    next(iter(columns.values())).evidence, size, len(reference)
                ),
                2,
            )
            if columns
            else 1.0,
        }
    found["moved_column"] = numeric
    found["columns"] = len(columns)
    return found


def drifted(calibration, params, columns: dict, reference, batch, raise_: bool) -> list[str]:
    """The columns whose score passes their threshold (raised for the batch's size, or not)."""
    out = []
    for name, test in columns.items():
        categorical = name in params.features.categorical
        score = calibration.column_score(test.method, categorical, reference[name], batch[name])
        factor = calibration.size_factor(test.evidence, len(batch), len(reference)) if raise_ else 1
        if score >= test.threshold * factor:
            out.append(name)
    return out


def markdown(results: dict) -> str:
    lines = [
        "| data set | calibrated window | batch rows | raised by | same world alarms, before "
        "| after | 1 sd moved caught, before | after | 0.5 sd, before | after |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, found in results.items():
        for size, c in found["sizes"].items():
            lines.append(
                f"| {name} | {found['window_rows']} | {size} | {c['raised_by']} | "
                f"{c['alarm_before']}/{c['of']} | {c['alarm_after']}/{c['of']} | "
                f"{c['caught_before']}/{c['of']} | {c['caught_after']}/{c['of']} | "
                f"{c['half_before']}/{c['of']} | {c['half_after']}/{c['of']} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
