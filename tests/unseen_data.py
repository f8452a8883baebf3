"""Two more real tables from pip packages, as users bring them, for the `adopt` repository tests.

| data set | rows x cols | task               | what it tries                                  |
| -------- | ----------- | ------------------ | ---------------------------------------------- |
| cars     | 406 x 9     | regression         | a date feature, a near-unique name, no target  |
|          |             |                    | in 8 rows                                      |
| wine     | 178 x 14    | classification (3) | numbers only; ranges the service must enforce  |

`cars` is also the raw material of the doubtful files (`tests/test_adopt_doubts.py`): the same
table written with thousands separators, a duplicated column, a Latin-1 name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from own_data import CLASSIFICATION, REGRESSION, packaged_file


@dataclass(frozen=True)
class Unseen:
    """A table, how a user adopts it, and rows its contract must refuse (field -> value)."""

    name: str
    frame: pd.DataFrame
    target: str
    task: str
    source: Path
    licence: str
    adopt_args: tuple[str, ...] = ()
    impossible: tuple[tuple[str, object], ...] = field(default_factory=tuple)

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.frame.to_csv(path, index=False)
        return path


def cars() -> Unseen:
    """Cars of 1970-1982 (the UCI auto-mpg table, as vega_datasets ships it): mpg from the rest."""
    from vega_datasets import local_data

    return Unseen(
        name="cars",
        frame=local_data.cars(),  # `Year` parsed as datetime64, a date feature
        target="Miles_per_Gallon",
        task=REGRESSION,
        source=packaged_file("vega_datasets", "_data", "cars.json"),
        licence="package MIT (vega_datasets); data UCI Machine Learning Repository",
        adopt_args=("--drop-missing-target",),
        impossible=(
            ("Year", 1972),  # a bare number for a date: seconds since 1970 if read at all
            ("Year", "1972"),
            ("Weight_in_lbs", -5),
            ("Origin", "Mars"),
        ),
    )


def wine() -> Unseen:
    """Three cultivars of Italian wine from 13 chemical measurements (scikit-learn's copy)."""
    from sklearn.datasets import load_wine

    return Unseen(
        name="wine",
        frame=load_wine(as_frame=True).frame,
        target="target",
        task=CLASSIFICATION,
        source=packaged_file("sklearn.datasets", "data", "wine_data.csv"),
        licence="BSD-3-Clause (scikit-learn); data UCI, CC BY 4.0",
        impossible=(("alcohol", 900), ("proline", -5)),
    )


LOADERS = {loader.__name__: loader for loader in (cars, wine)}
