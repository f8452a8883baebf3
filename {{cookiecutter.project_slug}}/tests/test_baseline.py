"""Every model beside its trivial baseline: in its files, the gate, the comment, the card."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.data.contract import Contract
from {{ cookiecutter.package_name }}.data.dataset import load_records, split_records
from {{ cookiecutter.package_name }}.data.tables import write_table
from {{ cookiecutter.package_name }}.markdown_text import plain
from {{ cookiecutter.package_name }}.model.artifacts import load_model
from {{ cookiecutter.package_name }}.model.baseline import fit_baseline, skill
from {{ cookiecutter.package_name }}.model.metrics import HIGHER_IS_BETTER, metrics_for, score
from {{ cookiecutter.package_name }}.model.params import GateParams
from {{ cookiecutter.package_name }}.review.compare import (
    LOOK,
    Champion,
    Delta,
    compare,
    gate_failures,
    gate_looks,
    judge,
    percent,
)
from {{ cookiecutter.package_name }}.serve.card import model_card
from test_compare import absent, compare_cli, train_on

from conftest import PARAMS

PRIMARY, TARGET = PARAMS.gate.primary_metric, PARAMS.target
ERROR = next(name for name in metrics_for(PARAMS.task) if not HIGHER_IS_BETTER[name])


def test_train_writes_the_baseline_scored_on_the_same_holdout(trained_model_dir):
    model = load_model(trained_model_dir)
    written = json.loads((trained_model_dir / "baseline.json").read_text())
    metrics = json.loads((trained_model_dir / "metrics.json").read_text())

    records = load_records(Path(model.run["data"]["path"]), Contract.of_model(model))
    holdout = split_records(records, Contract.of_model(model)).holdout
    truth = model.truth_of(holdout)
    expected = score(model.task, truth, model.baseline.predict(len(holdout)))

    assert set(written["metrics"]) == set(metrics)
    for name, value in expected.items():
        assert written["metrics"][name] == (None if math.isnan(value) else pytest.approx(value))
        assert written["skill"][name] == skill(name, metrics[name], written["metrics"][name])
    assert written["baseline"] == model.baseline.description


def test_the_regression_baseline_is_the_best_constant_for_the_primary_metric():
    values = np.array([1.0, 2.0, 3.0, 100.0])
    assert fit_baseline("regression", "mae", values).value == 2.5  # the median
    assert fit_baseline("regression", "wape", values).value == 2.5
    assert fit_baseline("regression", "rmse", values).value == 26.5  # the mean
    assert fit_baseline("regression", "r2", values).predict(3).tolist() == [26.5] * 3


def test_the_classification_baseline_predicts_the_training_class_frequencies():
    baseline = fit_baseline("classification", "log_loss", np.array([0, 0, 0, 2]), classes=3)
    assert baseline.frequencies == (0.75, 0.0, 0.25)
    assert baseline.predict(2).tolist() == [[0.75, 0.0, 0.25]] * 2
    assert baseline.description == "the training class frequencies"


def test_skill_is_zero_for_the_baseline_one_for_perfect_and_negative_for_worse():
    assert skill("mae", 2.0, 2.0) == 0 and skill("mae", 0.0, 2.0) == 1
    assert skill("mae", 3.0, 2.0) == -0.5
    assert skill("r2", 0.5, 0.0) == 0.5 and skill("accuracy", 1.0, 0.6) == 1
    assert skill("mae", 1.0, 0.0) is None  # a perfect baseline leaves nothing to remove
    assert skill("mae", float("nan"), 1.0) is None


def baseline_delta(worse_than_baseline: float, sure_better: float, rows: int = 500) -> Delta:
    """The model against the baseline: main = the baseline's error, pr = the model's."""
    return Delta(
        ERROR,
        main=1.0,
        pr=1.0 + worse_than_baseline,
        low=-0.1,
        high=0.1,
        rows=rows,
        gate_confidence=PARAMS.gate.baseline_confidence,
        sure_worse=1 - sure_better,
        label="baseline",
    )


@pytest.fixture
def shuffled_target(tmp_path, records, sample_file) -> Path:
    records[TARGET] = np.random.default_rng(1).permutation(records[TARGET].to_numpy())
    return write_table(records, tmp_path / f"shuffled{sample_file.suffix}")


# A model that surely does not beat its baseline: boosting without early stopping learns the
# shuffled target's noise, and noise predicts worse than a constant. (An early-stopped model
# learns next to nothing and lands near the baseline, on either side of it by chance.)
NOISE_MODEL = {
    "model__name": "gradient_boosting",
    "model__hyperparameters": {"early_stopping": False, "max_iter": 200, "learning_rate": 0.3},
}


def require_useless(report: dict) -> None:
    """Skip unless the shuffled target's model does not beat the baseline on this holdout."""
    if report["baseline"]["beaten"]:
        pytest.skip(
            "a model of the shuffled target beats the baseline here: the baseline is far off "
            f"on this holdout ({report['baseline']['description']}; a trending series held out "
            "by time, say), so a useless model cannot be told from it"
        )


