"""params.yaml: loaded once, validated by pydantic, every error named by its key."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ProjectError
from .schemas import TARGETS, DemandRecords, ModelInput

DEFAULT_PARAMS = Path("params.yaml")
Task = Literal["regression", "classification"]
ModelName = Literal["gradient_boosting", "random_forest", "linear"]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataParams(Section):
    train: Path = Field(description="training data, relative to params.yaml")
    # a folder (its *.csv files) or one file; a URL (s3://, gs://, az://) is read with fsspec
    incoming: str = Field(min_length=1, description="recent production data")


class FeatureParams(Section):
    categorical: list[str] = Field(min_length=0)
    numeric: list[str] = Field(min_length=0)

    @property
    def all(self) -> list[str]:
        return [*self.categorical, *self.numeric]


class ModelParams(Section):
    name: ModelName
    hyperparameters: dict[str, Any] = Field(default_factory=dict)


class SplitParams(Section):
    holdout_fraction: float = Field(gt=0, lt=1)


class GateParams(Section):
    """What a pull request's model must achieve for its check to pass (see compare.py)."""

    primary_metric: str
    # relative to main's value: 0.02 lets the PR's model be up to 2% worse before the gate fails
    max_regression: float = Field(ge=0)
    max_slice_regression: float = Field(ge=0)
    # a smaller slice is reported but not gated: its interval is too wide to say anything
    min_slice_rows: int = Field(default=200, ge=0)
    # how sure (one-sided, by the bootstrap) the gate must be that a PR is worse than the
    # tolerance to fail it; past the tolerance but less sure: "needs a look"
    confidence: float = Field(default=0.67, gt=0.5, lt=1)
    # used alone when there is no champion to compare with (first PR, base that cannot train)
    absolute_max: dict[str, float]
    absolute_min: dict[str, float]

    def check_metrics(self, task: str) -> None:
        """Raise ValueError unless every metric named exists for `task`, bounded the right way."""
        from .metrics import CLASSIFICATION_METRICS, HIGHER_IS_BETTER, REGRESSION_METRICS

        known = REGRESSION_METRICS if task == "regression" else CLASSIFICATION_METRICS
        named = [self.primary_metric, *self.absolute_max, *self.absolute_min]
        unknown = [name for name in named if name not in known]
        if unknown:
            raise ValueError(f"gate: unknown metrics {unknown} for {task}; use {list(known)}")
        wrong_way = [name for name in self.absolute_max if HIGHER_IS_BETTER[name]] + [
            name for name in self.absolute_min if not HIGHER_IS_BETTER[name]
        ]
        if wrong_way:
            raise ValueError(
                f"gate: {wrong_way} bounded the wrong way (absolute_max is for metrics where "
                "lower is better, absolute_min for metrics where higher is better)"
            )


# Drift tests Evidently runs, by column type, and what their score is: a p-value (drift when
# below the threshold) or a distance (drift when at or above it).
NUMERIC_DRIFT_METHODS = {
    "wasserstein": "distance",
    "ks": "p_value",
    "psi": "distance",
    "jensenshannon": "distance",
    "kl_div": "distance",
    "hellinger": "distance",
    "ed": "distance",
    "t_test": "p_value",
    "mannw": "p_value",
    "anderson": "p_value",
    "cramer_von_mises": "p_value",
}
CATEGORICAL_DRIFT_METHODS = {
    "jensenshannon": "distance",
    "chisquare": "p_value",
    "psi": "distance",
    "kl_div": "distance",
    "hellinger": "distance",
    "g_test": "p_value",
}


class DriftTest(Section):
    method: str
    threshold: float = Field(gt=0)


