"""Promotion: what image an environment runs, changed only in its overlay, by a pull request.

Each overlay (deploy/overlays/<env>/kustomization.yaml) pins the image by digest and names the
release it came from (the `model-release` annotation). `promote` rewrites exactly those two
values, keeping the file's comments and layout, so that the pull request's diff is two lines a
reviewer can read, and a `git revert` of it is the rollback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import ProjectError

ENVIRONMENTS = ("staging", "production")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
RELEASE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
DIGEST_LINE = re.compile(r"^(\s+digest:\s*)(\S+)(\s*)$", re.M)
RELEASE_LINE = re.compile(r"^(\s+model-release:\s*)(\S+)(\s*)$", re.M)


@dataclass(frozen=True)
class Pin:
    """What an overlay runs: the image digest and the release it came from."""

    digest: str
    release: str


def overlay_file(project: Path, env: str) -> Path:
    if env not in ENVIRONMENTS:
        raise ProjectError(f"unknown environment {env!r}: use one of {list(ENVIRONMENTS)}")
    path = project / "deploy" / "overlays" / env / "kustomization.yaml"
    if not path.is_file():
        raise ProjectError(f"{path} not found: is this the project's root?")
    return path


def read_pin(path: Path) -> Pin:
    """The digest and release an overlay pins, checked to be the only ones it pins."""
    overlay = yaml.safe_load(path.read_text(encoding="utf-8"))
    images = overlay.get("images") or []
    if len(images) != 1 or not DIGEST.fullmatch(str(images[0].get("digest", ""))):
        raise ProjectError(f"{path}: expected one `images:` entry with a sha256 digest")
    release = (overlay.get("commonAnnotations") or {}).get("model-release")
    if not release:
        raise ProjectError(f"{path}: no commonAnnotations.model-release")
    return Pin(images[0]["digest"], str(release))


def write_pin(path: Path, pin: Pin) -> Pin:
    """Set the overlay's digest and release; return what it pinned before."""
    if not DIGEST.fullmatch(pin.digest):
        raise ProjectError(f"not an image digest: {pin.digest!r} (expected sha256:<64 hex>)")
    if not RELEASE.fullmatch(pin.release):
        raise ProjectError(f"not a release name: {pin.release!r}")
    before = read_pin(path)
    text = path.read_text(encoding="utf-8")
    for line, value in ((DIGEST_LINE, pin.digest), (RELEASE_LINE, pin.release)):
        text, count = line.subn(lambda m, v=value: f"{m[1]}{v}{m[3]}", text)
        if count != 1:
            raise ProjectError(f"{path}: expected one {line.pattern!r} line, found {count}")
    path.write_text(text, encoding="utf-8")
    if read_pin(path) != pin:  # the text edit must mean what it says
        raise ProjectError(f"{path}: rewriting the pin failed")
    return before


def promote(project: Path, env: str, pin: Pin | None = None) -> tuple[Pin, Pin]:
    """Pin `pin` in `env` (production: staging's pin when none); return (before, after)."""
    if pin is None:
        if env != "production":
            raise ProjectError("staging needs --digest and --release: the image a release pushed")
        pin = read_pin(overlay_file(project, "staging"))
    before = write_pin(overlay_file(project, env), pin)
    return before, pin


def pull_request_body(env: str, before: Pin, after: Pin, release_url: str | None, card: str) -> str:
    """What a reviewer decides from: the model, its metrics (the card), the digests."""
    link = f"[{after.release}]({release_url})" if release_url else f"`{after.release}`"
    source = "the release's image" if env == "staging" else "the image staging runs"
    lines = [
        f"Deploys {link} to **{env}**: {source}.",
        "",
        "| | release | image digest |",
        "| --- | --- | --- |",
        f"| now | `{before.release}` | `{before.digest}` |",
        f"| after merge | `{after.release}` | `{after.digest}` |",
        "",
        "Merging changes only `deploy/`: Argo CD (or Flux) syncs the overlay. To roll back after",
        "merging, revert this pull request's merge commit.",
    ]
    if card.strip():
        lines += ["", "<details><summary>Model card</summary>", "", card.strip(), "", "</details>"]
    return "\n".join(lines) + "\n"
