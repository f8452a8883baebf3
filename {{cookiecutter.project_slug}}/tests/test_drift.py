"""The drift check: Evidently's column tests, data quality, performance decay, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.data import generate, write_csv
from {{ cookiecutter.package_name }}.errors import ProjectError
from {{ cookiecutter.package_name }}.incoming import load_table
from {{ cookiecutter.package_name }}.params import load_params

from conftest import PROJECT, edit_params


@pytest.fixture(scope="module")
def other_baseline_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same sixty days as baseline_csv, drawn with another seed: no real change."""
    return write_csv(
        generate("baseline", rows=1440, seed=2), tmp_path_factory.mktemp("data") / "other.csv"
    )


def drift(params_file: Path, reference: Path, current: Path, out: Path, *extra: str) -> int:
    return main(
        [
            "drift",
            "--params",
            str(params_file),
            "--reference",
            str(reference),
            "--current",
            str(current),
            "--out",
            str(out),
            *extra,
        ]
    )


def read_result(out: Path) -> dict:
    return json.loads((out / "drift.json").read_text())


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory,
    baseline_csv: Path,
    other_baseline_csv: Path,
    shock_csv: Path,
    trained_model_dir: Path,
) -> dict[str, Path]:
    """Two drift checks with the model, run once: on a fuel shock and on another calm sample.

    Each run gets its own $GITHUB_OUTPUT file, as each workflow step does.
    """
    work = tmp_path_factory.mktemp("drift")
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    params["data"]["train"] = str(baseline_csv)
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    outs = {}
    with pytest.MonkeyPatch.context() as patch:
        for name, current in (("shock", shock_csv), ("calm", other_baseline_csv)):
            patch.setenv("GITHUB_OUTPUT", str(work / f"{name}.github_output"))
            model = ("--model", str(trained_model_dir))
            status = drift(work / "params.yaml", baseline_csv, current, work / name, *model)
            assert status == 0
            outs[name] = work / name
    return outs


def test_two_samples_of_the_same_world_do_not_drift(runs, params_file):
    result = read_result(runs["calm"])
    assert result["drift"] is False
    assert result["drifted_columns"] == []
    assert set(result["columns"]) == set(load_params(params_file).features.all)


def test_a_fuel_shock_is_drift_in_fuel_price(runs):
    result = read_result(runs["shock"])
    assert result["drift"] is True
    assert result["drifted_columns"] == ["fuel_price"]
    fuel = result["columns"]["fuel_price"]
    assert fuel["method"] == "wasserstein"
    assert fuel["statistic"] == "distance"
    assert fuel["score"] >= fuel["threshold"] == 6.0
    assert result["share"] == pytest.approx(1 / 6)
    assert result["quality"]["columns"]["fuel_price"]["above_reference_max"] > 1000


def test_it_writes_evidentlys_report_and_a_markdown_summary(runs):
    html = (runs["shock"] / "report.html").read_text()
    summary = (runs["shock"] / "summary.md").read_text()
    assert "Dataset Drift" in html and "Wasserstein distance (normed)" in html
    assert summary.startswith("**Drift: yes**")
    assert "| `fuel_price` | wasserstein (distance) |" in summary
    assert "**yes** |" in summary


def test_the_verdict_goes_to_github_output(runs):
    for name, verdict in (("shock", "true"), ("calm", "false")):
        output = runs[name].with_name(f"{name}.github_output")
        assert output.read_text() == f"drift={verdict}\nretrain={verdict}\n"


def test_a_model_that_decayed_is_reported(runs, params_file):
    performance = read_result(runs["shock"])["performance"]
    metric = performance["metric"]
    assert metric == load_params(params_file).drift.decay_metric
    assert performance["decayed"] is True
    assert performance["metrics"][metric]["worse_by"] > performance["tolerance"]
    assert f"| {metric} |" in (runs["shock"] / "summary.md").read_text()


def test_a_model_on_data_like_its_own_has_not_decayed(runs):
    calm = read_result(runs["calm"])
    assert calm["performance"]["decayed"] is False
    assert calm["retrain"] is False
    assert "within the 50% tolerated: the model is fine" in calm["retrain_reason"]


