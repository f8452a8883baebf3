"""The data contract: schema.yaml (column types and checks) read with the column roles of params."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandera.pandas as pa
from pydantic import ValidationError

from ..errors import ProjectError
from ..model.artifacts import TrainedModel
from ..model.params import Params


def load_schema(path: str | Path) -> pa.DataFrameSchema:
    """Read a Pandera YAML schema; raise ProjectError saying why it cannot be used."""
    path = Path(path)
    if not path.is_file():
        raise ProjectError(f"schema file not found: {path} (params.yaml data.schema)")
    return parse_schema(path.read_text(encoding="utf-8"), source=str(path))


def parse_schema(text: str, source: str = "schema") -> pa.DataFrameSchema:
    """A schema from its YAML text, with every column coerced (files arrive as text)."""
    try:
        schema = pa.DataFrameSchema.from_yaml(text)
    except Exception as error:  # pandera raises yaml, key and type errors alike for bad files
        raise ProjectError(f"{source} is not a valid Pandera YAML schema: {error}") from error
    if not schema.columns:
        raise ProjectError(f"{source} lists no columns")
    # The index is the row number of a file, never part of the contract.
    return pa.DataFrameSchema(schema.columns, coerce=True, strict=False, unique=schema.unique)


@dataclass(frozen=True)
class Contract:
    """The schemas every stage validates with, derived from one schema and the params' roles."""

    params: Params
    schema: pa.DataFrameSchema

    @classmethod
    def load(cls, params: Params) -> Contract:
        contract = cls(params, load_schema(params.schema_path))
        contract.check_roles()
        return contract

    @classmethod
    def from_run(cls, params: Params, schema_yaml: str) -> Contract:
        """The contract a trained model was trained under (its run record keeps the schema)."""
        return cls(params, parse_schema(schema_yaml, source="the model's schema"))

    @classmethod
    def of_model(cls, model: TrainedModel) -> Contract:
        """The contract `model` was trained under, from its run record."""
        try:
            params = Params.model_validate(model.run["params"])
        except ValidationError as error:
            raise ProjectError(f"the model's run.json has invalid params:\n{error}") from error
        if "schema" not in model.run:
            raise ProjectError("the model was trained before schemas were recorded: retrain it")
        return cls.from_run(params, model.run["schema"])

    def check_roles(self) -> None:
        """Raise ProjectError unless every column params.yaml names is in the schema."""
        known = set(self.schema.columns)
        named = {
            "target": [self.params.target],
            "features": self.params.features.all,
            "key": self.params.key,
            "slices": self.params.slices,
            "split.time_column": [self.params.split.time_column] if self.time_column else [],
            "split.group_by": self.params.split.group_by,
        }
        problems = [
            f"  - {role}: {sorted(set(columns) - known)} not in the schema"
            for role, columns in named.items()
            if set(columns) - known
        ]
        if problems:
            listed = ", ".join(sorted(known))
            raise ProjectError(
                "params.yaml names columns that the schema does not have:\n"
                + "\n".join(problems)
                + f"\n  the schema's columns are: {listed}"
            )

    @property
    def time_column(self) -> str | None:
        return self.params.split.time_column

    @cached_property
    def records(self) -> pa.DataFrameSchema:
        """Labelled training rows: every column, and no two rows with the same key."""
        return self._with(list(self.schema.columns), unique=self.params.key or None)

    @cached_property
    def inputs(self) -> pa.DataFrameSchema:
        """One row the model predicts from: the feature columns only."""
        return self._with(self.params.features.all)

    @cached_property
    def unlabelled(self) -> pa.DataFrameSchema:
        """Recent rows without the target: inputs, plus the time and key columns when named."""
        extra = [self.time_column] if self.time_column else []
        extra += [name for name in self.params.key if name not in extra]
        return self._with([*self.params.features.all, *extra])

    def _with(self, names: list[str], unique: list[str] | None = None) -> pa.DataFrameSchema:
        columns = {name: self.schema.columns[name] for name in dict.fromkeys(names)}
        return pa.DataFrameSchema(columns, coerce=True, strict=False, unique=unique)

    def is_labelled(self, columns: list[str]) -> bool:
        return self.params.target in columns
