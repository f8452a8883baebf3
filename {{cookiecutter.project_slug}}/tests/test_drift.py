"""The drift check: Evidently's column tests, data quality, performance decay, exit codes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.data.incoming import load_table
from {{ cookiecutter.package_name }}.data.tables import write_table
from {{ cookiecutter.package_name }}.errors import ProjectError
from {{ cookiecutter.package_name }}.model.params import load_params

from conftest import CONTRACT, PARAMS, edit_params, numeric_feature, require, write_params


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


def calm(records: pd.DataFrame) -> pd.DataFrame:
    """A seeded random half of the training rows: the same world, no drift."""
    return records.sample(frac=0.5, random_state=0).sort_index()


def shifted(records: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Rows from another world, and the (first) column that moved: numeric features tested by
    normed Wasserstein moved by twice their threshold plus one of their standard deviations (a
    whole shift by k of them scores k; whole numbers stay whole), where the schema allows it, as
    many as drift.share of the features asks for a drifted table; else the rows of the most
    common value of a categorical feature."""
    from {{ cookiecutter.package_name }}.data.validation import validate_frame

    needed = max(1, math.ceil(PARAMS.drift.share * len(PARAMS.features.all) - 1e-9))
    moved, names = records, []
    for column in PARAMS.features.numeric:
        test = PARAMS.drift.test_for(column, categorical=False)
        if test.method != "wasserstein":
            continue
        step = (2 * test.threshold + 1) * float(records[column].std())
        if pd.api.types.is_integer_dtype(records[column]):
            step = max(1, math.ceil(step))
        candidate = moved.assign(**{column: moved[column] + step})
        if validate_frame(candidate, CONTRACT.records, "moved")[1].valid:
            moved, names = candidate, [*names, column]
            if len(names) == needed:
                return moved, names[0]
    column = PARAMS.features.categorical[0]
    return records[records[column] == records[column].mode()[0]], column


def relabelled(records: pd.DataFrame) -> pd.DataFrame:
    """The calm half with its labels shuffled: the same inputs, a model that no longer fits."""
    rows = calm(records)
    target = np.random.default_rng(0).permutation(rows[PARAMS.target].to_numpy())
    return rows.assign(**{PARAMS.target: target})


@pytest.fixture(scope="module")
def runs(tmp_path_factory, sample_file, trained_model_dir) -> dict[str, Path]:
    """Three drift checks with the model, run once each, every one with its own
    $GITHUB_OUTPUT file as each workflow step has."""
    from {{ cookiecutter.package_name }}.data.dataset import load_records

    work = tmp_path_factory.mktemp("drift")
    params = write_params(work, sample_file)
    records = load_records(sample_file, CONTRACT)
    currents = {
        "calm": calm(records),
        "shifted": shifted(records)[0],
        "relabelled": relabelled(records),
    }
    outs = {}
    with pytest.MonkeyPatch.context() as patch:
        for name, frame in currents.items():
            current = write_table(frame, work / f"{name}.csv")
            patch.setenv("GITHUB_OUTPUT", str(work / f"{name}.github_output"))
            model = ("--model", str(trained_model_dir))
            assert drift(params, sample_file, current, work / name, *model) == 0
            outs[name] = work / name
    return outs


def columns_noisier_than_their_threshold(records: pd.DataFrame, result: dict) -> list[str]:
    """The columns in which some other seeded half of `records` scores its threshold against
    the whole by chance alone: on few rows, or a category of thousands of values, a threshold
    set by hand (not calibrated on this data) may not cover sampling noise."""
    from {{ cookiecutter.package_name }}.monitor.calibration import DIRECT, column_score

    noisy = []
    for name, found in result["columns"].items():
        if found["method"] not in DIRECT:
            continue
        categorical = name in PARAMS.features.categorical
        halves = [records.sample(frac=0.5, random_state=seed)[name] for seed in range(1, 6)]
        chance = max(column_score(found["method"], categorical, records[name], h) for h in halves)
        if chance >= found["threshold"]:
            noisy.append(name)
    return noisy


