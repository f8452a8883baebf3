"""Helpers for baking the template and running what it bakes, in this one shared environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]


def bake(cookies, **answers):
    """Bake with `answers` over the defaults; fail the test with cookiecutter's error if any."""
    result = cookies.bake(extra_context=answers)
    assert result.exception is None, result.exception
    assert result.exit_code == 0
    return result.project_path


def project_env(project: Path) -> dict[str, str]:
    """Run a baked project's code from its source tree, with the template's environment (whose
    bin/ holds the uv that a baked project's `champion` calls, as setup-uv provides it in CI)."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, "PYTHONPATH": str(project / "src"), "PATH": path}


def run_cli(project: Path, package: str, *args: str, check: bool = True):
    """Call the baked project's command line as its workflows do: python -m <package>."""
    done = subprocess.run(
        [sys.executable, "-m", package, *args],
        cwd=project,
        env=project_env(project),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done
