"""Training is deterministic, records its run, and never leaves a half-written model."""

import json

import numpy as np
import pytest
import yaml

from {{ cookiecutter.package_name }}.data.dataset import InvalidData, load_records, split_records
from {{ cookiecutter.package_name }}.data.tables import write_table
from {{ cookiecutter.package_name }}.errors import ProjectError
from {{ cookiecutter.package_name }}.model.metrics import metrics_for
from {{ cookiecutter.package_name }}.model.params import load_params
from {{ cookiecutter.package_name }}.training.evaluate import evaluate
from {{ cookiecutter.package_name }}.training.train import train

from conftest import CONTRACT, PARAMS, edit_params, out_of_range, require

HAS_TIME = PARAMS.split.time_column is not None


def test_it_writes_metrics_model_and_run_record(params_file, tmp_path):
    result = train(load_params(params_file), tmp_path / "model")
    written = {path.name for path in (tmp_path / "model").iterdir()}
    assert written == {
        "baseline.json",
        "metrics.json",
        "model.joblib",
        "run.json",
        "slice_metrics.json",
        "holdout_predictions.npz",
    }
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text())
    assert metrics == pytest.approx(result.metrics, nan_ok=True)
    assert set(metrics) == set(metrics_for(PARAMS.task))
    run = json.loads((tmp_path / "model" / "run.json").read_text())
    assert len(run["data"]["sha256"]) == 64 and len(run["data"]["schema_sha256"]) == 64
    assert run["seed"] == PARAMS.seed and run["packages"]["scikit-learn"]
    # the schema as YAML: every feature is a column of it (names may hold spaces)
    assert set(yaml.safe_load(run["schema"])["columns"]) >= set(PARAMS.features.all)
    if HAS_TIME:
        assert run["data"]["train_to"] < run["data"]["holdout_from"]


def test_training_twice_gives_identical_metrics(params_file, tmp_path):
    params = load_params(params_file)
    train(params, tmp_path / "first")
    train(params, tmp_path / "second")
    first = (tmp_path / "first" / "metrics.json").read_bytes()
    assert first == (tmp_path / "second" / "metrics.json").read_bytes()


@pytest.mark.parametrize("model", ["gradient_boosting", "random_forest", "linear"])
def test_every_model_trains_on_the_projects_data(params_file, tmp_path, model):
    hyperparameters = {"n_estimators": 30} if model == "random_forest" else {}
    edit_params(params_file, model__name=model, model__hyperparameters=hyperparameters)
    result = train(load_params(params_file), tmp_path / "model")
    assert set(result.metrics) == set(metrics_for(PARAMS.task))
    assert result.run["params"]["model"]["name"] == model


def test_predictions_are_values_or_one_probability_per_class(trained_model_dir):
    from {{ cookiecutter.package_name }}.model.artifacts import load_model

    model = load_model(trained_model_dir)
    records = load_records(PARAMS.train_path, CONTRACT).head(20)
    predicted = model.predict(records)
    if model.task == "regression":
        assert predicted.shape == (20,)
        return
    assert model.classes == model.run["classes"]
    assert predicted.shape == (20, len(model.classes))
    np.testing.assert_allclose(predicted.sum(axis=1), 1.0)
    assert set(model.truth_of(records)) <= set(range(len(model.classes)))


def test_invalid_data_stops_training_and_leaves_the_output_untouched(
    params_file, records, tmp_path
):
    column, value, _ = require(out_of_range(), "bounded feature")
    out = tmp_path / "model"
    out.mkdir()
    (out / "keep.txt").write_text("an earlier run")
    bad = records.astype({column: object})
    bad.loc[0, column] = value
    write_table(bad, tmp_path / "bad.csv")
    with pytest.raises(InvalidData) as raised:
        train(load_params(params_file), out, data=tmp_path / "bad.csv")
    assert f"{column}: " in str(raised.value) and "(1 rows)" in str(raised.value)
    assert [path.name for path in out.iterdir()] == ["keep.txt"]
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".model")] == []


def test_a_bad_hyperparameter_is_named(params_file, tmp_path):
    edit_params(
        params_file, model__name="gradient_boosting", model__hyperparameters={"max_iterations": 5}
    )
    with pytest.raises(ProjectError, match=r"\['max_iterations'\] not accepted"):
        train(load_params(params_file), tmp_path / "model")
    edit_params(params_file, model__hyperparameters={"learning_rate": -1})
    with pytest.raises(ProjectError, match="learning_rate"):
        train(load_params(params_file), tmp_path / "model")
    assert not (tmp_path / "model").exists()


@pytest.mark.skipif(not HAS_TIME, reason="params.yaml names no split.time_column")
def test_with_a_time_column_the_holdout_is_the_newest_rows(sample_file):
    split = split_records(load_records(sample_file, CONTRACT), CONTRACT)
    time = PARAMS.split.time_column
    assert split.train[time].max() < split.holdout[time].min()
    share = len(split.holdout) / (len(split.train) + len(split.holdout))
    assert abs(share - PARAMS.split.holdout_fraction) < 0.1


def test_without_a_time_column_the_holdout_is_a_seeded_random_share(params_file, sample_file):
    from {{ cookiecutter.package_name }}.data.contract import Contract

    contract = Contract.load(load_params(edit_params(params_file, split__time_column=None)))
    records = load_records(sample_file, contract)
    first, again = split_records(records, contract), split_records(records, contract)
    assert first.holdout.index.equals(again.holdout.index)
    share = len(first.holdout) / len(records)
    assert abs(share - PARAMS.split.holdout_fraction) < 0.05
    assert "seeded random" in first.how


def test_rows_sharing_a_group_stay_on_one_side_of_the_split(params_file, sample_file):
    from {{ cookiecutter.package_name }}.data.contract import Contract

    records = load_records(sample_file, CONTRACT)
    candidates = dict.fromkeys([*PARAMS.slices, *PARAMS.features.categorical])
    require(list(candidates) or None, "slice or categorical column to group by")
    column = max(candidates, key=lambda name: records[name].nunique())
    groups = records[column].nunique()
    if round(groups * PARAMS.split.holdout_fraction) == 0:  # as the split counts them
        pytest.skip(f"{column} has {groups} values: too few groups to hold a share of them out")
    group = [column]
    params = edit_params(params_file, split__time_column=None, split__group_by=group)
    contract = Contract.load(load_params(params))
    split = split_records(load_records(sample_file, contract), contract)
    values = split.train[group].drop_duplicates().merge(split.holdout[group].drop_duplicates())
    assert values.empty


def test_evaluate_scores_overall_and_every_slice(trained_model_dir, sample_file):
    evaluation = evaluate(trained_model_dir, sample_file)
    records = load_records(sample_file, CONTRACT)
    assert evaluation.rows == len(records)
    assert set(evaluation.overall) == set(metrics_for(PARAMS.task))
    expected = {
        # rows whose slice value is missing count overall, in no slice
        (column, str(value))
        for column in PARAMS.slices
        for value in records[column].dropna().unique()
    }
    assert {(row["slice"], row["value"]) for row in evaluation.slices} == expected