def require_quiet_columns(records: pd.DataFrame, result: dict) -> None:
    """Only columns whose threshold chance alone reaches may have drifted; skip if any did."""
    noisy = columns_noisier_than_their_threshold(records, result)
    assert [name for name in result["drifted_columns"] if name not in noisy] == []
    if set(noisy) & set(result["drifted_columns"]):
        pytest.skip(
            f"on {len(records)} rows, halves of the same table score {noisy} past their "
            "thresholds by chance alone (thresholds not calibrated on data this small): only "
            "the other columns could be checked"
        )


def test_two_samples_of_the_same_world_do_not_drift(runs, records):
    result = read_result(runs["calm"])
    # every categorical and numeric feature; dates always move forward and are not tested
    assert set(result["columns"]) == {*PARAMS.features.categorical, *PARAMS.features.numeric}
    require_quiet_columns(records, result)
    assert result["drift"] is False and result["drifted_columns"] == []


def test_rows_from_another_world_drift_in_the_column_that_moved(records, runs):
    _, column = shifted(records)
    result = read_result(runs["shifted"])
    assert result["drift"] is True and result["data_drift"] is True
    assert column in result["drifted_columns"]
    test = PARAMS.drift.test_for(column, categorical=column in PARAMS.features.categorical)
    found = result["columns"][column]
    assert found["method"] == test.method and found["raised_by"] >= 1
    # a calibrated threshold is raised for a current table smaller than its windows (below)
    assert found["threshold"] == pytest.approx(test.threshold * found["raised_by"], rel=1e-3)
    assert result["share"] == pytest.approx(len(result["drifted_columns"]) / len(result["columns"]))


def test_a_calibrated_threshold_allows_for_a_smaller_tables_sampling_noise(params_file):
    """Distances between samples shrink as sqrt(1/n + 1/m): a threshold calibrated on windows
    of 1000 rows against 9000 is raised for 250 rows, kept for bigger tables, and a threshold
    set by a person is never touched."""
    from {{ cookiecutter.package_name }}.monitor.drift import noise_factor

    column = PARAMS.features.all[0]
    categorical = column in PARAMS.features.categorical
    method = "jensenshannon" if categorical else "wasserstein"
    evidence = {"windows": 9, "max": 0.02, "q90": 0.015, "rows": 1000, "reference_rows": 9000}
    calibrated = {"method": method, "threshold": 0.03, "evidence": evidence}
    params = load_params(edit_params(params_file, drift__columns={column: calibrated}))
    expected = math.sqrt((1 / 250 + 1 / 9000) / (1 / 1000 + 1 / 9000))
    assert noise_factor(params, column, 250, 9000) == pytest.approx(expected)  # about 1.92
    assert noise_factor(params, column, 1000, 9000) == pytest.approx(1.0)
    assert noise_factor(params, column, 50_000, 50_000) == 1.0  # never lowered
    by_hand = {"method": method, "threshold": 0.03}
    params = load_params(edit_params(params_file, drift__columns={column: by_hand}))
    assert noise_factor(params, column, 10, 9000) == 1.0


def test_it_writes_evidentlys_report_and_a_markdown_summary(records, runs):
    _, column = shifted(records)
    html = (runs["shifted"] / "report.html").read_text()
    summary = (runs["shifted"] / "summary.md").read_text()
    assert "Dataset Drift" in html
    assert summary.startswith("**Drift: yes**")
    assert f"| `{column}` | " in summary and "**yes** |" in summary


def require_shuffled_labels_to_decay(
    model_dir: Path, records: pd.DataFrame, tolerance: float
) -> None:
    """Skip unless the model scores its decay metric worse than the `tolerance` the check used
    (the calibrated one, raised for a small table) on the relabelled rows, against its holdout
    score at training: the premise of the decay tests below."""
    from {{ cookiecutter.package_name }}.model.artifacts import METRICS_FILE, load_model
    from {{ cookiecutter.package_name }}.model.metrics import HIGHER_IS_BETTER, score

    model, rows = load_model(model_dir), relabelled(records)
    metric = PARAMS.drift.decay_metric
    trained = json.loads((model_dir / METRICS_FILE).read_text())[metric]
    now = score(PARAMS.task, model.truth_of(rows), model.predict(rows))[metric]
    worse_by = (trained - now if HIGHER_IS_BETTER[metric] else now - trained) / abs(trained)
    if not worse_by > tolerance:
        pytest.skip(
            f"on this data the model's holdout {metric} at training ({trained:.4g}) is nearly "
            f"as bad as on shuffled labels ({now:.4g}; {worse_by * 100:.0f}% worse, "
            f"{tolerance * 100:.0f}% tolerated), so decay cannot be told apart"
        )


