"""params.yaml: loaded once, validated by pydantic, every error named by its key."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ProjectError

DEFAULT_PARAMS = Path("params.yaml")
Task = Literal["regression", "classification"]
ModelName = Literal["gradient_boosting", "random_forest", "linear"]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataParams(Section):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    train: Path = Field(description="training data (CSV or Parquet), relative to params.yaml")
    # `schema` in the file; the attribute is renamed because pydantic models own `.schema`
    schema_file: Path = Field(
        default=Path("schema.yaml"), alias="schema", description="the data contract"
    )
    # a folder (its *.csv files) or one file; a URL (s3://, gs://, az://) is read with fsspec
    incoming: str = Field(min_length=1, description="recent production data")


class FeatureParams(Section):
    # strings, booleans and integer codes; values unseen in training are allowed when serving
    categorical: list[str] = Field(default_factory=list)
    numeric: list[str] = Field(default_factory=list)
    # dates the model reads as inputs (not the split's time column): year, month, weekday, ...
    datetime: list[str] = Field(default_factory=list)

    @property
    def all(self) -> list[str]:
        return [*self.categorical, *self.numeric, *self.datetime]


class ModelParams(Section):
    name: ModelName
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    # regression only: log1p fits log(1 + y), for counts that vary multiplicatively (never < 0)
    target_transform: Literal["none", "log1p"] = "none"


class SplitParams(Section):
    holdout_fraction: float = Field(gt=0, lt=1)
    # with a time column the newest rows are held out; without, a seeded random split
    # (stratified for classification) in which rows sharing the `group_by` values stay together
    time_column: str | None = None
    group_by: list[str] = Field(default_factory=list)


class RegressionEvidence(Section):
    """How far refits of the model that differ in nothing material moved the primary metric:
    the standard deviation of the relative difference between two refits, and its maximum."""

    refits: int = Field(ge=2)
    spread: float = Field(ge=0)
    max: float = Field(ge=0)


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
    # a holdout of fewer rows is too small to tell: the gate judges both models refitted on
    # repeated splits of the same data (review/repeated_splits.py), or, when the data changed,
    # fails a change only when its 95% interval is past the tolerance (97.5% sure)
    min_rows: int = Field(default=200, ge=0)
    # the model must beat the trivial baseline (training mean, median or class frequencies),
    # `baseline_confidence` sure, with or without a model on main; false for data where nothing
    # beats it (the comment then says so). Stricter than `confidence`: a useless model's "how
    # sure" is uniform, so at 67% a third of them would pass (the template's docs/verdicts.md)
    beat_baseline: bool = True
    baseline_confidence: float = Field(default=0.95, gt=0.5, lt=1)
    # how `max_regression` was calibrated (gate_tolerance.py): refits that differ in nothing
    # material and how far they moved; `retrain` recalibrates a tolerance that carries it, and
    # a tolerance without it was set by a person
    regression_evidence: RegressionEvidence | None = None
    # optional bounds, checked when there is no champion to compare with (first PR, a base
    # that cannot train), e.g. {mae: 10.0}
    absolute_max: dict[str, float] = Field(default_factory=dict)
    absolute_min: dict[str, float] = Field(default_factory=dict)

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


class Evidence(Section):
    """What ordinary windows of the training data scored, written by the calibration; for a
    drift threshold also the rows of a window and of the rest it was scored against (medians)."""

    windows: int = Field(ge=1)
    max: float
    q90: float
    rows: int | None = Field(default=None, ge=1)
    reference_rows: int | None = Field(default=None, ge=1)


class DriftTest(Section):
    method: str
    threshold: float = Field(gt=0)
    evidence: Evidence | None = None  # set by `adopt` and `retrain` (calibration.py)


class DriftParams(Section):
    """When `drift` reports drift: column tests, the share of drifted columns, performance decay."""

    share: float = Field(gt=0, le=1)
    # what the check will see, which calibration scores past windows of: month, week, N days
    # (with split.time_column: calibration says so otherwise), or N rows (a batch); none: a
    # month with a time column, else a batch the size of the holdout
    window: str | None = Field(default=None, pattern=r"^(month|week|[1-9]\d* (days|rows))$")
    numeric: DriftTest
    categorical: DriftTest
    columns: dict[str, DriftTest]  # per-column overrides of the test by type
    decay_metric: str
    # relative: 0.5 reports decay when the metric is 50% worse than at training time
    decay_tolerance: float = Field(ge=0)
    decay_evidence: Evidence | None = None  # how much the metric moved between ordinary windows
    # one month of labels measures decay roughly: with drifted data, retrain unless the
    # bootstrap is this sure (one-sided) that the decay is within the tolerance
    decay_confidence: float = Field(default=0.9, gt=0.5, lt=1)
    sample_rows: int = Field(ge=1000)  # larger tables are sampled (seeded) for the tests

    def check(self, task: str, features: FeatureParams) -> None:
        """Raise ValueError unless every method fits its column type and the metric its task."""
        from .metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS

        known = REGRESSION_METRICS if task == "regression" else CLASSIFICATION_METRICS
        if self.decay_metric not in known:
            raise ValueError(f"drift.decay_metric: use one of {list(known)} for {task}")
        tested = [*features.categorical, *features.numeric]
        unknown = [name for name in self.columns if name not in tested]
        if unknown:
            raise ValueError(f"drift.columns: {unknown} are not categorical or numeric features")
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

    # with a time column: keep the rows of the newest `window_days` days (recent data included);
    # without one every row is kept, and a recent row replaces an older one with the same key
    window_days: int = Field(default=365, ge=1)


class ServingParams(Section):
    """Where the service logs what it answers, and where `collect` finds those logs later."""

    # written by the service: relative to the directory `bentoml serve` runs in; the
    # PREDICTION_LOG_DIR environment variable overrides it (deploy/ sets the pod's log volume)
    log_dir: str = Field(default="logs/predictions", min_length=1)
    # read by the drift workflow's `collect`: where the logs are shipped (a folder or a URL such
    # as s3://bucket/predictions/), and a file of outcomes that arrived since; none: no collect
    logs: str | None = None
    outcomes: str | None = None


class Params(Section):
    # One line on what the model is for: `--help`, the service's OpenAPI document, the README
    description: str = ""
    task: Task
    target: str
    data: DataParams
    features: FeatureParams
    key: list[str] = Field(default_factory=list)
    slices: list[str] = Field(default_factory=list)
    model: ModelParams
    split: SplitParams
    seed: int = Field(ge=0, le=2**32 - 1)
    drift: DriftParams
    retrain: RetrainParams
    gate: GateParams
    serving: ServingParams = Field(default_factory=ServingParams)
    # Where the file was read from; relative paths inside it are resolved against it.
    root: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _roles_are_consistent(self) -> Params:
        """Roles that cannot go together; that each column exists is checked by the contract."""
        features = self.features.all
        if not features:
            raise ValueError("features: list at least one column")
        repeated = sorted({name for name in features if features.count(name) > 1})
        if repeated:
            raise ValueError(f"features: {repeated} listed more than once")
        if self.target in features:
            raise ValueError(f"features: the target {self.target!r} cannot be a feature")
        if self.split.time_column in features:
            raise ValueError(f"split.time_column {self.split.time_column!r} cannot be a feature")
        if self.target in self.key:
            raise ValueError(f"key: the target {self.target!r} cannot identify a row")
        if self.task != "regression" and self.model.target_transform != "none":
            raise ValueError("model.target_transform: only regression targets are transformed")
        self.drift.check(self.task, self.features)
        self.gate.check_metrics(self.task)
        return self

    @property
    def schema_path(self) -> Path:
        schema = self.data.schema_file
        return schema if schema.is_absolute() else self.root / schema

    @property
    def train_path(self) -> Path:
        return self.data.train if self.data.train.is_absolute() else self.root / self.data.train

    @property
    def incoming_location(self) -> str:
        """data.incoming as a URL, or as a local path resolved against params.yaml's folder."""
        location = self.data.incoming
        return location if "://" in location else str(self.root / location)


def read_mapping(path: Path) -> dict:
    """The YAML mapping in `path`, not yet validated; ProjectError when there is none."""
    if not path.is_file():
        raise ProjectError(f"params file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ProjectError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise ProjectError(f"{path} must be a mapping of keys to values")
    return raw


def load_params(path: str | Path = DEFAULT_PARAMS) -> Params:
    """Read and validate params; raise ProjectError naming every bad key and why."""
    path = Path(path)
    raw = read_mapping(path)
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
        elif detail["type"] != "missing" and _is_value(detail.get("input")):
            message += f" (got {detail['input']!r})"
        lines.append(f"  - {key}: {message}")
    return "\n".join(lines)


def _is_value(given: object) -> bool:
    """A single value worth quoting; a model validator's input is a whole section, or all of it."""
    return given is not None and not isinstance(given, dict | list) and len(repr(given)) <= 80
