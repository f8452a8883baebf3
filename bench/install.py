"""What each workflow installs: environment size and install time, uv (warm cache) against pip."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

# The extras each workflow installs (core = the training dependencies alone).
WORKFLOW_EXTRAS = {"pr": [], "release": ["serve"], "drift": ["monitor"]}


def requirements(project: Path, extras: list[str]) -> list[str]:
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    return meta["dependencies"] + [d for e in extras for d in meta["optional-dependencies"][e]]


def size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def timed_install(installer: str, packages: list[str]) -> tuple[float, float]:
    uv = str(Path(sys.executable).with_name("uv"))
    with tempfile.TemporaryDirectory() as folder:
        venv = Path(folder) / "venv"
        if installer == "uv":
            subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
            command = [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python")]
        else:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            command = [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
            ]
        started = time.perf_counter()
        subprocess.run([*command, *packages], check=True, capture_output=True)
        return time.perf_counter() - started, size_mb(venv)


def measure(project: Path, installers: tuple[str, ...] = ("uv", "pip")) -> dict[str, object]:
    results = {}
    for workflow, extras in WORKFLOW_EXTRAS.items():
        packages = requirements(project, extras)
        row = {}
        for installer in installers:
            timed_install(installer, packages)  # warm the cache first: CI restores one
            seconds, size = timed_install(installer, packages)
            row[f"{installer}_seconds"] = round(seconds, 1)
            row["env_mb"] = round(size, 0)
        results[workflow] = row
    shutil.rmtree(project / ".venv-bench", ignore_errors=True)
    return results