def test_the_verdict_goes_to_github_output(runs, records, trained_model_dir):
    require_quiet_columns(records, read_result(runs["calm"]))
    # `drift` is the distribution; shuffled labels leave it as it was
    for name, verdict in (("shifted", "true"), ("calm", "false"), ("relabelled", "false")):
        output = runs[name].with_name(f"{name}.github_output")
        retrain = "true" if read_result(runs[name])["retrain"] else "false"
        assert output.read_text() == f"drift={verdict}\nlabelled=true\nretrain={retrain}\n"
    # labelled data decides by decay: shuffled labels call for retraining, calm data does not
    tolerance = read_result(runs["relabelled"])["performance"]["tolerance"]
    require_shuffled_labels_to_decay(trained_model_dir, records, tolerance)
    assert read_result(runs["relabelled"])["retrain"] is True
    assert read_result(runs["calm"])["retrain"] is False


def test_a_model_whose_labels_no_longer_fit_has_decayed_and_that_alone_is_drift(
    runs, records, trained_model_dir
):
    result = read_result(runs["relabelled"])
    require_shuffled_labels_to_decay(trained_model_dir, records, result["performance"]["tolerance"])
    performance = result["performance"]
    metric = performance["metric"]
    assert metric == PARAMS.drift.decay_metric
    assert performance["decayed"] is True
    assert performance["metrics"][metric]["worse_by"] > performance["tolerance"]
    assert f"| {metric} |" in (runs["relabelled"] / "summary.md").read_text()
    assert result["data_drift"] is False and result["drift"] is False
    assert result["retrain"] is True  # labelled data: decay alone calls for retraining
    assert len(result["reasons"]) == 1 and result["reasons"][0].startswith(f"{metric} is ")


def test_a_model_on_data_like_its_own_has_not_decayed(runs):
    calm = read_result(runs["calm"])
    assert calm["performance"]["decayed"] is False
    assert calm["retrain"] is False
    # the calibrated tolerance, raised when this table is smaller than its windows
    performance = calm["performance"]
    assert performance["tolerance"] == pytest.approx(
        PARAMS.drift.decay_tolerance * performance["raised_by"], rel=1e-3
    )
    tolerance = f"{performance['tolerance'] * 100:.0f}"
    tolerated = f"within the {tolerance}% tolerated: the model is fine"
    assert tolerated in calm["retrain_reason"]


def test_a_corrupt_column_is_a_clear_error_and_writes_nothing(
    params_file, sample_file, records, tmp_path, capsys
):
    column = require(numeric_feature(), "numeric feature")
    corrupt = records.astype({column: object})
    corrupt.loc[:4, column] = "two euros"
    current = write_table(corrupt, tmp_path / "corrupt.csv")
    output = tmp_path / "github_output"

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GITHUB_OUTPUT", str(output))
        assert drift(params_file, sample_file, current, tmp_path / "out") == 1
    assert f"{column}: is a number (5 rows), e.g. two euros" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert not output.exists()  # no verdict: the workflow stops here, no pull request


def test_an_unreadable_current_location_is_a_clear_error(
    params_file, sample_file, tmp_path, capsys
):
    assert drift(params_file, sample_file, tmp_path / "absent.csv", tmp_path / "out") == 1
    assert f"data not found: {tmp_path / 'absent.csv'}" in capsys.readouterr().err


@pytest.mark.demo_only
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


@pytest.mark.demo_only
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
    assert output.read_text() == "drift=true\nlabelled=true\nretrain=false\n"
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert summary.splitlines()[2].startswith("**Retraining: no**: on labelled recent data ")


