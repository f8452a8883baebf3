"""A holdout too small to tell: the gate judges main's model and this PR's over repeated splits."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.data.dataset import load_records, split_records
from {{ cookiecutter.package_name }}.data.tables import write_table
from {{ cookiecutter.package_name }}.model.metrics import HIGHER_IS_BETTER, metrics_for
from {{ cookiecutter.package_name }}.model.params import GateParams, load_params
from {{ cookiecutter.package_name }}.review.compare import FAIL, NOT_GATED, Delta, judge
from {{ cookiecutter.package_name }}.review.repeated_splits import (
    MIN_SPLITS,
    MIN_TEST_ROWS,
    OLDEST_TRAINING_SHARE,
    SPLITS,
    SplitScores,
    _folds,
    _older_blocks,
)
from {{ cookiecutter.package_name }}.training.train import train

from conftest import CONTRACT, PARAMS, sample_of, write_params

ERROR = next(name for name in metrics_for(PARAMS.task) if not HIGHER_IS_BETTER[name])
# one hyper-parameter moved by 5%: a change of nothing material, for each model params may name
NUDGES = {
    "gradient_boosting": ("learning_rate", 0.1),
    "random_forest": ("n_estimators", 200),
    "linear": ("alpha", 1.0),
}
SMALL_ROWS = 400  # a few hundred rows: twenty refits stay within seconds


def test_the_gap_is_judged_by_the_corrected_resampled_t_test():
    main_scores = [1.0, 1.1, 0.9, 1.2, 1.0, 0.95]
    pr_scores = [1.05, 1.12, 0.97, 1.22, 1.08, 0.99]
    scores = SplitScores(ERROR, main_scores, pr_scores, 40.0, 160.0, "six splits")
    differences = np.subtract(pr_scores, main_scores)
    # Nadeau and Bengio: the splits share rows, so the variance of the mean is not s²/k
    error = np.sqrt((1 / 6 + 40 / 160) * differences.var(ddof=1))
    half = t.ppf(0.975, 5) * error
    assert scores.interval(0.95) == pytest.approx(
        (differences.mean() - half, differences.mean() + half)
    )
    assert scores.sure_worse() == pytest.approx(t.cdf(differences.mean() / error, 5))
    naive = t.ppf(0.975, 5) * differences.std(ddof=1) / np.sqrt(6)
    assert half > naive  # wider than the plain standard error of six independent scores


def test_recipes_that_never_differ_are_identical_and_no_surer_either_way():
    scores = SplitScores(ERROR, [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], 10.0, 40.0, "three splits")
    assert scores.interval(0.95) == (0.0, 0.0)
    assert scores.sure_worse() == 0.5
    delta = Delta(ERROR, 2.0, 2.0, 0.0, 0.0, rows=50, splits=3, sure_worse=0.5)
    assert delta.identical and delta.how_sure == "identical"


def test_over_repeated_splits_the_gate_keeps_its_own_confidence_on_few_rows():
    """The 97.5% asked of a small holdout is for one split: repeated splits are the evidence."""
    gate = GateParams(
        **{**PARAMS.gate.model_dump(), "primary_metric": ERROR, "max_regression": 0.02}
    )
    sure = {"gate_low": 0.01, "gate_high": 0.02, "gate_confidence": 0.67}
    one_holdout = Delta(ERROR, 0.0367, 0.0471, -0.0024, 0.0308, rows=36, **sure)
    assert judge(gate, one_holdout) != FAIL  # one row of 36 may not decide
    repeated = Delta(ERROR, 0.0367, 0.0471, -0.0024, 0.0308, rows=178, splits=10, **sure)
    assert judge(gate, repeated) == FAIL  # ten splits 67% sure of 27% worse: it fails


def test_blocks_of_time_are_scored_by_models_fitted_only_on_older_rows():
    quarters = pd.DataFrame(
        {"when": pd.date_range("1959-01-01", periods=203, freq="QS"), "value": range(203)}
    )
    folds, how = _older_blocks(quarters, "when")
    assert MIN_SPLITS <= len(folds) <= SPLITS and "blocks of time" in how
    seen = set()
    for before, test in folds:
        assert before["when"].max() < test["when"].min()  # never a later row to learn from
        assert len(test) >= MIN_TEST_ROWS - 1 and not seen & set(test.index)  # disjoint blocks
        assert len(before) >= len(quarters) * OLDEST_TRAINING_SHARE - len(test)
        seen |= set(test.index)
    assert max(seen) == 202  # the newest block ends with the newest row
    assert _older_blocks(quarters.head(3 * 2 * MIN_TEST_ROWS - 1), "when") == ([], "")


def test_without_a_time_column_the_splits_are_drawn_as_the_holdout_is(sample_file):
    if CONTRACT.time_column:
        pytest.skip("params.yaml names a time column: its splits are blocks of time (above)")
    records = load_records(sample_file, CONTRACT)
    folds, how = _folds(records, CONTRACT)
    holdout = split_records(records, CONTRACT).holdout
    assert len(folds) == SPLITS and f"of the {len(records)} rows" in how
    held = [frozenset(test.index) for _, test in folds]
    assert len(set(held)) == SPLITS and frozenset(holdout.index) not in held  # other draws
    for fitted_on, test in folds:
        assert abs(len(test) - len(holdout)) <= records[PARAMS.target].nunique()
        assert not set(fitted_on.index) & set(test.index)
        if PARAMS.task == "classification" and not PARAMS.split.group_by:  # stratified
            shares = test[PARAMS.target].value_counts(normalize=True)
            whole = holdout[PARAMS.target].value_counts(normalize=True)
            assert set(shares.index) == set(whole.index)


@pytest.fixture(scope="module")
def small(tmp_path_factory, sample_file):
    """A few hundred rows of the project's data and main's model on them, with the gate's
    min_rows above the holdout's size: whatever the data, the holdout is too small to tell."""
    folder = tmp_path_factory.mktemp("small")
    records = sample_of(load_records(sample_file, CONTRACT), PARAMS, SMALL_ROWS)
    data = write_table(records, folder / f"small{sample_file.suffix}")
    changes = {"gate__min_rows": 10 * SMALL_ROWS}
    (folder / "main").mkdir()
    train(load_params(write_params(folder / "main", data, **changes)), folder / "main" / "model")
    return data, folder / "main" / "model", changes