def test_a_first_model_that_does_not_beat_its_baseline_fails_the_gate(
    tmp_path, sample_file, shuffled_target
):
    challenger = train_on(tmp_path / "pr", shuffled_target, **NOISE_MODEL)
    code, comment, report = compare_cli(
        tmp_path, absent(tmp_path / "main"), challenger, sample_file
    )
    require_useless(report)

    assert report["baseline"]["beaten"] is False
    assert report["baseline"]["delta"]["gate_confidence"] == PARAMS.gate.baseline_confidence
    assert code == 1 and report["state"] == "fail"
    assert comment.splitlines()[2].startswith(f"## ❌ Does not beat the baseline: {PRIMARY} ")
    assert any(f"{PRIMARY} does not beat the baseline (" in f for f in report["failures"])


def test_a_challenger_that_does_not_beat_the_baseline_fails_whatever_main_scores(
    tmp_path, sample_file, shuffled_target
):
    main_model = train_on(tmp_path / "main", shuffled_target, **NOISE_MODEL)  # main is as bad
    challenger = train_on(tmp_path / "pr", shuffled_target, **NOISE_MODEL)
    code, _, report = compare_cli(tmp_path, main_model, challenger, sample_file)
    require_useless(report)
    assert report["identical"] is True  # the same model: nothing worse than main
    assert code == 1 and report["baseline"]["required"] is True
    assert report["failures"] == [next(f for f in report["failures"] if "baseline" in f)]


def test_with_the_baseline_rule_switched_off_the_comment_says_so(
    tmp_path, sample_file, shuffled_target
):
    challenger = train_on(
        tmp_path / "pr", shuffled_target, gate__beat_baseline=False, **NOISE_MODEL
    )
    code, comment, report = compare_cli(
        tmp_path, absent(tmp_path / "main"), challenger, sample_file
    )
    require_useless(report)
    assert code == 0 and report["state"] == "needs a look"
    assert "is not required here (gate.beat_baseline: false in params.yaml)" in comment
    assert f"{PRIMARY} does not beat the baseline" in report["needs_a_look"][0]


def test_the_baseline_check_needs_its_own_stricter_confidence():
    """A useless model's "how sure" is uniform: at the gate's 67% a third would pass."""
    gate = GateParams(**{**PARAMS.gate.model_dump(), "primary_metric": ERROR})
    assert gate.baseline_confidence > gate.confidence
    from {{ cookiecutter.package_name }}.review.compare import BaselineCheck

    def check(sure_better: float) -> BaselineCheck:
        return BaselineCheck("the training median (1)", {}, baseline_delta(-0.1, sure_better), True)

    no_main = Champion("absent")
    required = gate.baseline_confidence
    unsure = check(required - 0.01)
    assert not unsure.beaten
    assert gate_failures(gate, no_main, {}, [], [], unsure) == [
        f"{ERROR} does not beat the baseline (the training median (1)): 1.0000 for the baseline, "
        f"0.9000 for this PR's model; the bootstrap is {percent(required - 0.01)} sure "
        f"the model is better, {percent(required)} required"
    ]
    assert check(required).beaten
    assert gate_failures(gate, no_main, {}, [], [], check(required)) == []


