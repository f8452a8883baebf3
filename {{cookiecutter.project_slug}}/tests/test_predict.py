"""Batch serving: `predict` writes one prediction per input row, or nothing at all."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.data.tables import read_table
from {{ cookiecutter.package_name }}.model.artifacts import load_model

from conftest import PARAMS, not_allowed, out_of_range, require, required_feature


@pytest.fixture(scope="module")
def inputs(sample_file, tmp_path_factory):
    """Model inputs only (no target, no key): what production sends."""
    frame = read_table(sample_file).head(300)
    path = tmp_path_factory.mktemp("inputs") / "inputs.csv"
    frame[PARAMS.features.all].to_csv(path, index=False)
    return path


def predict(model: object, source: object, out: object) -> int:
    return main(["predict", "--model", str(model), "--input", str(source), "--out", str(out)])


def test_it_writes_one_prediction_per_row_equal_to_the_models(trained_model_dir, inputs, tmp_path):
    out = tmp_path / "out" / "predictions.csv"
    assert predict(trained_model_dir, inputs, out) == 0
    written = pd.read_csv(out)
    model = load_model(trained_model_dir)
    sent = pd.read_csv(inputs)
    expected = model.predict(written)
    assert len(written) == len(sent)
    if model.task == "classification":
        columns = [f"probability_{label}" for label in model.classes]
        np.testing.assert_allclose(written[columns], expected, rtol=1e-12)
        assert written["label"].astype(str).tolist() == [
            str(label) for label in model.labels_of(expected)
        ]
    else:
        np.testing.assert_allclose(written["prediction"], expected, rtol=1e-12)
    # the input columns are kept, so each prediction can be joined back to its row
    pd.testing.assert_frame_equal(written[sent.columns], sent)


def test_invalid_input_exits_1_with_the_report_and_leaves_the_output_alone(
    trained_model_dir, inputs, tmp_path, capsys
):
    bounded, too_far, _ = require(out_of_range(), "bounded feature")
    listed, unknown = require(not_allowed(), "feature with allowed values")
    bad = pd.read_csv(inputs).astype({bounded: object, listed: object})
    bad.loc[3, bounded] = too_far
    bad.loc[5, listed] = unknown
    bad_path = tmp_path / "bad.csv"
    bad.to_csv(bad_path, index=False)
    out = tmp_path / "predictions.csv"
    out.write_text("previous predictions\n")

    assert predict(trained_model_dir, bad_path, out) == 1

    report = capsys.readouterr().err
    assert f"{bounded}: " in report and f"{listed}: must be one of" in report
    assert out.read_text() == "previous predictions\n"
    assert set(tmp_path.iterdir()) == {bad_path, out}  # no temp file left behind


def test_a_missing_column_is_reported_and_nothing_is_written(
    trained_model_dir, inputs, tmp_path, capsys
):
    column = required_feature()
    partial = tmp_path / "partial.csv"
    pd.read_csv(inputs).drop(columns=[column]).to_csv(partial, index=False)
    out = tmp_path / "predictions.csv"
    assert predict(trained_model_dir, partial, out) == 1
    assert f"{column}: column is missing" in capsys.readouterr().err
    assert not out.exists()


def test_a_column_named_like_a_prediction_is_refused(trained_model_dir, inputs, tmp_path, capsys):
    model = load_model(trained_model_dir)
    clashing = "label" if model.task == "classification" else "prediction"
    source = tmp_path / "clash.csv"
    pd.read_csv(inputs).assign(**{clashing: 1}).to_csv(source, index=False)
    assert predict(trained_model_dir, source, tmp_path / "predictions.csv") == 1
    assert f"already has column(s) ['{clashing}']" in capsys.readouterr().err


def test_a_directory_that_is_not_a_model_is_refused(inputs, tmp_path, capsys):
    out = tmp_path / "predictions.csv"
    assert predict(tmp_path, inputs, out) == 1
    assert "not a trained model directory" in capsys.readouterr().err
    assert not out.exists()
