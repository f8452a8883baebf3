"""Real tabular data sets that ship inside pip packages, for the "your own data" tests.

Each loader reads a file installed with a package (nothing is downloaded, at test time or
ever) and returns a `DataSet`: the table, and what a test must know to hand it to `adopt`
and check what the baked project then does with it: the target and task, the time column,
the key and slices, a column to shift for the drift check, and a hyper-parameter to change
for the pull-request comparison.

| data set        | rows x cols | task               | what it tries                              |
| --------------- | ----------- | ------------------ | ------------------------------------------ |
| diabetes        | 442 x 11    | regression         | numbers only, no time column, a slice      |
| penguins        | 344 x 8     | classification (3) | string categories, missing values, a slice |
| breast_cancer   | 569 x 31    | classification (2) | Parquet, a 0/1 target, names with spaces   |
| seattle_weather | 1461 x 6    | classification (5) | a date: time split, key, rare classes      |
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REGRESSION, CLASSIFICATION = "regression", "classification"


@dataclass(frozen=True)
class Shift:
    """How the drift test moves one numeric column: times `factor`, with a little noise.

    The noise is multiplicative (a relative standard deviation), so a column that is never
    negative stays so, and a missing value stays missing.
    """

    column: str
    factor: float = 1.5
    noise: float = 0.02

    def apply(self, frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
        """A copy of `frame` with `column` shifted; every other column as it was."""
        shifted = frame.copy()
        jitter = np.random.default_rng(seed).normal(1.0, self.noise, size=len(frame))
        shifted[self.column] = frame[self.column] * self.factor * jitter
        return shifted


@dataclass(frozen=True)
class DataSet:
    """A table a user might bring, and the answers they would give `adopt` about it."""

    name: str
    frame: pd.DataFrame
    target: str
    task: str
    source: Path  # the file inside an installed package that the table was read from
    licence: str
    shift: Shift
    tweak: tuple[str, object]  # a dotted params.yaml key and the value a PR changes it to
    file_format: str = "csv"  # or "parquet"
    time_column: str | None = None
    key: tuple[str, ...] = ()
    slices: tuple[str, ...] = ()

    @property
    def file_name(self) -> str:
        return f"{self.name}.{self.file_format}"

    @property
    def inputs(self) -> list[str]:
        """Every column but the target: what a client may send for one row."""
        return [column for column in self.frame.columns if column != self.target]

    @property
    def classes(self) -> set[str]:
        """The target's classes as text (how JSON keys and CSV cells compare)."""
        return {str(value) for value in self.frame[self.target].dropna().unique()}

    def write(self, path: Path, frame: pd.DataFrame | None = None) -> Path:
        """Write `frame` (default: the whole table) as this data set's file format."""
        frame = self.frame if frame is None else frame
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.file_format == "parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
        return path

    def adopt_args(self) -> list[str]:
        """`adopt`'s options for this table, as a user would type them after the path."""
        args = ["--target", self.target, "--task", self.task]
        if self.time_column:
            args += ["--time-column", self.time_column]
        for flag, columns in (("--key", self.key), ("--slices", self.slices)):
            if columns:
                args += [flag, *columns]
        return args

    def request_rows(self) -> pd.DataFrame:
        """Two complete rows without the target; for classification, of two different classes."""
        complete = self.frame.dropna()
        first = complete.iloc[0]
        others = complete.iloc[1:]
        if self.task == CLASSIFICATION:
            others = others[others[self.target] != first[self.target]]
        return complete.loc[[complete.index[0], others.index[0]], self.inputs]


def packaged_file(package: str, *parts: str) -> Path:
    """The path of a data file installed with `package`; fails if the package lacks it."""
    path = Path(str(importlib.resources.files(package).joinpath(*parts)))
    if not path.is_file():
        raise FileNotFoundError(f"{package} does not ship {'/'.join(parts)}")
    return path


def diabetes() -> DataSet:
    """Disease progression a year on from ten baseline measurements (Efron et al., 2004)."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame  # sex is coded 1 and 2
    return DataSet(
        name="diabetes",
        frame=frame,
        target="target",
        task=REGRESSION,
        source=packaged_file("sklearn.datasets", "data", "diabetes_data_raw.csv.gz"),
        licence="BSD-3-Clause (scikit-learn)",
        shift=Shift("bmi"),
        tweak=("model.hyperparameters.max_iter", 50),
        slices=("sex",),
    )


def penguins() -> DataSet:
    """Three penguin species of the Palmer Archipelago: strings and missing values."""
    from palmerpenguins import load_penguins

    return DataSet(
        name="penguins",
        frame=load_penguins(),
        target="species",
        task=CLASSIFICATION,
        source=packaged_file("palmerpenguins", "data", "penguins.csv"),
        licence="data CC0-1.0 (Palmer Station LTER); package MIT",
        shift=Shift("bill_length_mm"),
        tweak=("model.hyperparameters.learning_rate", 0.05),
        slices=("island",),
    )


def breast_cancer() -> DataSet:
    """Malignant (0) or benign (1) from 30 measurements of cell nuclei; given as Parquet."""
    from sklearn.datasets import load_breast_cancer

    return DataSet(
        name="breast_cancer",
        frame=load_breast_cancer(as_frame=True).frame,
        target="target",
        task=CLASSIFICATION,
        source=packaged_file("sklearn.datasets", "data", "breast_cancer.csv"),
        licence="BSD-3-Clause (scikit-learn); data from the UCI repository, CC BY 4.0",
        shift=Shift("mean radius"),
        tweak=("model.hyperparameters.max_leaf_nodes", 15),
        file_format="parquet",
    )


def seattle_weather() -> DataSet:
    """Seattle's daily weather 2012-2015 (NOAA): the kind of day from its measurements."""
    from vega_datasets import local_data

    return DataSet(
        name="seattle_weather",
        frame=local_data.seattle_weather(),  # `date` parsed as datetime64
        target="weather",
        task=CLASSIFICATION,
        source=packaged_file("vega_datasets", "_data", "seattle-weather.csv"),
        licence="package MIT (vega_datasets); data NOAA, public domain",
        # wind x1.5 moves it by about 1.1 standard deviations, within what ordinary months of
        # seasonal weather score against the years (calibrated thresholds let those pass)
        shift=Shift("wind", factor=2.0),
        tweak=("model.hyperparameters.max_iter", 100),
        time_column="date",
        key=("date",),
    )


LOADERS: dict[str, Callable[[], DataSet]] = {
    loader.__name__: loader for loader in (diabetes, penguins, breast_cancer, seattle_weather)
}
NAMES = list(LOADERS)


def load(name: str) -> DataSet:
    """The data set called `name`, read afresh from its package."""
    return LOADERS[name]()
