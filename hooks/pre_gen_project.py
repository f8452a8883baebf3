"""Reject answers that would bake a broken project, with one line saying what would be valid.

Cookiecutter renders this file with Jinja before running it, so every answer is read through
`tojson` and `json.loads`: quotes or backslashes in an answer stay data, never code.
"""

from __future__ import annotations

import json
import keyword
import re
import sys

ANSWERS = json.loads(
    r"""{{ {
    "project_name": cookiecutter.project_name,
    "project_slug": cookiecutter.project_slug,
    "package_name": cookiecutter.package_name,
    "author_email": cookiecutter.author_email,
    "github_owner": cookiecutter.github_owner,
    "python_version": cookiecutter.python_version,
    "task": cookiecutter.task,
    "model": cookiecutter.model,
    "container_registry": cookiecutter.container_registry,
    "data_storage": cookiecutter.data_storage,
    "dvc_remote": cookiecutter.dvc_remote,
} | tojson }}"""
)

SLUG = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
PACKAGE = re.compile(r"^[a-z][a-z0-9_]*$")
# GitHub logins: letters, digits and single inner hyphens, at most 39 characters.
OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
REGISTRY = re.compile(r"^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]{1,5})?(?:/[a-z0-9._-]+)*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# A bucket (and an optional path) on S3, Google Cloud Storage or Azure Blob, or an absolute path
# (a shared disk). Nothing that .dvc/config would read as a comment, a quote or a second line.
CLOUD_REMOTE = re.compile(r"^(s3|gs|azure)://[a-z0-9][a-z0-9._-]{1,220}(/[A-Za-z0-9._/-]*)?$")
LOCAL_REMOTE = re.compile(r"^/[A-Za-z0-9._/+-]*$")
CHOICES = {
    "python_version": ("3.11", "3.12"),
    "task": ("regression", "classification"),
    "model": ("gradient_boosting", "random_forest", "linear"),
    "data_storage": ("git", "dvc"),
}


def problems(answers: dict[str, str]) -> list[str]:
    """Every answer that is not valid, each as one line naming the answer and what would be."""
    found = []
    if not answers["project_name"].strip():
        found.append("project_name is empty: give the project a name, e.g. 'Demand Forecast'.")
    slug = answers["project_slug"]
    if not SLUG.match(slug) or len(slug) > 100:
        found.append(
            f"project_slug {slug!r} is not valid: use lowercase letters, digits and single "
            "hyphens, starting with a letter (it names the repository and the image), "
            "e.g. 'demand-forecast'."
        )
    package = answers["package_name"]
    if not PACKAGE.match(package) or keyword.iskeyword(package):
        found.append(
            f"package_name {package!r} is not a valid Python package name: use lowercase "
            "letters, digits and underscores, starting with a letter, e.g. 'demand_forecast'."
        )
    elif package in sys.stdlib_module_names:
        found.append(
            f"package_name {package!r} would shadow Python's standard library module of the "
            f"same name: choose another, e.g. '{package}_model'."
        )
    owner = answers["github_owner"]
    if not OWNER.match(owner):
        found.append(
            f"github_owner {owner!r} is not a GitHub user or organisation name: use letters, "
            "digits and single hyphens (at most 39 characters), e.g. 'acme-foods'."
        )
    registry = answers["container_registry"]
    if not REGISTRY.match(registry):
        found.append(
            f"container_registry {registry!r} is not a registry host: use a lowercase host "
            "name with an optional port and path, e.g. 'ghcr.io' or 'registry.example.com:5000'."
        )
    if not EMAIL.match(answers["author_email"]):
        found.append(
            f"author_email {answers['author_email']!r} is not an email address, "
            "e.g. 'team@example.com'."
        )
    if answers["data_storage"] == "dvc":
        found += remote_problems(answers["dvc_remote"])
    for name, allowed in CHOICES.items():
        if answers[name] not in allowed:
            found.append(f"{name} {answers[name]!r} is not one of: {', '.join(allowed)}.")
    return found


def remote_problems(remote: str) -> list[str]:
    """The DVC remote, checked only when data_storage is dvc (with git it is not used)."""
    if CLOUD_REMOTE.match(remote) or (LOCAL_REMOTE.match(remote) and remote != "/"):
        return []
    return [
        f"dvc_remote {remote!r} is not a DVC remote this template sets up: use "
        "s3://BUCKET/PATH, gs://BUCKET/PATH, azure://CONTAINER/PATH, or an absolute path to a "
        "shared folder (e.g. /mnt/shared/dvc-store); no spaces, quotes or '#'."
    ]


def main() -> int:
    found = problems(ANSWERS)
    for line in found:
        print(f"ERROR: {line}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
