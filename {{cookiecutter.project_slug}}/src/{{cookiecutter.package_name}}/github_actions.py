"""The one place commands talk to GitHub Actions: step outputs, ignored outside a workflow."""

from __future__ import annotations

import os


def write_github_output(name: str, value: str) -> None:
    """Append `name=value` to $GITHUB_OUTPUT when running in GitHub Actions; else do nothing."""
    output = os.environ.get("GITHUB_OUTPUT")
    if output:
        with open(output, "a", encoding="utf-8") as handle:
            handle.write(f"{name}={value}\n")