def test_a_corrupt_column_is_a_clear_error_and_writes_nothing(
    params_file, baseline_csv, shock_csv, tmp_path, capsys
):
    corrupt = tmp_path / "corrupt.csv"
    lines = shock_csv.read_text().splitlines()
    header = lines[0].split(",")
    column = header.index("fuel_price")
    broken = [lines[0]]
    for number, line in enumerate(lines[1:]):
        cells = line.split(",")
        if number < 5:
            cells[column] = "two euros"
        broken.append(",".join(cells))
    corrupt.write_text("\n".join(broken) + "\n")
    output = tmp_path / "github_output"

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GITHUB_OUTPUT", str(output))
        assert drift(params_file, baseline_csv, corrupt, tmp_path / "out") == 1
    error = capsys.readouterr().err
    assert "fuel_price: is a number (5 rows), e.g. two euros" in error
    assert not (tmp_path / "out").exists()
    assert not output.exists()  # no verdict: the workflow stops here, no pull request


def test_an_unreadable_current_location_is_a_clear_error(
    params_file, baseline_csv, tmp_path, capsys
):
    assert drift(params_file, baseline_csv, tmp_path / "absent.csv", tmp_path / "out") == 1
    assert f"data not found: {tmp_path / 'absent.csv'}" in capsys.readouterr().err


def test_with_labels_decay_decides_retraining_even_without_drift(
    params_file, baseline_csv, shock_csv, trained_model_dir, tmp_path
):
    # thresholds so lax no column drifts: only the model's error can ask for retraining
    edit_params(params_file, drift__share=1.0)
    drift(params_file, baseline_csv, shock_csv, tmp_path / "out", "--model", str(trained_model_dir))
    result = read_result(tmp_path / "out")
    assert result["drift"] is False and result["data_drift"] is False
    assert result["retrain"] is True
    metric = result["performance"]["metric"]
    assert result["reasons"] == [result["reasons"][0]]
    assert result["reasons"][0].startswith(f"{metric} is ")
    assert result["retrain_reason"].startswith(f"on labelled recent data {metric} is ")
    assert "more than the 50% tolerated" in result["retrain_reason"]


def test_with_labels_a_drift_the_model_copes_with_proposes_no_retraining(
    params_file, baseline_csv, shock_csv, trained_model_dir, tmp_path
):
    # the shock drifts, but with this tolerance the model's error counts as fine
    edit_params(params_file, drift__decay_tolerance=100.0)
    output = tmp_path / "github_output"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GITHUB_OUTPUT", str(output))
        model = ("--model", str(trained_model_dir))
        drift(params_file, baseline_csv, shock_csv, tmp_path / "out", *model)
    result = read_result(tmp_path / "out")
    assert result["drift"] is True and result["drifted_columns"] == ["fuel_price"]
    assert result["retrain"] is False
    assert result["retrain_reason"].endswith("the model is fine despite the drift")
    assert output.read_text() == "drift=true\nretrain=false\n"
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert summary.splitlines()[2].startswith("**Retraining: no**: on labelled recent data ")


def test_unlabelled_current_data_is_checked_for_drift_but_not_for_decay(
    params_file, baseline_csv, shock_csv, trained_model_dir, tmp_path
):
    inputs = tmp_path / "inputs.csv"
    generate("fuel-shock", rows=1440, seed=1).drop(columns=["units_sold", "high_demand"]).to_csv(
        inputs, index=False
    )
    drift(params_file, baseline_csv, inputs, tmp_path / "out", "--model", str(trained_model_dir))
    result = read_result(tmp_path / "out")
    assert result["drifted_columns"] == ["fuel_price"]
    assert result["performance"]["skipped"] == "the current data has no labels"
    # without labels, the distribution decides
    assert result["drift"] is True and result["retrain"] is True
    assert result["retrain_reason"].startswith("no labelled recent data to measure the model on")


