"""params.yaml is validated on load; every bad key or value is named."""

import pytest

from {{ cookiecutter.package_name }}.errors import ProjectError
from {{ cookiecutter.package_name }}.params import load_params

from conftest import PROJECT, edit_params


def test_the_shipped_params_are_valid():
    params = load_params(PROJECT / "params.yaml")
    assert params.train_path == PROJECT / "data" / "train.csv"


def test_an_unknown_key_is_named(params_file):
    edit_params(params_file, model__nmae="oops")
    with pytest.raises(ProjectError, match=r"model\.nmae: unknown key"):
        load_params(params_file)


def test_a_bad_value_is_named_with_what_was_given(params_file):
    edit_params(params_file, split__holdout_fraction=1.5, model__name="xgboost")
    with pytest.raises(ProjectError) as raised:
        load_params(params_file)
    message = str(raised.value)
    assert "split.holdout_fraction: Input should be less than 1 (got 1.5)" in message
    assert "model.name" in message and "'xgboost'" in message


def test_a_rule_across_keys_names_the_rule_not_the_whole_file(params_file):
    edit_params(params_file, target="units")
    with pytest.raises(ProjectError) as raised:
        load_params(params_file)
    message = str(raised.value)
    assert "target for task" in message
    assert "hyperparameters" not in message and "holdout_fraction" not in message
    assert len(message.splitlines()) == 2


def test_an_unknown_feature_column_is_refused(params_file):
    edit_params(params_file, features__numeric=["price", "rainfall"])
    with pytest.raises(ProjectError, match="unknown columns \\['rainfall'\\]"):
        load_params(params_file)


def test_missing_or_malformed_files_are_clear_errors(tmp_path):
    with pytest.raises(ProjectError, match="params file not found"):
        load_params(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("task: [regression\n")
    with pytest.raises(ProjectError, match="not valid YAML"):
        load_params(broken)