def test_unlabelled_current_data_is_checked_for_drift_but_not_for_decay(
    params_file, sample_file, records, trained_model_dir, tmp_path
):
    rows, column = shifted(records)
    inputs = write_table(rows.drop(columns=[PARAMS.target]), tmp_path / "inputs.csv")
    model = ("--model", str(trained_model_dir))
    assert drift(params_file, sample_file, inputs, tmp_path / "out", *model) == 0
    result = read_result(tmp_path / "out")
    assert column in result["drifted_columns"]
    assert result["current"]["labelled"] is False
    assert result["performance"]["skipped"] == "the current data has no labels"
    # without labels, the distribution decides
    assert result["drift"] is True and result["retrain"] is True
    assert result["retrain_reason"].startswith("no labelled recent data to measure the model on")


def test_without_labels_no_drift_proposes_no_retraining(params_file, sample_file, tmp_path):
    from {{ cookiecutter.package_name }}.data.dataset import load_records

    records = load_records(sample_file, CONTRACT)
    inputs = write_table(calm(records).drop(columns=[PARAMS.target]), tmp_path / "inputs.csv")
    drift(write_params(tmp_path, sample_file), sample_file, inputs, tmp_path / "out")
    result = read_result(tmp_path / "out")
    require_quiet_columns(records, result)
    assert result["drift"] is False and result["retrain"] is False
    assert result["retrain_reason"] == (
        "no labelled recent data, and the distribution has not drifted"
    )


def test_a_folder_of_data_files_is_read_as_one_table(records, tmp_path):
    folder = tmp_path / "incoming"
    half = len(records) // 2
    write_table(records.iloc[:half], folder / "january.csv")
    write_table(records.iloc[half:], folder / "february.parquet")
    (folder / "README.md").write_text("not data\n")
    table = load_table(folder, CONTRACT)
    assert len(table.frame) == len(records)
    assert table.labelled
    assert [Path(name).name for name in table.sources] == ["february.parquet", "january.csv"]


def test_a_url_is_read_through_fsspec(records):
    fsspec = pytest.importorskip("fsspec")  # the monitor extra installs it
    bucket = fsspec.filesystem("memory")  # stands for s3:// or gs://, which need credentials
    rows = records.head(96)
    for name, part in (("b.csv", rows.iloc[48:]), ("a.csv", rows.iloc[:48])):
        with bucket.open(f"/incoming/{name}", "w") as handle:
            part.to_csv(handle, index=False)
    table = load_table("memory://incoming/", CONTRACT)
    assert len(table.frame) == 96
    assert table.sources == ["memory:///incoming/a.csv", "memory:///incoming/b.csv"]
    with pytest.raises(ProjectError, match="data not found: memory://elsewhere/"):
        load_table("memory://elsewhere/", CONTRACT)


def test_files_with_different_columns_are_refused(
    params_file, sample_file, records, tmp_path, capsys
):
    folder = tmp_path / "incoming"
    write_table(records.head(48), folder / "a.csv")
    write_table(records.head(48).drop(columns=[PARAMS.features.all[-1]]), folder / "b.csv")
    assert drift(params_file, sample_file, folder, tmp_path / "out") == 1
    assert "files in one folder must share their columns" in capsys.readouterr().err


def test_no_recent_data_yet_is_no_drift(params_file, sample_file, tmp_path):
    (tmp_path / "incoming").mkdir()
    assert drift(params_file, sample_file, tmp_path / "incoming", tmp_path / "out") == 0
    result = read_result(tmp_path / "out")
    assert result["drift"] is False
    assert result["reasons"] == [f"no recent data at {tmp_path / 'incoming'}"]


def test_the_defaults_are_data_train_and_data_incoming(params_file, sample_file, records, tmp_path):
    current = write_table(calm(records), tmp_path / "recent.csv")
    edit_params(params_file, data__incoming=str(current))
    out = tmp_path / "out"
    assert main(["drift", "--params", str(params_file), "--out", str(out)]) == 0
    result = read_result(out)
    assert result["current"]["location"] == str(current)
    assert result["reference"]["location"] == str(sample_file)