class DriftParams(Section):
    """When `drift` reports drift: column tests, the share of drifted columns, performance decay."""

    share: float = Field(gt=0, le=1)
    numeric: DriftTest
    categorical: DriftTest
    columns: dict[str, DriftTest]  # per-column overrides of the test by type
    decay_metric: str
    # relative: 0.5 reports decay when the metric is 50% worse than at training time
    decay_tolerance: float = Field(ge=0)
    sample_rows: int = Field(ge=1000)  # larger tables are sampled (seeded) for the tests

    def check(self, task: str, features: FeatureParams) -> None:
        """Raise ValueError unless every method fits its column type and the metric its task."""
        from .metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS

        known = REGRESSION_METRICS if task == "regression" else CLASSIFICATION_METRICS
        if self.decay_metric not in known:
            raise ValueError(f"drift.decay_metric: use one of {list(known)} for {task}")
        unknown = [name for name in self.columns if name not in features.all]
        if unknown:
            raise ValueError(f"drift.columns: {unknown} are not features")
        tests = {"numeric": self.numeric, "categorical": self.categorical}
        tests |= {f"columns.{name}": test for name, test in self.columns.items()}
        for key, test in tests.items():
            categorical = key == "categorical" or key[len("columns.") :] in features.categorical
            methods = CATEGORICAL_DRIFT_METHODS if categorical else NUMERIC_DRIFT_METHODS
            if test.method not in methods:
                kind = "a categorical" if categorical else "a numeric"
                raise ValueError(
                    f"drift.{key}.method: for {kind} column use one of {sorted(methods)}"
                )

    def test_for(self, column: str, categorical: bool) -> DriftTest:
        return self.columns.get(column, self.categorical if categorical else self.numeric)


class RetrainParams(Section):
    """How `retrain` builds the next training snapshot from the current one and recent data."""

    # keep the rows of the newest `window_days` days (recent data included)
    window_days: int = Field(ge=1)


class Params(Section):
    task: Task
    target: str
    data: DataParams
    features: FeatureParams
    slices: list[str]
    model: ModelParams
    split: SplitParams
    seed: int = Field(ge=0, le=2**32 - 1)
    drift: DriftParams
    retrain: RetrainParams
    gate: GateParams
    # Where the file was read from; relative paths inside it are resolved against it.
    root: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _columns_exist(self) -> Params:
        inputs = set(ModelInput.to_schema().columns)
        known = set(DemandRecords.to_schema().columns)
        expected_target = "units_sold" if self.task == "regression" else "high_demand"
        if self.target != expected_target:
            raise ValueError(f"target for task {self.task} must be {expected_target!r}")
        if not self.features.all:
            raise ValueError("features: list at least one column")
        unknown = [name for name in self.features.all if name not in inputs]
        if unknown:
            raise ValueError(
                f"features: unknown columns {unknown}; model inputs are {sorted(inputs)}"
            )
        if set(self.features.all) & set(TARGETS):
            raise ValueError("features: a target column cannot be a feature")
        bad_slices = [name for name in self.slices if name not in known]
        if bad_slices:
            raise ValueError(f"slices: unknown columns {bad_slices}")
        self.drift.check(self.task, self.features)
        self.gate.check_metrics(self.task)
        return self

    @property
    def train_path(self) -> Path:
        return self.data.train if self.data.train.is_absolute() else self.root / self.data.train

    @property
    def incoming_location(self) -> str:
        """data.incoming as a URL, or as a local path resolved against params.yaml's folder."""
        location = self.data.incoming
        return location if "://" in location else str(self.root / location)


def load_params(path: str | Path = DEFAULT_PARAMS) -> Params:
    """Read and validate params; raise ProjectError naming every bad key and why."""
    path = Path(path)
    if not path.is_file():
        raise ProjectError(f"params file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ProjectError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise ProjectError(f"{path} must be a mapping of keys to values")
    try:
        return Params.model_validate({**raw, "root": path.parent})
    except ValidationError as error:
        raise ProjectError(f"{path} is invalid:\n{_describe(error)}") from error


def _describe(error: ValidationError) -> str:
    lines = []
    for detail in error.errors():
        key = ".".join(str(part) for part in detail["loc"]) or "(top level)"
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] == "extra_forbidden":
            message = "unknown key (check its spelling)"
        elif "input" in detail and detail["type"] != "missing":
            message += f" (got {detail['input']!r})"
        lines.append(f"  - {key}: {message}")
    return "\n".join(lines)
