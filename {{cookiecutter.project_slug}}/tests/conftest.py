"""Shared fixtures, built from the project's own params.yaml, schema.yaml and data.train.

The tests check the machinery (validation, training, the gate, serving, drift, retraining)
on a small sample of whatever data the project holds, so they stay green after `adopt`.
Bad inputs are made from the schema, never from the demo's columns. Checks of the demo data
set itself live in test_demo_*.py and carry the `demo_only` marker: they are skipped when the
project's data is not the demo's.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }} import demo
from {{ cookiecutter.package_name }}.data.contract import Contract
from {{ cookiecutter.package_name }}.data.dataset import load_records
from {{ cookiecutter.package_name }}.data.tables import write_table
from {{ cookiecutter.package_name }}.model.params import Params, load_params

PROJECT = Path(__file__).resolve().parents[1]
PARAMS = load_params(PROJECT / "params.yaml")
CONTRACT = Contract.load(PARAMS)
# Small enough to train in a second or two, large enough for a holdout with every slice.
SAMPLE_ROWS = 1440
DEMO_TARGETS = ("units_sold", "high_demand")
IS_DEMO = set(CONTRACT.schema.columns) == set(demo.COLUMNS) and PARAMS.target in DEMO_TARGETS
NOT_THE_DEMO = "the project's data is not the demo's (adopted data set)"


@pytest.fixture(autouse=True, scope="session")
def caches_of_this_session(tmp_path_factory: pytest.TempPathFactory):
    """The project's caches (validated tables, champions) in a folder of this test session,
    never the user's ~/.cache; subprocesses inherit it."""
    from {{ cookiecutter.package_name }}.caches import ENVIRONMENT_VARIABLE

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENVIRONMENT_VARIABLE, str(tmp_path_factory.mktemp("caches")))
        yield


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("demo_only") and not IS_DEMO:
        pytest.skip(NOT_THE_DEMO)


def sample_of(records: pd.DataFrame, params: Params, rows: int = SAMPLE_ROWS) -> pd.DataFrame:
    """The newest rows when there is a time column (the split keeps working), else a seeded
    random share; records come ordered by time and key from load_records."""
    if len(records) <= rows:
        return records
    if params.split.time_column:
        return records.tail(rows).reset_index(drop=True)
    return records.sample(n=rows, random_state=params.seed).sort_index(ignore_index=True)


@pytest.fixture(scope="session")
def sample_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sample of the project's training data, in its format (CSV or Parquet)."""
    records = load_records(PARAMS.train_path, CONTRACT)
    out = tmp_path_factory.mktemp("data") / f"sample{PARAMS.train_path.suffix}"
    return write_table(sample_of(records, PARAMS), out)


@pytest.fixture
def records(sample_file: Path) -> pd.DataFrame:
    """The sample as validated records (a fresh copy for each test to change)."""
    return load_records(sample_file, CONTRACT)


def write_params(directory: Path, data: Path, **changes: object) -> Path:
    """The project's params.yaml in `directory`, training on `data`, with dotted (a__b) changes.

    The schema and the incoming data stay the project's own, by absolute path.
    """
    raw = yaml.safe_load((PROJECT / "params.yaml").read_text())
    raw["data"] |= {
        "train": str(data),
        "schema": str(PARAMS.schema_path.resolve()),
        "incoming": str((PROJECT / raw["data"]["incoming"]).resolve())
        if "://" not in raw["data"]["incoming"]
        else raw["data"]["incoming"],
    }
    path = directory / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return edit_params(path, **changes)


@pytest.fixture
def params_file(tmp_path: Path, sample_file: Path) -> Path:
    """The project's params.yaml, with data.train pointing at the sample."""
    return write_params(tmp_path, sample_file)


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory: pytest.TempPathFactory, sample_file: Path) -> Path:
    """One model trained by the project's params.yaml on the sample, shared."""
    from {{ cookiecutter.package_name }}.training.train import train

    work = tmp_path_factory.mktemp("trained")
    return train(load_params(write_params(work, sample_file)), work / "model").out


