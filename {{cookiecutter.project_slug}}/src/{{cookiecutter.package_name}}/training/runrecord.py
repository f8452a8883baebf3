"""The run record: what is needed to reproduce a training run and to trust its numbers."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("scikit-learn", "pandas", "numpy", "pandera", "pydantic", "joblib", "pyyaml")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def threads() -> dict[str, int | str | None]:
    """The cores a fit could use (OMP_NUM_THREADS: unset means all): a model fitted on another
    number of threads may differ in the last digits, since its sums are added in another order."""
    return {"cpus": os.cpu_count(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}


def git_state(directory: Path) -> dict[str, str | bool | None]:
    """The commit checked out in `directory` and whether files differ from it; None outside git."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=directory,
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain") if commit else None
    return {"commit": commit, "dirty": bool(status) if commit else None}
