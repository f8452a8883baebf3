"""Drift thresholds from ordinary periods: what ordinary months of other years score per column.

`python verdicts/calibrate.py` bakes the default project and prints, for each numeric feature,
the quantiles of Evidently's normed Wasserstein distance (the distance between the reference
year and a month, divided by the reference's standard deviation) over 720 ordinary months:
twelve months of sixty other baseline years (seeds 100-159, disjoint from the suite's), and the
smallest score of a fuel shock. The thresholds in params.yaml sit above the maximum.

It also prints what the project's own calibration (calibration.py, which `adopt` and `retrain`
run) would set from the reference year alone, and how many of the 720 months would pass it: one
year's months against the rest of that year cannot show how far another year wanders.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import wasserstein_distance

sys.path.insert(0, str(Path(__file__).parent))

from common import bake, package, use_project

COLUMNS = ["fuel_price", "temperature", "price", "promotion"]
SEEDS = range(100, 160)


def normed_wasserstein(reference: pd.Series, current: pd.Series) -> float:
    return wasserstein_distance(reference, current) / np.std(reference)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="calibrate-") as temporary:
        project = bake(Path(temporary))
        use_project(project)
        data = package("demo")
        reference = data.generate("baseline", 8760, seed=0)
        scores = []
        for seed in SEEDS:
            year = data.generate("baseline", 366 * 24, seed=seed, start="2025-01-01")
            for month in range(1, 13):
                current = year[year["date"].dt.month == month]
                scores.append({c: normed_wasserstein(reference[c], current[c]) for c in COLUMNS})
        shocks = [
            normed_wasserstein(
                reference["fuel_price"],
                data.generate("fuel-shock", 31 * 24, seed=seed, start=f"2025-{month:02d}-01")[
                    "fuel_price"
                ],
            )
            for seed in SEEDS[:10]
            for month in (1, 4, 7, 10)
        ]
        calibration = package("monitor.calibration").calibrate(
            package("model.params").load_params(project / "params.yaml"),
            reference,
            columns=COLUMNS,
            decay=False,
        )
    table = pd.DataFrame(scores)[COLUMNS].quantile([0.5, 0.9, 0.95, 0.99, 1.0])
    print(f"normed Wasserstein of {len(scores)} ordinary months against the reference year:")
    print(table.round(3).to_string())
    print(f"smallest fuel-shock month on fuel_price: {min(shocks):.2f}")
    frame = pd.DataFrame(scores)
    calibrated = {name: threshold for name, (_, threshold, _) in calibration.thresholds.items()}
    alarms = (frame[list(calibrated)] >= pd.Series(calibrated)).any(axis=1).mean()
    print(f"calibrated on the reference year alone: {calibrated}; {alarms:.1%} of the months alarm")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
