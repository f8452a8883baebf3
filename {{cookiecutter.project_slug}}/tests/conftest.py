"""Shared fixtures: small demo data sets and a params file pointing at them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }}.data import generate, write_csv

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def baseline_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sixty days of baseline data: small enough to train in a second."""
    return write_csv(
        generate("baseline", rows=1440, seed=1), tmp_path_factory.mktemp("data") / "baseline.csv"
    )


@pytest.fixture(scope="session")
def shock_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_csv(
        generate("fuel-shock", rows=1440, seed=1), tmp_path_factory.mktemp("data") / "shock.csv"
    )


@pytest.fixture
def params_file(tmp_path: Path, baseline_csv: Path) -> Path:
    """The project's params.yaml, with data.train pointing at the small baseline set."""
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    params["data"]["train"] = str(baseline_csv)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory: pytest.TempPathFactory, baseline_csv: Path) -> Path:
    """One model trained by the project's params.yaml on the small baseline set, shared."""
    from {{ cookiecutter.package_name }}.params import load_params
    from {{ cookiecutter.package_name }}.train import train

    work = tmp_path_factory.mktemp("trained")
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    params["data"]["train"] = str(baseline_csv)
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    return train(load_params(work / "params.yaml"), work / "model").out


def edit_params(path: Path, **changes: object) -> Path:
    """Rewrite params at `path`, setting dotted keys (e.g. model.name) to new values."""
    params = yaml.safe_load(path.read_text())
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = params
        for key in parents:
            node = node[key]
        node[leaf] = value
    path.write_text(yaml.safe_dump(params))
    return path
