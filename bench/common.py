"""Shared benchmark plumbing: bake a project, time commands, read their peak memory."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
PACKAGE = "demand_forecast"


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_mb: float


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


def project_env(project: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(project / "src")}


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None, ok=(0,)) -> Run:
    """Run one command; its wall time and the peak resident memory of its process tree's largest."""
    started = time.perf_counter()
    process = subprocess.Popen(
        args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        raise RuntimeError(f"{args} exited {code}: {process.stderr.read().decode()[-2000:]}")
    return Run(elapsed, usage.ru_maxrss / 1024)  # ru_maxrss is in KiB on Linux


def cli(project: Path, *args: str, ok=(0,), env: dict[str, str] | None = None) -> Run:
    """Run the project's CLI; `env` adds variables to the project's environment."""
    variables = {**project_env(project), **(env or {})}
    return run([sys.executable, "-m", PACKAGE, *args], project, variables, ok)


def median_run(runs: list[Run]) -> Run:
    return Run(statistics.median(r.seconds for r in runs), max(r.peak_rss_mb for r in runs))
