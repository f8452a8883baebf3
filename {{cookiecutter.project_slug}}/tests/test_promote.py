"""`promote`: an overlay's image digest changes in one small diff, and a revert rolls it back."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.serve.promote import Pin, read_pin

from conftest import PROJECT


def digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path) -> Path:
    """A git repository holding the project's deploy/ folder, as main holds it."""
    shutil.copytree(PROJECT / "deploy", tmp_path / "deploy")
    git(tmp_path, "init", "--quiet", "--initial-branch", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "--quiet", "-m", "deploy/")
    return tmp_path


def pin_of(repo: Path, env: str) -> Pin:
    return read_pin(repo / "deploy" / "overlays" / env / "kustomization.yaml")


def promote(repo: Path, env: str, *args: str) -> int:
    return main(["promote", "--env", env, "--project", str(repo), *args])


def merged(repo: Path, message: str) -> str:
    git(repo, "commit", "--quiet", "-am", message)
    return git(repo, "rev-parse", "HEAD")


def test_staging_then_production_then_a_revert_of_production_restores_the_previous_digest(repo):
    first, second = digest_of("image 1"), digest_of("image 2")
    assert promote(repo, "staging", "--digest", first, "--release", "model-1") == 0
    merged(repo, "staging: model-1")
    assert promote(repo, "production") == 0  # copies staging's pin
    merged(repo, "production: model-1")
    assert pin_of(repo, "production") == Pin(first, "model-1")

    assert promote(repo, "staging", "--digest", second, "--release", "model-2") == 0
    merged(repo, "staging: model-2")
    assert promote(repo, "production") == 0
    bump = merged(repo, "production: model-2")
    assert pin_of(repo, "production") == Pin(second, "model-2")

    git(repo, "revert", "--no-edit", bump)  # the rollback
    assert pin_of(repo, "production") == Pin(first, "model-1")
    assert pin_of(repo, "staging") == Pin(second, "model-2")  # staging keeps the new image


def test_a_promotion_changes_two_lines_and_keeps_the_comments(repo):
    overlay = repo / "deploy" / "overlays" / "staging" / "kustomization.yaml"
    comments = [line for line in overlay.read_text().splitlines() if line.startswith("#")]
    assert promote(repo, "staging", "--digest", digest_of("x"), "--release", "model-x") == 0
    diff = git(repo, "diff", "--unified=0").splitlines()
    assert len([line for line in diff if line.startswith("+ ")]) == 2
    assert [line for line in overlay.read_text().splitlines() if line.startswith("#")] == comments
    images = yaml.safe_load(overlay.read_text())["images"]
    assert images[0]["digest"] == digest_of("x")


@pytest.mark.parametrize(
    "args",
    [
        ["--digest", "sha256:abc", "--release", "model-1"],  # not a digest
        ["--digest", "latest", "--release", "model-1"],
        ["--digest", "sha256:" + "0" * 64, "--release", "model 1; rm -rf /"],
        [],  # staging needs the image
    ],
)
def test_a_bad_pin_is_refused_and_the_overlay_is_unchanged(repo, args, capsys):
    before = (repo / "deploy" / "overlays" / "staging" / "kustomization.yaml").read_text()
    assert promote(repo, "staging", *args) in (1, 2)
    after = (repo / "deploy" / "overlays" / "staging" / "kustomization.yaml").read_text()
    assert after == before


def test_the_outputs_and_the_body_say_what_changes(repo, tmp_path, monkeypatch):
    output = tmp_path / "github-output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    card = tmp_path / "card.md"
    card.write_text("## Metrics\n\n| wape | 0.12 |\n")
    new = digest_of("new")
    args = ["--digest", new, "--release", "model-abc", "--card", str(card)]
    body = tmp_path / "body.md"
    url = "https://github.com/o/r/releases/tag/model-abc"
    releases = "https://github.com/o/r/releases/tag"
    assert promote(repo, "staging", *args, "--releases-url", releases, "--body", str(body)) == 0
    assert f"digest={new}\n" in output.read_text()
    assert f"previous=sha256:{'0' * 64}\n" in output.read_text()
    assert "changed=true\n" in output.read_text()
    text = body.read_text()
    assert f"[model-abc]({url})" in text and new in text and "0" * 64 in text
    assert "| wape | 0.12 |" in text and "revert" in text
    assert promote(repo, "staging", *args) == 0  # the same pin again: nothing changes
    assert output.read_text().endswith("changed=false\n")
