"""Baked projects follow the template: `cruft create` records its commit, `cruft check` reads it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import TEMPLATE

CRUFT = str(Path(sys.executable).parent / "cruft")
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]


def template_repo(tmp_path: Path) -> Path:
    """The template as users get it: a git repository (cruft records the commit it came from)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=TEMPLATE,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    repo = tmp_path / "template"
    for name in filter(None, listed):
        if (TEMPLATE / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TEMPLATE / name, repo / name)
    subprocess.run(["git", "init", "--quiet", "--initial-branch", "main"], cwd=repo, check=True)
    subprocess.run([*GIT, "add", "."], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "--quiet", "-m", "template"], cwd=repo, check=True)
    return repo


def cruft(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CRUFT, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_cruft_check_says_up_to_date_then_sees_a_template_change(tmp_path):
    repo = template_repo(tmp_path)
    created = cruft(
        "create", "--no-input", "--output-dir", str(tmp_path / "out"), str(repo), cwd=tmp_path
    )
    assert created.returncode == 0, created.stdout + created.stderr
    project = tmp_path / "out" / "demand-forecast"
    state = json.loads((project / ".cruft.json").read_text())
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True)
    assert state["commit"] == head.stdout.strip()
    assert state["context"]["cookiecutter"]["project_slug"] == "demand-forecast"
    assert cruft("check", cwd=project).returncode == 0

    readme = repo / "{{cookiecutter.project_slug}}" / "README.md"
    readme.write_text(readme.read_text() + "\nA later template improvement.\n")
    subprocess.run([*GIT, "commit", "--quiet", "-am", "improve"], cwd=repo, check=True)
    assert cruft("check", cwd=project).returncode == 1  # an update is available