def test_without_labels_no_drift_proposes_no_retraining(
    params_file, baseline_csv, other_baseline_csv, tmp_path
):
    inputs = tmp_path / "inputs.csv"
    frame = pd.read_csv(other_baseline_csv)
    frame.drop(columns=["units_sold", "high_demand"]).to_csv(inputs, index=False)
    drift(params_file, baseline_csv, inputs, tmp_path / "out")
    result = read_result(tmp_path / "out")
    assert result["drift"] is False and result["retrain"] is False
    assert result["retrain_reason"] == (
        "no labelled recent data, and the distribution has not drifted"
    )


def test_a_folder_of_csv_files_is_read_as_one_table(tmp_path):
    folder = tmp_path / "incoming"
    shock = generate("fuel-shock", rows=1440, seed=1)
    write_csv(shock.iloc[:720], folder / "january.csv")
    write_csv(shock.iloc[720:], folder / "february.csv")
    (folder / "README.md").write_text("not data\n")
    table = load_table(folder)
    assert len(table.frame) == 1440
    assert table.labelled
    assert [Path(name).name for name in table.sources] == ["february.csv", "january.csv"]


def test_a_url_is_read_through_fsspec():
    fsspec = pytest.importorskip("fsspec")  # the monitor extra installs it
    bucket = fsspec.filesystem("memory")  # stands for s3:// or gs://, which need credentials
    shock = generate("fuel-shock", rows=96, seed=1)
    for name, part in (("b.csv", shock.iloc[48:]), ("a.csv", shock.iloc[:48])):
        with bucket.open(f"/incoming/{name}", "w") as handle:
            part.to_csv(handle, index=False)
    table = load_table("memory://incoming/")
    assert len(table.frame) == 96
    assert table.sources == ["memory:///incoming/a.csv", "memory:///incoming/b.csv"]
    with pytest.raises(ProjectError, match="data not found: memory://elsewhere/"):
        load_table("memory://elsewhere/")


def test_files_with_different_columns_are_refused(params_file, baseline_csv, tmp_path, capsys):
    folder = tmp_path / "incoming"
    shock = generate("fuel-shock", rows=48, seed=1)
    write_csv(shock, folder / "a.csv")
    write_csv(shock.drop(columns=["price"]), folder / "b.csv")
    assert drift(params_file, baseline_csv, folder, tmp_path / "out") == 1
    assert "files in one folder must share their columns" in capsys.readouterr().err


def test_no_recent_data_yet_is_no_drift(params_file, baseline_csv, tmp_path):
    (tmp_path / "incoming").mkdir()
    assert drift(params_file, baseline_csv, tmp_path / "incoming", tmp_path / "out") == 0
    result = read_result(tmp_path / "out")
    assert result["drift"] is False
    assert result["reasons"] == [f"no recent data at {tmp_path / 'incoming'}"]


def test_current_defaults_to_data_incoming(params_file, baseline_csv, shock_csv, tmp_path):
    edit_params(params_file, data__incoming=str(shock_csv))
    out = tmp_path / "out"
    assert main(["drift", "--params", str(params_file), "--out", str(out)]) == 0
    result = read_result(out)
    assert result["current"]["location"] == str(shock_csv)
    assert result["reference"]["location"] == str(baseline_csv)


def test_big_tables_are_sampled_and_the_report_says_so(
    params_file, baseline_csv, shock_csv, tmp_path
):
    edit_params(params_file, drift__sample_rows=1000)
    drift(params_file, baseline_csv, shock_csv, tmp_path / "out")
    result = read_result(tmp_path / "out")
    assert result["sampled"] is True
    assert result["current"]["rows_tested"] == 1000
    assert result["drifted_columns"] == ["fuel_price"]
    assert "a seeded sample of 1000 tested" in (tmp_path / "out" / "summary.md").read_text()


KS = {"method": "ks", "threshold": 0.05}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("drift__categorical", KS, "drift.categorical.method"),
        ("drift__columns", {"store": KS}, "columns.store.method"),
        ("drift__columns", {"weather": KS}, "'weather'] are not"),
        ("drift__decay_metric", "mape", "drift.decay_metric: use one of"),
        ("drift__share", 0, "drift.share"),
    ],
)
def test_bad_drift_params_are_named(params_file, key, value, message):
    edit_params(params_file, **{key: value})
    with pytest.raises(ProjectError, match=message):
        load_params(params_file)