def test_big_tables_are_sampled_and_the_report_says_so(params_file, sample_file, tmp_path):
    rows = len(load_table(sample_file, CONTRACT).frame)
    limit = 1000  # the smallest drift.sample_rows allowed
    require(rows > limit or None, f"sample larger than {limit} rows")
    edit_params(params_file, drift__sample_rows=limit)
    assert drift(params_file, sample_file, sample_file, tmp_path / "out") == 0
    result = read_result(tmp_path / "out")
    assert result["sampled"] is True
    assert result["current"]["rows_tested"] == result["reference"]["rows_tested"] == limit
    assert f"a seeded sample of {limit} tested" in (tmp_path / "out" / "summary.md").read_text()


KS = {"method": "ks", "threshold": 0.05}
CATEGORICAL = PARAMS.features.categorical[:1]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("drift__categorical", KS, "drift.categorical.method"),
        ("drift__columns", {"no_such_column": KS}, "'no_such_column'] are not"),
        ("drift__decay_metric", "mape", "drift.decay_metric: use one of"),
        ("drift__share", 0, "drift.share"),
        ("drift__decay_confidence", 1.0, "drift.decay_confidence"),
        *[("drift__columns", {name: KS}, f"columns.{name}.method") for name in CATEGORICAL],
    ],
)
def test_bad_drift_params_are_named(params_file, key, value, message):
    edit_params(params_file, **{key: value})
    with pytest.raises(ProjectError, match=message):
        load_params(params_file)


def _performance(decay: float, upper: float, tolerance: float = 0.5) -> dict:
    """The decay part of drift.json, as performance_decay writes it."""
    metric = PARAMS.drift.decay_metric
    return {
        "metric": metric,
        "tolerance": tolerance,
        "decayed": decay > tolerance,
        "decay": decay,
        "decay_upper": upper,
        "confidence": 0.9,
        "metrics": {metric: dict(training=1.0, current=1.0 + decay, worse_by=decay)},
    }


@pytest.mark.parametrize(
    ("decay", "upper", "data_drift", "retrain", "says"),
    [
        (0.6, 0.8, False, True, "more than the 50% tolerated"),
        (0.45, 0.6, True, True, "the labels cannot rule out more than the 50% tolerated"),
        (0.45, 0.6, False, False, "the data has not drifted"),
        (0.3, 0.45, True, False, "the model is fine despite the drift"),
        (-0.1, 0.05, False, False, "the model is fine"),
    ],
)
def test_labelled_data_retrains_on_decay_or_on_drift_it_cannot_rule_decay_out_for(
    decay, upper, data_drift, retrain, says
):
    from {{ cookiecutter.package_name }}.monitor.drift import _retrain

    decided, reason = _retrain(_performance(decay, upper), data_drift)
    assert decided is retrain
    assert says in reason


def test_the_decay_interval_is_measured_and_reported(runs):
    for name in ("calm", "relabelled"):
        performance = read_result(runs[name])["performance"]
        assert performance["confidence"] == PARAMS.drift.decay_confidence
        assert performance["decay_upper"] > performance["decay"]
    summary = (runs["calm"] / "summary.md").read_text()
    assert f"is {PARAMS.drift.decay_confidence * 100:.0f}% sure that" in summary


def test_a_big_current_table_measures_the_decays_spread_on_a_seeded_sample(
    params_file, sample_file, records, trained_model_dir, tmp_path
):
    limit = 1000  # the smallest drift.sample_rows allowed
    require(len(records) > limit or None, f"sample larger than {limit} rows")
    edit_params(params_file, drift__sample_rows=limit)
    current = write_table(records, tmp_path / "current.csv")
    model = ("--model", str(trained_model_dir))
    assert drift(params_file, sample_file, current, tmp_path / "out", *model) == 0
    performance = read_result(tmp_path / "out")["performance"]
    assert performance["rows_resampled"] == limit
    assert performance["decay_upper"] > performance["decay"]  # centred on the whole table's
    assert f"{limit} rows) is" in (tmp_path / "out" / "summary.md").read_text()
