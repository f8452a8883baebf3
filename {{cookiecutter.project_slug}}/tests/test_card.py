"""The model card says what the model is for, what it was trained on, how good it is, who
approved it and how to roll it back."""

from __future__ import annotations

import json

import pytest

from {{ cookiecutter.package_name }}.cli import main

from conftest import PARAMS


@pytest.fixture(scope="module")
def card(trained_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("card") / "release" / "MODEL_CARD.md"
    code = main(
        [
            "card",
            "--model",
            str(trained_model_dir),
            "--out",
            str(out),
            "--pr",
            "42",
            "--repo",
            "acme/demand",
        ]
    )
    assert code == 0
    return out.read_text()


def test_it_states_the_intended_use_and_the_inputs(card):
    assert "## Intended use" in card
    for name in PARAMS.features.all:
        assert f"`{name}`" in card
    assert f"`{PARAMS.target}`" in card


def test_it_fingerprints_the_training_data_and_its_period(card, trained_model_dir):
    data = json.loads((trained_model_dir / "run.json").read_text())["data"]
    assert data["sha256"] in card
    assert f"| holdout chosen as | {data['split']} |" in card
    if PARAMS.split.time_column:
        assert f"{data['train_from']} to {data['train_to']}" in card
        assert f"{data['holdout_from']} to {data['holdout_to']}" in card
    else:
        assert f"| training rows | {data['train_rows']} rows |" in card


def test_a_classifier_card_names_its_classes(card, trained_model_dir):
    classes = json.loads((trained_model_dir / "run.json").read_text()).get("classes", [])
    for label in classes:
        assert f"`{label}`" in card


def test_it_shows_the_metrics_overall_and_for_every_slice(card, trained_model_dir):
    metrics = json.loads((trained_model_dir / "metrics.json").read_text())
    slices = json.loads((trained_model_dir / "slice_metrics.json").read_text())
    overall = next(line for line in card.splitlines() if line.startswith("| **overall**"))
    for value in metrics.values():
        assert (f"{value:.4f}" if value is not None else "n/a") in overall
    for row in slices:
        assert f"| {row['slice']} = {row['value']} | {row['rows']} |" in card


def test_it_links_the_approving_pull_request_and_explains_the_rollback(card):
    assert "[#42](https://github.com/acme/demand/pull/42)" in card
    assert "git revert -m 1" in card
    assert "release workflow" in card


def test_without_a_pull_request_it_says_so(trained_model_dir, tmp_path):
    out = tmp_path / "card.md"
    assert main(["card", "--model", str(trained_model_dir), "--out", str(out)]) == 0
    assert "no pull request recorded" in out.read_text()


@pytest.mark.parametrize("repo", ["acme", "acme/demand/extra", "acme/de mand", "/demand"])
def test_a_malformed_repository_name_is_a_usage_error(trained_model_dir, tmp_path, repo):
    with pytest.raises(SystemExit) as exited:
        main(
            [
                "card",
                "--model",
                str(trained_model_dir),
                "--out",
                str(tmp_path / "c.md"),
                "--repo",
                repo,
            ]
        )
    assert exited.value.code == 2