def test_a_holdout_too_small_for_the_gates_confidence_asks_for_the_95_percent_interval():
    shipped = PARAMS.gate.model_dump()  # the numbers below are for the default 2% tolerance
    changed = {"primary_metric": ERROR, "min_rows": 200, "max_regression": 0.02}
    gate = GateParams(**{**shipped, **changed})
    sure_worse = {"gate_low": 0.01, "gate_high": 0.02, "gate_confidence": 0.67}
    # 36 rows: 67% sure of 27% worse, but the 95% interval reaches back to better than main
    small = Delta(ERROR, 0.0367, 0.0471, -0.0024, 0.0308, rows=36, **sure_worse)
    assert judge(gate, small) == LOOK
    assert gate_failures(gate, Champion("trained", model=object()), {}, [small], []) == []
    (look,) = gate_looks(gate, Champion("trained", model=object()), [small], [])
    assert "with 36 held-out rows, fewer than 200, the gate asks for 97.5%" in look
    assert look.endswith("too few rows to tell)")
    assert judge(gate, Delta(**{**vars(small), "rows": 200})) == "fail"  # 67% from 200 rows
    # few rows, but even the 95% interval is far past the tolerance: it fails
    clear = Delta(ERROR, 0.0367, 0.0471, 0.005, 0.015, rows=36, **sure_worse)
    assert judge(gate, clear) == "fail"


def test_the_comment_never_calls_a_change_significant_and_resamples_as_the_data_is(
    tmp_path, trained_model_dir, sample_file
):
    _, comment, _ = compare_cli(tmp_path, trained_model_dir, trained_model_dir, sample_file)
    assert "significant" not in comment
    how = f"the rows of one {PARAMS.split.time_column}" if PARAMS.split.time_column else "rows one"
    assert f"resamples of the holdout ({plain(how)}" in comment  # a column name, escaped
    assert "days" not in comment or PARAMS.split.time_column
    assert f"The model predicts `{TARGET}` ({PARAMS.task})." in comment


def test_slices_too_small_to_report_are_counted_and_no_empty_section_or_chart_is_shown(
    tmp_path, trained_model_dir, sample_file
):
    if not PARAMS.slices:
        pytest.skip("the project has no slices in params.yaml")
    challenger = train_on(tmp_path / "pr", sample_file, gate__min_slice_rows=10**9)
    result = compare(trained_model_dir, challenger, sample_file)
    _, comment, _ = compare_cli(tmp_path, trained_model_dir, challenger, sample_file)
    count = len(result.slice_metrics)
    assert f"{count} slice(s) have fewer than {10**9} held-out rows" in comment
    assert "### Slices" not in comment and "mermaid" not in comment


def test_evaluate_shows_the_baseline_and_keeps_metric_names_apart(trained_model_dir, capsys):
    main(["evaluate", "--model", str(trained_model_dir)])
    table = capsys.readouterr().out
    header = table.splitlines()[0]
    for name in metrics_for(PARAMS.task):
        assert f" {name}" in header  # a space before every name: none runs into another
    assert any(line.startswith("baseline ") for line in table.splitlines())
    assert "baseline: the training" in table


def test_the_model_card_shows_the_baseline_and_the_skill(trained_model_dir):
    card = model_card(trained_model_dir)
    assert "| baseline |" in card and "| skill over the baseline |" in card
    assert load_model(trained_model_dir).baseline.description in card


def test_how_sure_never_reads_as_the_required_level_when_below_it():
    from {{ cookiecutter.package_name }}.review.compare import sure_against

    assert sure_against(0.949, 0.95) == "94.9%"  # not "95%" beside "95% required"
    assert sure_against(0.94, 0.95) == "94%"
    assert sure_against(0.97, 0.95) == "97%"
