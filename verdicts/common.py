"""Shared plumbing: bake the default project once and import its package from its src/."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

TEMPLATE = Path(__file__).resolve().parents[1]
PACKAGE = "demand_forecast"
# VERDICTS_RESULTS moves the output elsewhere (the template's test writes to a temporary folder)
RESULTS = Path(os.environ.get("VERDICTS_RESULTS", Path(__file__).with_name("results")))


@dataclass(frozen=True)
class Size:
    """How much the suite simulates: `smoke` for tests, `full` for the published figures, `fresh`
    for the full size on seeds no choice was made on."""

    name: str
    gate_seeds: int
    truth_realisations: int  # independent years that measure a PR's true effect
    drift_seeds: int
    drift_truth_realisations: int
    months: tuple[int, ...]
    workers: int
    first_seed: int = 1  # data seeds are first_seed, first_seed + 1, ...


SIZES = {
    "full": Size("full", 20, 10, 6, 6, (1, 4, 7, 10), 2),
    "smoke": Size("smoke", 2, 2, 1, 1, (1,), 1),
    # the full size on seeds the gate's confidence and the drift thresholds were not chosen on
    "fresh": Size("fresh", 20, 10, 6, 6, (1, 4, 7, 10), 2, first_seed=21),
}


def size_from_env() -> Size:
    """VERDICTS_SIZE=smoke, fresh or full (the default); VERDICTS_WORKERS overrides the workers."""
    size = SIZES[os.environ.get("VERDICTS_SIZE", "full")]
    workers = int(os.environ.get("VERDICTS_WORKERS", size.workers))
    return Size(**{**size.__dict__, "workers": workers})


def bake(into: Path) -> Path:
    """Bake the default project into `into` (replacing it) and return the project folder."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            "--overwrite-if-exists",
            "--output-dir",
            str(into),
            str(TEMPLATE),
        ],
        check=True,
        capture_output=True,
    )
    return into / "demand-forecast"


def use_project(project: Path) -> None:
    """Make the baked package importable in this process (workers call it too)."""
    source = str(project / "src")
    if source not in sys.path:
        sys.path.insert(0, source)
    importlib.invalidate_caches()


def package(module: str):
    return importlib.import_module(f"{PACKAGE}.{module}")


def project_params(project: Path) -> dict:
    """The project's params.yaml as a dict, with its schema path made absolute.

    The simulations write their own params.yaml elsewhere; a relative `data.schema`
    would then point next to that copy, where no schema is.
    """
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    schema = Path(params["data"].get("schema", "schema.yaml"))
    params["data"]["schema"] = str(schema if schema.is_absolute() else project / schema)
    return params


def write_json(path: Path, payload: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=float) + "\n", encoding="utf-8")
