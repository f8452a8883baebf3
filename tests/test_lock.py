"""Locked environments: every baked project carries a uv.lock that matches its pyproject.toml,
and its CI installs exactly that lock with a pinned uv."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import TEMPLATE, bake

OPTIONS = json.loads((TEMPLATE / "cookiecutter.json").read_text())
CHOICES = [
    (name, value)
    for name, values in OPTIONS.items()
    if isinstance(values, list) and not name.startswith("_")
    for value in values
]
UV = Path(sys.executable).with_name("uv")
PINNED_UV = re.search(r"\buv==([0-9.]+)", (TEMPLATE / "Makefile").read_text()).group(1)


def interpreter(version: str) -> str | None:
    """A Python `version` that uv may lock with, found without downloading one."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    found = subprocess.run(
        [str(UV), "python", "find", version],
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        capture_output=True,
        text=True,
    )
    if found.returncode == 0:
        return found.stdout.strip()
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    installed = sorted(pyenv.glob(f"versions/{version}.*/bin/python{version}"))
    return str(installed[-1]) if installed else None


def check_lock(project: Path, version: str) -> subprocess.CompletedProcess:
    python = interpreter(version)
    if python is None:
        pytest.skip(f"no Python {version} here to check its lock with (uv would download one)")
    return subprocess.run(
        [str(UV), "lock", "--check", "--offline", "--python", python],
        cwd=project,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(("option", "value"), CHOICES)
def test_every_option_value_bakes_a_lock_that_matches_its_pyproject(cookies, option, value):
    project = bake(cookies, **{option: value})
    python = value if option == "python_version" else OPTIONS["python_version"][0]
    lock = (project / "uv.lock").read_text()
    assert f'requires-python = ">={python}"' in lock
    done = check_lock(project, python)
    assert done.returncode == 0, done.stderr


def test_the_lock_names_the_project_whatever_its_name(cookies):
    project = bake(cookies, project_name='Zoë\'s "Fresh" Zucchini Sales')
    lock = (project / "uv.lock").read_text()
    assert f'\nname = "{project.name}"\nversion = "0.1.0"\nsource = {{ editable = "." }}\n' in lock
    done = check_lock(project, OPTIONS["python_version"][0])
    assert done.returncode == 0, done.stderr


def test_a_lock_that_no_longer_matches_pyproject_is_refused(cookies):
    project = bake(cookies)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"joblib>=1.3,<2"', '"joblib>=1.3,<1.4"'))
    done = check_lock(project, OPTIONS["python_version"][0])
    # online uv says the lock "needs to be updated"; offline it cannot even resolve the new bound
    assert done.returncode != 0 and "error:" in done.stderr


def test_ci_installs_exactly_the_lock_with_the_uv_that_wrote_it(cookies):
    project = bake(cookies)
    setup = yaml.safe_load((project / ".github/actions/setup/action.yml").read_text())
    steps = setup["runs"]["steps"]
    setup_uv = next(s for s in steps if s.get("uses", "").startswith("astral-sh/setup-uv@"))
    assert setup_uv["with"]["version"] == PINNED_UV
    assert setup_uv["with"]["cache-dependency-glob"] == "uv.lock"
    install = "\n".join(s.get("run", "") for s in steps)
    assert "uv sync --locked" in install and "uv pip" not in install
    for workflow in (project / ".github/workflows").glob("*.yml"):
        assert "pip install" not in workflow.read_text(), workflow.name
    dependabot = yaml.safe_load((project / ".github/dependabot.yml").read_text())
    ecosystems = {update["package-ecosystem"] for update in dependabot["updates"]}
    assert ecosystems == {"uv", "github-actions", "docker"}  # docker: the image's pinned base
