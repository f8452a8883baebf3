"""Shared benchmark plumbing: bake a project, time commands, read their peak memory."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
PACKAGE = "demand_forecast"


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_mb: float  # of processes that ran at once, their sum
    largest_process_mb: float | None = None  # when several ran at once: the largest alone

    @property
    def one_at_a_time_mb(self) -> float:
        return self.peak_rss_mb if self.largest_process_mb is None else self.largest_process_mb


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
    # the venv's tools on PATH, as in an activated venv: `bento` exports the image's packages
    # with uv, which `make bench` (calling .venv/bin/python directly) does not put there
    tools = str(Path(sys.executable).parent)
    path = os.pathsep.join([tools, os.environ.get("PATH", "")])
    return {**os.environ, "PYTHONPATH": str(project / "src"), "PATH": path}


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None, ok=(0,)) -> Run:
    """Run one command; its wall time and the peak resident memory of its process tree's largest."""
    started = time.perf_counter()
    peak = finish(start(args, cwd, env), ok)
    return Run(time.perf_counter() - started, peak)


def start(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    # output to files, not pipes: a command that writes much would block on a full pipe
    return subprocess.Popen(
        args, cwd=cwd, env=env, stdout=tempfile.TemporaryFile(), stderr=tempfile.TemporaryFile()
    )


def finish(process: subprocess.Popen, ok=(0,)) -> float:
    """Wait for `process`; the peak resident MB of its tree's largest process."""
    _, status, usage = os.wait4(process.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        process.stderr.seek(0)
        said = process.stderr.read().decode()[-2000:]
        raise RuntimeError(f"{process.args} exited {code}: {said}")
    return usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def cli(project: Path, *args: str, ok=(0,), env: dict[str, str] | None = None) -> Run:
    """Run the project's CLI; `env` adds variables to the project's environment."""
    return run(*cli_command(project, *args, env=env), ok)


def cli_command(project: Path, *args: str, env: dict[str, str] | None = None):
    """The arguments, folder and environment that run the project's CLI."""
    return [sys.executable, "-m", PACKAGE, *args], project, {**project_env(project), **(env or {})}


def median_run(runs: list[Run]) -> Run:
    return Run(
        statistics.median(r.seconds for r in runs),
        max(r.peak_rss_mb for r in runs),
        max(r.one_at_a_time_mb for r in runs),
    )
