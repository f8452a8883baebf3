"""The command line contract that workflows and people rely on."""

import json
import os
import subprocess
import sys

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.data.tables import read_table

from conftest import PARAMS, PROJECT, not_allowed, out_of_range, require


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
    listed = run_module("--help").stdout
    assert all(name in listed for name in ("validate", "train", "evaluate", "predict", "drift"))


def test_the_whole_local_loop_runs_from_the_command_line(tmp_path, params_file, sample_file):
    params = ["--params", str(params_file)]
    report = tmp_path / "report.md"
    assert main(["validate", str(sample_file), "--markdown", str(report), *params]) == 0
    assert "passed" in report.read_text()
    model = tmp_path / "model"
    assert main(["train", "--out", str(model), *params]) == 0
    assert json.loads((model / "metrics.json").read_text())
    scores = tmp_path / "eval.json"
    evaluate = ["evaluate", "--model", str(model), "--data", str(sample_file)]
    assert main([*evaluate, "--json", str(scores)]) == 0
    assert json.loads(scores.read_text())["rows"] == len(read_table(sample_file))


def test_the_evaluate_table_header_keeps_every_metric_name_apart(tmp_path, params_file, capsys):
    model = tmp_path / "model"
    assert main(["train", "--out", str(model), "--params", str(params_file)]) == 0
    metrics = json.loads((model / "metrics.json").read_text())
    capsys.readouterr()
    assert main(["evaluate", "--model", str(model), "--params", str(params_file)]) == 0
    header = capsys.readouterr().out.splitlines()[0].split()
    assert header[:2] == ["slice", "rows"] and sorted(header[2:]) == sorted(metrics)


def test_invalid_data_exits_1_with_the_report(tmp_path, records, params_file, capsys):
    column, value = require(not_allowed(), "feature with allowed values")
    bad = tmp_path / "bad.csv"
    frame = records.astype({column: object})
    frame.loc[0, column] = value
    frame.to_csv(bad, index=False)
    assert main(["validate", str(bad), "--params", str(params_file)]) == 1
    assert f"{column}: must be one of" in capsys.readouterr().out
    model = tmp_path / "m"
    args = ["train", "--out", str(model), "--data", str(bad), "--params", str(params_file)]
    assert main(args) == 1
    assert str(value) in capsys.readouterr().err
    assert not model.exists()


def test_rows_without_the_target_are_validated_as_model_inputs(tmp_path, records, params_file):
    unlabelled = tmp_path / "unlabelled.csv"
    records.drop(columns=[PARAMS.target]).to_csv(unlabelled, index=False)
    assert main(["validate", str(unlabelled), "--params", str(params_file)]) == 0
    column, value, _ = require(out_of_range(), "bounded feature")
    broken = records.drop(columns=[PARAMS.target]).astype({column: object})
    broken.loc[0, column] = value
    broken.to_csv(unlabelled, index=False)
    assert main(["validate", str(unlabelled), "--params", str(params_file)]) == 1


def test_bad_input_is_one_clear_line_not_a_traceback(tmp_path):
    done = run_module("evaluate", "--model", str(tmp_path), "--data", str(tmp_path / "x.csv"))
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert run_module("data", "--rows", "0", "--out", str(tmp_path / "x.csv")).returncode == 2
