"""params.yaml is validated on load; every bad key or value is named."""

import pytest

from {{ cookiecutter.package_name }}.data.contract import Contract
from {{ cookiecutter.package_name }}.errors import ProjectError
from {{ cookiecutter.package_name }}.model.params import load_params

from conftest import CONTRACT, PARAMS, PROJECT, edit_params


def test_the_shipped_params_and_schema_are_valid_and_agree():
    params = load_params(PROJECT / "params.yaml")
    assert params.train_path.is_file() and params.schema_path.is_file()
    Contract.load(params).check_roles()


def test_every_column_the_params_name_is_in_the_schema():
    named = {PARAMS.target, *PARAMS.features.all, *PARAMS.key, *PARAMS.slices}
    assert named <= set(CONTRACT.schema.columns)


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


def test_a_feature_column_the_schema_does_not_have_is_refused(params_file):
    numeric = [*PARAMS.features.numeric, "no_such_column"]
    edit_params(params_file, features__numeric=numeric)
    with pytest.raises(ProjectError, match=r"features: \['no_such_column'\] not in the schema"):
        Contract.load(load_params(params_file))


def test_the_target_cannot_be_a_feature(params_file):
    edit_params(params_file, features__numeric=[*PARAMS.features.numeric, PARAMS.target])
    with pytest.raises(ProjectError, match="cannot be a feature"):
        load_params(params_file)


def test_a_missing_schema_file_is_a_clear_error(params_file, tmp_path):
    edit_params(params_file, data__schema=str(tmp_path / "absent.yaml"))
    with pytest.raises(ProjectError, match="schema file not found"):
        Contract.load(load_params(params_file))


def test_a_schema_that_is_not_pandera_yaml_is_a_clear_error(params_file, tmp_path):
    (tmp_path / "schema.yaml").write_text("columns: [this is not a schema\n")
    edit_params(params_file, data__schema=str(tmp_path / "schema.yaml"))
    with pytest.raises(ProjectError, match="not a valid Pandera YAML schema"):
        Contract.load(load_params(params_file))


def test_missing_or_malformed_files_are_clear_errors(tmp_path):
    with pytest.raises(ProjectError, match="params file not found"):
        load_params(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("task: [regression\n")
    with pytest.raises(ProjectError, match="not valid YAML"):
        load_params(broken)


def test_a_rule_across_keys_names_the_rule_not_the_whole_file(params_file):
    edit_params(params_file, features__numeric=[*PARAMS.features.numeric, PARAMS.target])
    with pytest.raises(ProjectError) as raised:
        load_params(params_file)
    message = str(raised.value)
    assert "cannot be a feature" in message
    assert "hyperparameters" not in message and "holdout_fraction" not in message
    assert len(message.splitlines()) == 2
