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


class Params(Section):
    task: Task
    target: str
    data: DataParams
    features: FeatureParams
    slices: list[str]
    model: ModelParams
    split: SplitParams
    seed: int = Field(ge=0, le=2**32 - 1)
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
        return self

    @property
    def train_path(self) -> Path:
        return self.data.train if self.data.train.is_absolute() else self.root / self.data.train


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
