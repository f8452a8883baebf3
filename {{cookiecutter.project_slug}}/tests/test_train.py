"""Training is deterministic, records its run, and never leaves a half-written model."""

import json

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.dataset import InvalidData, load_records, split_by_time
from {{ cookiecutter.package_name }}.errors import ProjectError
from {{ cookiecutter.package_name }}.evaluate import evaluate
from {{ cookiecutter.package_name }}.params import load_params
from {{ cookiecutter.package_name }}.train import train

from conftest import edit_params


def test_it_writes_metrics_model_and_run_record(params_file, tmp_path):
    result = train(load_params(params_file), tmp_path / "model")
    written = {path.name for path in (tmp_path / "model").iterdir()}
    assert written == {"metrics.json", "model.joblib", "run.json", "slice_metrics.json"}
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text())
    assert metrics == pytest.approx(result.metrics)
    assert all(isinstance(value, float) for value in metrics.values())
    run = json.loads((tmp_path / "model" / "run.json").read_text())
    assert len(run["data"]["sha256"]) == 64
    assert run["seed"] == 42 and run["packages"]["scikit-learn"]
    assert run["data"]["train_to"] < run["data"]["holdout_from"]


def test_training_twice_gives_identical_metrics(params_file, tmp_path):
    params = load_params(params_file)
    train(params, tmp_path / "first")
    train(params, tmp_path / "second")
    first = (tmp_path / "first" / "metrics.json").read_bytes()
    assert first == (tmp_path / "second" / "metrics.json").read_bytes()


@pytest.mark.parametrize("model", ["gradient_boosting", "random_forest", "linear"])
@pytest.mark.parametrize("task", ["regression", "classification"])
def test_every_model_learns_something_for_every_task(params_file, tmp_path, task, model):
    hyperparameters = {"n_estimators": 30} if model == "random_forest" else {}
    edit_params(
        params_file,
        task=task,
        model__name=model,
        model__hyperparameters=hyperparameters,
        target="units_sold" if task == "regression" else "high_demand",
        gate__primary_metric="wape" if task == "regression" else "log_loss",
        gate__absolute_max={},
        gate__absolute_min={},
        drift__decay_metric="wape" if task == "regression" else "log_loss",
    )
    metrics = train(load_params(params_file), tmp_path / "model").metrics
    if task == "regression":
        assert metrics["r2"] > 0.5
    else:
        assert metrics["roc_auc"] > 0.7


def test_invalid_data_stops_training_and_leaves_the_output_untouched(
    params_file, baseline_csv, tmp_path
):
    out = tmp_path / "model"
    out.mkdir()
    (out / "keep.txt").write_text("an earlier run")
    bad = pd.read_csv(baseline_csv)
    bad.loc[0, "price"] = -3
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(InvalidData) as raised:
        train(load_params(params_file), out, data=tmp_path / "bad.csv")
    assert "price: must be > 0 (1 rows)" in str(raised.value)
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


def test_the_holdout_is_the_newest_days(baseline_csv):
    split = split_by_time(load_records(baseline_csv), 0.25)
    assert split.train["date"].max() < split.holdout["date"].min()
    assert 0.2 < len(split.holdout) / (len(split.train) + len(split.holdout)) < 0.3


def test_evaluate_scores_overall_and_every_slice(params_file, baseline_csv, shock_csv, tmp_path):
    train(load_params(params_file), tmp_path / "model")
    calm = evaluate(tmp_path / "model", baseline_csv)
    shocked = evaluate(tmp_path / "model", shock_csv)
    assert {(row["slice"], row["value"]) for row in calm.slices} >= {
        ("store", "village"),
        ("category", "pantry"),
    }
    error = "wape" if shocked.overall.keys() >= {"wape"} else "log_loss"
    assert shocked.overall[error] > 1.5 * calm.overall[error]  # the old model fails the new world
