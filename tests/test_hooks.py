"""Bad answers are refused with one clear line, and no half-generated folder is left."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import TEMPLATE


def cookiecutter(output, *answers: str):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            "--output-dir",
            str(output),
            str(TEMPLATE),
            *answers,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("answer", "complaint"),
    [
        ("project_slug=Demand_Forecast", "project_slug 'Demand_Forecast' is not valid"),
        ("project_slug=-demand", "project_slug '-demand' is not valid"),
        (
            "package_name=demand-forecast",
            "package_name 'demand-forecast' is not a valid Python",
        ),
        ("package_name=class", "package_name 'class' is not a valid Python"),
        (
            "package_name=json",
            "package_name 'json' would shadow Python's standard library",
        ),
        (
            "github_owner=acme--foods-",
            "github_owner 'acme--foods-' is not a GitHub user",
        ),
        ("github_owner=acme foods", "github_owner 'acme foods' is not a GitHub user"),
        (
            "container_registry=GHCR.io/",
            "container_registry 'GHCR.io/' is not a registry host",
        ),
        ("author_email=nobody", "author_email 'nobody' is not an email address"),
        (
            "project_name=2024 Forecast",
            "package_name '2024_forecast' is not a valid Python",
        ),
    ],
)
def test_a_bad_answer_is_refused_with_what_would_be_valid(tmp_path, answer, complaint):
    done = cookiecutter(tmp_path, answer)
    assert done.returncode != 0
    assert f"ERROR: {complaint}" in done.stderr
    assert "e.g." in done.stderr or "one of" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_value_outside_a_choice_is_refused(tmp_path):
    done = cookiecutter(tmp_path, "task=forecasting")
    assert done.returncode != 0
    assert "forecasting" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_several_bad_answers_are_all_reported_at_once(tmp_path):
    done = cookiecutter(tmp_path, "project_slug=Bad Slug", "github_owner=-x-")
    named = [line.split()[1] for line in done.stderr.splitlines() if line.startswith("ERROR: ")]
    # the package name is derived from the slug, so it is wrong as well
    assert named == ["project_slug", "package_name", "github_owner"]


def test_not_open_source_removes_the_licence_and_nothing_else(cookies):
    open_source = cookies.bake(extra_context={"open_source_license": "MIT"}).project_path
    closed = cookies.bake(extra_context={"open_source_license": "Not open source"}).project_path
    listing = lambda root: {p.relative_to(root) for p in root.rglob("*")}  # noqa: E731
    assert listing(open_source) - listing(closed) == {
        open_source.joinpath("LICENSE").relative_to(open_source)
    }
    assert "MIT License" in (open_source / "LICENSE").read_text()


@pytest.mark.parametrize(
    "remote",
    [
        "http://example.com/store",  # a scheme the template does not set up
        "relative/path",  # DVC would read it relative to .dvc/, not to where you baked
        "s3://bucket/a path",  # a space
        "s3://bucket/x#y",  # .dvc/config would read the rest as a comment
        "/srv/store\nurl = s3://evil",  # a second line in .dvc/config
        "",
    ],
)
def test_a_dvc_remote_that_would_break_dvc_config_is_refused(tmp_path, remote):
    done = cookiecutter(tmp_path, "data_storage=dvc", f"dvc_remote={remote}")
    assert done.returncode != 0
    assert f"ERROR: dvc_remote {remote!r} is not a DVC remote" in done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "remote", ["s3://acme-ml/demand", "gs://acme-ml", "azure://models/data", "/mnt/shared/dvc"]
)
def test_the_remote_kinds_the_template_sets_up_are_accepted(cookies, remote):
    project = cookies.bake(extra_context={"data_storage": "dvc", "dvc_remote": remote})
    assert project.exit_code == 0, project.exception
    assert f"url = {remote}\n" in (project.project_path / ".dvc/config").read_text()


def test_with_git_the_dvc_remote_is_not_even_read(cookies):
    project = cookies.bake(extra_context={"data_storage": "git", "dvc_remote": "not a remote"})
    assert project.exit_code == 0, project.exception
    assert not (project.project_path / ".dvc").exists()
