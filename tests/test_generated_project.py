"""A baked project works as its README says: its own tests pass and its CLI contract holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import bake, project_env, run_cli

PACKAGE = "demand_forecast"


@pytest.fixture(scope="module")
def project(cookies_session):
    return bake(cookies_session)


@pytest.mark.slow
@pytest.mark.parametrize("task", ["regression", "classification"])
def test_the_baked_projects_own_tests_pass(cookies, task):
    baked = bake(cookies, task=task)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=baked,
        env=project_env(baked),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout


def test_the_baked_code_passes_ruff(project):
    for command in (["check"], ["format", "--check"]):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "."],
            cwd=project,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_cli_contract_holds_as_written(project, tmp_path):
    data = tmp_path / "demo.csv"
    run_cli(
        project,
        PACKAGE,
        "data",
        "--scenario",
        "fuel-shock",
        "--rows",
        "2400",
        "--seed",
        "7",
        "--out",
        str(data),
    )
    assert run_cli(project, PACKAGE, "validate", str(data)).returncode == 0
    run_cli(project, PACKAGE, "train", "--out", str(tmp_path / "one"))
    run_cli(
        project,
        PACKAGE,
        "train",
        "--out",
        str(tmp_path / "two"),
        "--data",
        "data/train.csv",
        "--params",
        "params.yaml",
    )
    one = json.loads((tmp_path / "one" / "metrics.json").read_text())
    assert one == json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert set(one) == {"mae", "rmse", "wape", "r2"}
    shown = run_cli(
        project,
        PACKAGE,
        "evaluate",
        "--model",
        str(tmp_path / "one"),
        "--data",
        str(data),
    ).stdout
    assert "overall" in shown and "store=village" in shown and "category=pantry" in shown


def test_a_broken_csv_fails_validate_and_train_naming_each_problem(project, tmp_path):
    rows = (project / "data" / "train.csv").read_text().splitlines()
    header = rows[0].split(",")
    drop = header.index("temperature")
    broken = []
    for number, line in enumerate(rows[:30]):
        cells = line.split(",")
        if number == 3:
            cells[header.index("price")] = "three euros"
        if number in (5, 6):
            cells[header.index("price")] = "-2.10"
        del cells[drop]
        broken.append(",".join(cells))
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(broken) + "\n")
    for args in (
        ["validate", str(bad)],
        ["train", "--out", str(tmp_path / "m"), "--data", str(bad)],
    ):
        done = run_cli(project, PACKAGE, *args, check=False)
        assert done.returncode == 1
        report = done.stdout + done.stderr
        assert "price: is a number (1 rows), e.g. three euros" in report
        assert "price: must be > 0 (2 rows), e.g. -2.1" in report
        assert "temperature: column is missing" in report
    assert not (tmp_path / "m").exists()


def test_the_pre_commit_hooks_pass_in_a_fresh_repository(cookies):
    baked = bake(cookies)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "baked"]):
        subprocess.run([*git, *command], cwd=baked, check=True)
    env = {**project_env(baked), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files"],
        cwd=baked,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ruff check" in done.stdout and "Passed" in done.stdout
    assert (
        subprocess.run(
            ["git", "status", "--porcelain"], cwd=baked, capture_output=True, text=True
        ).stdout
        == ""
    )  # the hooks changed nothing
