"""Where the project keeps what it can rebuild: outside the repository, one folder per kind.

`~/.cache/{{ cookiecutter.package_name }}/<kind>` (or under `$XDG_CACHE_HOME`); the variable
`{{ cookiecutter.package_name | upper }}_CACHE_DIR` moves the root, and `off` turns every cache
off. Outside the repository, so no commit can plant an entry in it.
"""

from __future__ import annotations

import os
from pathlib import Path

ENVIRONMENT_VARIABLE = "{{ cookiecutter.package_name | upper }}_CACHE_DIR"


def cache_folder(kind: str) -> Path | None:
    """The folder for one kind of entry ("validated", "champions"), or None when caching is off."""
    chosen = os.environ.get(ENVIRONMENT_VARIABLE, "")
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen) / kind
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "{{ cookiecutter.package_name }}" / kind
