"""Batch serving: `predict` writes one prediction per input row, or nothing at all."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.artifacts import load_model
from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.validation import read_csv


@pytest.fixture(scope="module")
def inputs(baseline_csv, tmp_path_factory):
    """Model inputs only (no date, no targets): what production sends."""
    frame = pd.read_csv(baseline_csv).head(300)
    path = tmp_path_factory.mktemp("inputs") / "inputs.csv"
    frame[["store", "category", "price", "promotion", "temperature", "fuel_price"]].to_csv(
        path, index=False
    )
    return path


def test_it_writes_one_prediction_per_row_equal_to_the_models(trained_model_dir, inputs, tmp_path):
    out = tmp_path / "out" / "predictions.csv"
    assert (
        main(
            [
                "predict",
                "--model",
                str(trained_model_dir),
                "--input",
                str(inputs),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    written = pd.read_csv(out)
    model = load_model(trained_model_dir)
    expected = model.predict(read_csv(inputs))
    assert len(written) == len(pd.read_csv(inputs))
    if model.task == "classification":
        np.testing.assert_allclose(written["probability"], expected, rtol=1e-12)
        assert written["label"].tolist() == (expected >= 0.5).astype(int).tolist()
    else:
        np.testing.assert_allclose(written["prediction"], expected, rtol=1e-12)
    # the input columns are kept, so each prediction can be joined back to its row
    assert written["store"].tolist() == pd.read_csv(inputs)["store"].tolist()


def test_invalid_input_exits_1_with_the_report_and_leaves_the_output_alone(
    trained_model_dir, inputs, tmp_path, capsys
):
    bad = pd.read_csv(inputs)
    bad.loc[3, "price"] = -2
    bad.loc[5, "store"] = "moon_base"
    bad_path = tmp_path / "bad.csv"
    bad.to_csv(bad_path, index=False)
    out = tmp_path / "predictions.csv"
    out.write_text("previous predictions\n")

    code = main(
        ["predict", "--model", str(trained_model_dir), "--input", str(bad_path), "--out", str(out)]
    )

    assert code == 1
    report = capsys.readouterr().err
    assert "price: must be > 0" in report
    assert "store: must be one of" in report
    assert out.read_text() == "previous predictions\n"
    assert set(tmp_path.iterdir()) == {bad_path, out}  # no temp file left behind


def test_a_missing_column_is_reported_and_nothing_is_written(
    trained_model_dir, inputs, tmp_path, capsys
):
    partial = tmp_path / "partial.csv"
    pd.read_csv(inputs).drop(columns=["fuel_price"]).to_csv(partial, index=False)
    out = tmp_path / "predictions.csv"
    assert (
        main(
            [
                "predict",
                "--model",
                str(trained_model_dir),
                "--input",
                str(partial),
                "--out",
                str(out),
            ]
        )
        == 1
    )
    assert "fuel_price: column is missing" in capsys.readouterr().err
    assert not out.exists()


def test_a_directory_that_is_not_a_model_is_refused(inputs, tmp_path, capsys):
    out = tmp_path / "predictions.csv"
    assert (
        main(["predict", "--model", str(tmp_path), "--input", str(inputs), "--out", str(out)]) == 1
    )
    assert "not a trained model directory" in capsys.readouterr().err
    assert not out.exists()
