"""Drift thresholds from ordinary periods: what ordinary months of other years score per column.

`python verdicts/calibrate.py` bakes the default project and prints, for each numeric feature,
the quantiles of Evidently's normed Wasserstein distance (the distance between the reference
year and a month, divided by the reference's standard deviation) over 720 ordinary months:
twelve months of sixty other baseline years (seeds 100-159, disjoint from the suite's), and the
smallest score of a fuel shock. The thresholds in params.yaml sit above the maximum.
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
        use_project(bake(Path(temporary)))
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
    table = pd.DataFrame(scores)[COLUMNS].quantile([0.5, 0.9, 0.95, 0.99, 1.0])
    print(f"normed Wasserstein of {len(scores)} ordinary months against the reference year:")
    print(table.round(3).to_string())
    print(f"smallest fuel-shock month on fuel_price: {min(shocks):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