def edit_params(path: Path, **changes: object) -> Path:
    """Rewrite params at `path`, setting dotted keys (model__name for model.name) to new values."""
    params = yaml.safe_load(path.read_text())
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = params
        for key in parents:
            node = node[key]
        node[leaf] = value
    path.write_text(yaml.safe_dump(params))
    return path


# ---------------------------------------------------------------- the demo's scenarios
# Only test_demo_*.py use these: sixty days of each scenario, a year apart.


@pytest.fixture(scope="session")
def baseline_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = demo.generate("baseline", rows=1440, seed=1)
    return demo.write_csv(frame, tmp_path_factory.mktemp("demo") / "baseline.csv")


@pytest.fixture(scope="session")
def shock_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = demo.generate("fuel-shock", rows=1440, seed=1)
    return demo.write_csv(frame, tmp_path_factory.mktemp("demo") / "shock.csv")


# ---------------------------------------------------------------- bad values, from the schema

BOUND_CHECKS = ("greater_than", "greater_than_or_equal_to", "less_than", "less_than_or_equal_to")


def features() -> list[str]:
    return PARAMS.features.all


def numeric_feature() -> str | None:
    """The first numeric feature whose schema dtype is a number (a string there is invalid)."""
    return next((name for name in PARAMS.features.numeric if _is_number(name)), None)


def _is_number(name: str) -> bool:
    return str(CONTRACT.schema.columns[name].dtype).startswith(("int", "float"))


def required_feature() -> str:
    """A feature the schema does not let be missing (the first non-nullable one, else any)."""
    names = features()
    return next((n for n in names if not CONTRACT.schema.columns[n].nullable), names[0])


def non_nullable_column() -> str | None:
    return next((n for n, c in CONTRACT.schema.columns.items() if not c.nullable), None)


def out_of_range(names: list[str] | None = None) -> tuple[str, object, str] | None:
    """(column, a value its range refuses, the check's readable start) for the first bounded
    column among `names` (default: the features), or None when no column is bounded."""
    for name in names or features():
        for check in CONTRACT.schema.columns[name].checks:
            statistics = check.statistics
            if check.name in BOUND_CHECKS:
                bound = next(iter(statistics.values()))
                lower = check.name.startswith("greater")
                return name, bound - 1 if lower else bound + 1, "must be"
            if check.name == "in_range":
                return name, statistics["min_value"] - 1, "in_range"
    return None


def not_allowed(names: list[str] | None = None) -> tuple[str, object] | None:
    """(column, a value outside its allowed values) for the first column with an `isin` check."""
    for name in names or features():
        for check in CONTRACT.schema.columns[name].checks:
            if check.name == "isin":
                allowed = list(check.statistics["allowed_values"])
                if all(isinstance(value, int | float) for value in allowed):
                    return name, max(allowed) + 1
                return name, "(not an allowed value)"
    return None


def require_a_model_better_than_its_baseline(
    model_dir: Path, records: pd.DataFrame, what: str
) -> None:
    """Skip unless the model at `model_dir`, trained on `records`, beats the trivial baseline
    on their holdout by more than the gate's tolerance: else `what` cannot make it worse."""
    from {{ cookiecutter.package_name }}.data.dataset import split_records
    from {{ cookiecutter.package_name }}.model.artifacts import load_model
    from {{ cookiecutter.package_name }}.model.metrics import HIGHER_IS_BETTER, score

    model = load_model(model_dir)
    split = split_records(records, CONTRACT)
    truth = model.truth_of(split.holdout)
    primary = PARAMS.gate.primary_metric
    trivial = model.baseline.predict(len(split.holdout))  # fitted on the same training rows
    found = score(PARAMS.task, truth, model.predict(split.holdout))[primary]
    baseline = score(PARAMS.task, truth, trivial)[primary]
    gain = found - baseline if HIGHER_IS_BETTER[primary] else baseline - found
    if not gain > PARAMS.gate.max_regression * abs(baseline):
        pytest.skip(
            f"the model does not beat its baseline on this data ({primary} {found:.4g} against "
            f"{baseline:.4g} for the baseline), so {what} cannot be told apart from it"
        )


def require(found: object, what: str) -> object:
    """Skip the test when the project's schema has nothing to break this way."""
    if found is None:
        pytest.skip(f"the project's schema has no {what}")
    return found
