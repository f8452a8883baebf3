"""The shared environment holds what every baked project declares, so its tests run here."""

from __future__ import annotations

import tomllib
from importlib import metadata

import pytest
from packaging.requirements import Requirement

from conftest import bake


@pytest.mark.parametrize("storage", ["git", "dvc"])
def test_the_shared_environment_satisfies_the_generated_dependencies(cookies, storage):
    baked = bake(cookies, data_storage=storage, dvc_remote="/srv/dvc-store")
    project = tomllib.loads((baked / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared += extra
    unmet = []
    for line in declared:
        requirement = Requirement(line)
        installed = metadata.version(requirement.name)
        if not requirement.specifier.contains(installed, prereleases=True):
            unmet.append(f"{line} (installed {installed})")
    assert not unmet
