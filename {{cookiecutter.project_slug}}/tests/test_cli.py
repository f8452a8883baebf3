"""The command line contract that workflows and people rely on."""

import json
import os
import subprocess
import sys

from {{ cookiecutter.package_name }}.cli import main

from conftest import PROJECT


def run_module(*args, cwd=PROJECT):
    env = {**os.environ, "PYTHONPATH": str(PROJECT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "{{ cookiecutter.package_name }}", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_help_lists_the_subcommands_without_importing_heavy_libraries():
    probe = (
        "import sys; from {{ cookiecutter.package_name }}.cli import build_parser; "
        "build_parser(); print(sorted(m for m in ('pandas', 'sklearn', 'pandera') "
        "if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT / "src")},
        check=True,
    )
    assert done.stdout.strip() == "[]"
    assert all(
        name in run_module("--help").stdout for name in ("data", "validate", "train", "evaluate")
    )


def test_the_whole_local_loop_runs_from_the_command_line(tmp_path, params_file):
    data = tmp_path / "demo.csv"
    assert (
        main(
            [
                "data",
                "--scenario",
                "fuel-shock",
                "--rows",
                "1440",
                "--seed",
                "2",
                "--out",
                str(data),
            ]
        )
        == 0
    )
    assert main(["validate", str(data), "--markdown", str(tmp_path / "report.md")]) == 0
    assert "passed" in (tmp_path / "report.md").read_text()
    assert (
        main(
            [
                "train",
                "--out",
                str(tmp_path / "model"),
                "--data",
                str(data),
                "--params",
                str(params_file),
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "model" / "metrics.json").read_text())
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(tmp_path / "model"),
                "--data",
                str(data),
                "--json",
                str(tmp_path / "eval.json"),
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "eval.json").read_text())["rows"] == 1440


def test_invalid_data_exits_1_with_the_report(tmp_path, baseline_csv, params_file, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text(baseline_csv.read_text().replace(",city_centre,", ",atlantis,", 1))
    assert main(["validate", str(bad)]) == 1
    assert "store: must be one of" in capsys.readouterr().out
    assert (
        main(
            [
                "train",
                "--out",
                str(tmp_path / "m"),
                "--data",
                str(bad),
                "--params",
                str(params_file),
            ]
        )
        == 1
    )
    assert "atlantis" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_bad_input_is_one_clear_line_not_a_traceback(tmp_path):
    done = run_module("evaluate", "--model", str(tmp_path), "--data", str(tmp_path / "x.csv"))
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert run_module("data", "--rows", "0", "--out", str(tmp_path / "x.csv")).returncode == 2
