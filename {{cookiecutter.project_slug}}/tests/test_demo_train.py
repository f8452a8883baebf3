"""The demo's models: every model learns the demo's demand for either task, and a model
trained before the fuel shock fails after it."""

import pytest

from {{ cookiecutter.package_name }}.model.params import load_params
from {{ cookiecutter.package_name }}.training.evaluate import evaluate
from {{ cookiecutter.package_name }}.training.train import train

from conftest import edit_params

pytestmark = pytest.mark.demo_only


@pytest.mark.parametrize("model", ["gradient_boosting", "random_forest", "linear"])
@pytest.mark.parametrize("task", ["regression", "classification"])
def test_every_model_learns_the_demo_for_every_task(params_file, tmp_path, task, model):
    hyperparameters = {"n_estimators": 30} if model == "random_forest" else {}
    regression = task == "regression"
    edit_params(
        params_file,
        task=task,
        target="units_sold" if regression else "high_demand",
        model__name=model,
        model__hyperparameters=hyperparameters,
        model__target_transform="log1p" if regression else "none",
        gate__primary_metric="wape" if regression else "log_loss",
        gate__absolute_max={},
        gate__absolute_min={},
        drift__decay_metric="wape" if regression else "log_loss",
    )
    metrics = train(load_params(params_file), tmp_path / "model").metrics
    if regression:
        assert metrics["r2"] > 0.5
    else:
        assert metrics["roc_auc"] > 0.7


def test_a_model_trained_before_the_fuel_shock_fails_after_it(
    trained_model_dir, baseline_csv, shock_csv
):
    calm = evaluate(trained_model_dir, baseline_csv)
    shocked = evaluate(trained_model_dir, shock_csv)
    assert {(row["slice"], row["value"]) for row in calm.slices} >= {
        ("store", "village"),
        ("category", "pantry"),
    }
    error = "wape" if "wape" in shocked.overall else "log_loss"
    assert shocked.overall[error] > 1.5 * calm.overall[error]  # the old model fails the new world