def compare_small(tmp_path, champion, challenger, data):
    out = tmp_path / "comment.md"
    code = main(
        [
            "compare",
            *("--champion", str(champion), "--challenger", str(challenger)),
            *("--data", str(data), "--out", str(out), "--artifacts", str(tmp_path / "report")),
        ]
    )
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    return code, out.read_text(), report


def test_a_holdout_too_small_to_tell_is_judged_over_repeated_splits(tmp_path, small):
    data, champion, changes = small
    key, default = NUDGES[PARAMS.model.name]
    current = PARAMS.model.hyperparameters.get(key, default)
    nudged = round(current * 1.05) if isinstance(default, int) else current * 0.95
    pr = tmp_path / "pr"
    pr.mkdir()
    changes = {**changes, f"model__hyperparameters__{key}": nudged}
    train(load_params(write_params(pr, data, **changes)), pr / "model")

    code, comment, report = compare_small(tmp_path, champion, pr / "model", data)

    repeated = report["repeated_splits"]
    assert repeated is not None and repeated["delta"]["splits"] >= MIN_SPLITS
    gated = repeated["delta"]
    holdout_row = next(d for d in report["metrics"] if d["metric"] == PARAMS.gate.primary_metric)
    assert holdout_row["verdict"] == NOT_GATED  # shown, but the splits decide
    # one verdict everywhere: the exit code, the state, the headline and the gated row (the
    # baseline check may fail it too: on a few hundred rows some models do not beat it)
    assert code == (0 if report["passed"] else 1)
    assert gated["verdict"] != FAIL or report["state"] == "fail"
    baseline_failed = any("does not beat the baseline" in f for f in report["failures"])
    assert report["passed"] or gated["verdict"] == FAIL or baseline_failed
    headline = comment.splitlines()[2]
    if not baseline_failed:  # else the headline says the model does not beat the baseline
        assert f"the mean of {gated['splits']} repeated splits" in headline
    assert f"mean of {gated['splits']} repeated splits (gated)" in comment
    assert "this holdout (not gated)" in comment
    assert "too few to tell" in comment and repeated["how"] in comment
    assert "significant" not in comment
    assert (tmp_path / "report" / "report.md").read_text() == comment
    # comment.yml renders from report.json alone: the same comment
    out = tmp_path / "from-json.md"
    report_file = tmp_path / "report" / "report.json"
    assert main(["comment", "--report", str(report_file), "--out", str(out)]) == 0
    assert out.read_text() == comment


def test_a_pr_that_changes_the_data_is_judged_on_its_holdout_and_says_why(tmp_path, small):
    data, champion, changes = small
    records = load_records(data, CONTRACT)
    changed = write_table(records.drop(index=records.index[:5]), tmp_path / f"pr{data.suffix}")
    pr = tmp_path / "pr"
    pr.mkdir()
    train(load_params(write_params(pr, changed, **changes)), pr / "model")

    _, comment, report = compare_small(tmp_path, champion, pr / "model", changed)

    assert report["repeated_splits"] is None
    if report["identical"]:
        pytest.skip("both models predict the same on the holdout: nothing to judge")
    assert "too few to tell" in comment
    assert "this PR changes the data main's model was trained on" in comment
    assert "The gate asks for 97.5%" in comment
