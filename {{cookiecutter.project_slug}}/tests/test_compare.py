"""The pull-request gate: both models on one holdout, intervals, slices, and the comment."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.bootstrap import interval, paired_differences, weighted_metrics
from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.compare import (
    FAIL,
    LOOK,
    NOT_GATED,
    PASS,
    Champion,
    Delta,
    compare,
    gate_failures,
    gate_looks,
    judge,
)
from {{ cookiecutter.package_name }}.errors import ProjectError
from {{ cookiecutter.package_name }}.metrics import HIGHER_IS_BETTER, score
from {{ cookiecutter.package_name }}.params import GateParams, load_params
from {{ cookiecutter.package_name }}.report import MARKER
from {{ cookiecutter.package_name }}.train import train

from conftest import PROJECT, edit_params

SHIPPED = yaml.safe_load((PROJECT / "params.yaml").read_text())
PRIMARY, TARGET = SHIPPED["gate"]["primary_metric"], SHIPPED["target"]


def params_for(directory: Path, data: Path, **changes: object) -> Path:
    """The project's params.yaml trained on `data`, with dotted (a__b) keys changed."""
    path = directory / "params.yaml"
    path.write_text((PROJECT / "params.yaml").read_text())
    return edit_params(path, data__train=str(data), **changes)


def train_on(directory: Path, data: Path, **changes: object) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    train(load_params(params_for(directory, data, **changes)), directory / "model")
    return directory / "model"


@pytest.fixture(scope="module")
def champion(tmp_path_factory, baseline_csv) -> Path:
    return train_on(tmp_path_factory.mktemp("champion"), baseline_csv)


def compare_cli(tmp_path: Path, champion: Path, challenger: Path, data: Path, *extra: str):
    out = tmp_path / "comment.md"
    code = main(
        [
            "compare",
            "--champion",
            str(champion),
            "--challenger",
            str(challenger),
            "--data",
            str(data),
            "--out",
            str(out),
            "--artifacts",
            str(tmp_path / "report"),
            *extra,
        ]
    )
    return code, out.read_text(), json.loads((tmp_path / "report" / "report.json").read_text())


def absent(directory: Path, status: str = "absent", reason: str = "no project") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "status.json").write_text(json.dumps({"status": status, "reason": reason}))
    return directory


def test_the_champion_against_itself_passes_with_no_significant_change(
    tmp_path, champion, baseline_csv
):
    code, comment, report = compare_cli(tmp_path, champion, champion, baseline_csv)
    assert code == 0
    lines = comment.splitlines()
    assert lines[0] == MARKER
    assert lines[2].startswith(f"## ✅ No significant change: {PRIMARY} ")
    assert "[+0.0000, +0.0000]" in comment and "params.yaml: no change." in comment
    assert report["passed"] is True and report["verdict"] == "no significant change"
    assert (tmp_path / "report" / "report.md").read_text() == comment


def test_a_challenger_trained_on_a_shuffled_target_fails_the_gate(tmp_path, champion, baseline_csv):
    frame = pd.read_csv(baseline_csv)
    frame[TARGET] = np.random.default_rng(0).permutation(frame[TARGET].to_numpy())
    frame.to_csv(tmp_path / "shuffled.csv", index=False)
    challenger = train_on(tmp_path / "pr", tmp_path / "shuffled.csv")

    code, comment, report = compare_cli(tmp_path, champion, challenger, baseline_csv)

    assert code == 1
    assert comment.splitlines()[2].startswith(f"## ❌ Worse: {PRIMARY} ")
    assert "**Gate failed:**" in comment and f"- {PRIMARY} is significantly worse" in comment
    assert report["state"] == "fail"
    assert "| metric | main | this PR | Δ | 95% CI of Δ | |" in comment
    assert "### Slices that moved most" in comment and "```mermaid\nxychart-beta" in comment
    assert "**The training data changed.**" in comment
    primary = next(row for row in report["metrics"] if row["metric"] == PRIMARY)
    assert primary["significant"] and primary["low"] > 0  # both error metrics: higher is worse
    assert {row["label"] for row in report["slices"]} >= {"store=village", "category=pantry"}


def test_a_slice_that_regresses_alone_is_flagged(tmp_path, champion, baseline_csv):
    frame = pd.read_csv(baseline_csv)
    village = frame["store"] == "village"
    # the PR's training data is wrong for one store only
    if TARGET == "units_sold":
        frame.loc[village, TARGET] = (frame.loc[village, TARGET] * 1.3).round()
    else:
        flipped = village & (np.random.default_rng(0).uniform(size=len(frame)) < 0.5)
        frame.loc[flipped, TARGET] = 1 - frame.loc[flipped, TARGET]
    frame.to_csv(tmp_path / "village-corrupted.csv", index=False)
    # the test data is small: gate slices of any size here
    pr = tmp_path / "pr"
    challenger = train_on(pr, tmp_path / "village-corrupted.csv", gate__min_slice_rows=0)

    code, comment, report = compare_cli(tmp_path, champion, challenger, baseline_csv)

    assert code == 1
    flagged = [line for line in comment.splitlines() if "regressed beyond 10%" in line]
    assert [line.split(" ")[1] for line in flagged if "store=" in line] == ["store=village"]
    assert any(
        f"{PRIMARY} on store=village is significantly worse" in f for f in report["failures"]
    )


def test_a_regressing_slice_fails_the_gate_even_when_the_whole_improves():
    gate = GateParams(**SHIPPED["gate"])
    assert not HIGHER_IS_BETTER[PRIMARY]  # wape or log_loss: the numbers below are errors
    overall = Delta(PRIMARY, main=0.20, pr=0.18, low=-0.03, high=-0.01)
    village = Delta(PRIMARY, 0.30, 0.35, 0.03, 0.08, label="store=village", rows=500, reference=0.2)
    assert overall.direction == "better" and village.direction == "worse"
    failures = gate_failures(gate, Champion("trained", model=object()), {}, [overall], [village])
    assert failures == [
        f"{PRIMARY} on store=village is significantly worse: 0.3000 -> 0.3500 "
        f"(by 25.0% of main's overall {PRIMARY}, 10% tolerated; 97.5% sure of at least 15.0%)"
    ]


MAIN_MODEL = Champion("trained", model=object())


def sure(low: float, high: float, confidence: float = 0.67) -> dict:
    """The gate's interval of a Delta: with `confidence` the PR is no better than its low end."""
    return {"gate_low": low, "gate_high": high, "gate_confidence": confidence}


def test_a_change_fails_only_when_the_gate_is_sure_it_is_past_the_tolerance():
    gate = GateParams(**{**SHIPPED["gate"], "max_regression": 0.02})
    # 95% interval 0% to 10% worse; the gate's (67% sure) 2.5% to 7.5%
    past = Delta(PRIMARY, main=0.20, pr=0.21, low=0.0, high=0.02, **sure(0.005, 0.015))
    assert judge(gate, past) == FAIL
    assert gate_failures(gate, MAIN_MODEL, {}, [past], []) == [
        f"{PRIMARY} is significantly worse: 0.2000 -> 0.2100 "
        "(5.0% worse, 2% tolerated; 67% sure of at least 2.5%)"
    ]


def test_an_estimate_past_the_tolerance_whose_interval_straddles_it_needs_a_look():
    gate = GateParams(**{**SHIPPED["gate"], "max_regression": 0.02})
    straddling = Delta(PRIMARY, 0.20, 0.21, low=0.001, high=0.02, **sure(0.003, 0.017))
    assert straddling.significant and judge(gate, straddling) == LOOK
    assert gate_failures(gate, MAIN_MODEL, {}, [straddling], []) == []
    assert gate_looks(gate, MAIN_MODEL, [straddling], []) == [
        f"{PRIMARY} may be worse than tolerated: 0.2000 -> 0.2100 "
        "(5.0% worse, 2% tolerated; 67% sure of at least 1.5%)"
    ]


def test_an_estimate_within_the_tolerance_passes_however_wide_its_interval():
    gate = GateParams(**{**SHIPPED["gate"], "max_regression": 0.02})
    within = Delta(PRIMARY, main=0.20, pr=0.203, low=-0.01, high=0.02)  # 1.5% worse
    assert judge(gate, within) == PASS
    assert gate_failures(gate, MAIN_MODEL, {}, [within], []) == []
    assert gate_looks(gate, MAIN_MODEL, [within], []) == []


def test_a_slice_under_min_slice_rows_is_reported_but_not_gated():
    gate = GateParams(**{**SHIPPED["gate"], "min_slice_rows": 100})
    overall = Delta(PRIMARY, main=0.20, pr=0.20, low=-0.01, high=0.01)
    tiny = Delta(PRIMARY, 0.30, 0.50, 0.10, 0.30, label="store=village", rows=99, reference=0.2)
    assert judge(gate, tiny) == NOT_GATED
    assert gate_failures(gate, MAIN_MODEL, {}, [overall], [tiny]) == []
    assert judge(gate, Delta(**{**vars(tiny), "rows": 100})) == FAIL


def partly_shuffled(data: Path, out: Path, share: float = 0.3) -> Path:
    """The data with the target of `share` of its rows shuffled: a worse model, not a useless."""
    frame = pd.read_csv(data)
    rng = np.random.default_rng(0)
    rows = rng.choice(len(frame), int(share * len(frame)), replace=False)
    frame.loc[rows, TARGET] = rng.permutation(frame.loc[rows, TARGET].to_numpy())
    frame.to_csv(out, index=False)
    return out


def test_slice_intervals_are_widened_for_the_number_of_slices_gated(
    tmp_path, champion, baseline_csv
):
    # the test holdout has 72 rows per store and 48 per category: gate the four stores only
    worse = partly_shuffled(baseline_csv, tmp_path / "worse.csv")
    challenger = train_on(tmp_path / "pr", worse, gate__min_slice_rows=60)
    result = compare(champion, challenger, baseline_csv)
    by_label = {d.label: d for d in result.slice_deltas}
    stores = [d for label, d in by_label.items() if label.startswith("store=")]
    categories = [d for label, d in by_label.items() if label.startswith("category=")]
    confidence = load_params(tmp_path / "pr" / "params.yaml").gate.confidence
    assert {d.gate_confidence for d in stores} == {1 - (1 - confidence) / 4}
    assert {d.verdict for d in categories} == {NOT_GATED}
    assert {d.gate_confidence for d in categories} == {confidence}
    assert result.primary.gate_confidence == confidence
    for d in stores:  # surer than the overall gate: a wider interval than the 67% one
        assert d.gate_low <= d.gate_high and d.low <= d.high
    _, comment, _ = compare_cli(tmp_path, champion, challenger, baseline_csv)
    assert "The gate judges each of the 4 slices tested at 91.8% confidence, so that " in comment
    assert "| category=bakery (48 rows, not gated) |" in comment


def test_needs_a_look_keeps_the_check_green_and_says_so(tmp_path, champion, baseline_csv):
    worse = partly_shuffled(baseline_csv, tmp_path / "worse.csv")
    first = compare(champion, train_on(tmp_path / "probe", worse), baseline_csv)
    least, _ = first.primary.worse_by_range
    assert 0 < least < first.primary.worse_by
    # the same model, with a tolerance between the interval's better end and the estimate
    tolerance = (least + first.primary.worse_by) / 2
    challenger = train_on(
        tmp_path / "pr",
        worse,
        gate__max_regression=tolerance,
        gate__max_slice_regression=100.0,
    )

    code, comment, report = compare_cli(tmp_path, champion, challenger, baseline_csv)

    assert code == 0
    headline = comment.splitlines()[2]
    assert headline.startswith("## 🔍 ") and f", needs a look: {PRIMARY} " in headline
    assert "**Gate passed, but needs a look** (the check stays green):" in comment
    assert f"- 🔍 {PRIMARY} may be worse than tolerated" in comment
    assert report["passed"] is True and report["state"] == "needs a look"
    assert report["failures"] == [] and len(report["needs_a_look"]) == 1


def test_the_first_pull_request_is_gated_on_absolute_bounds(tmp_path, baseline_csv):
    no_model = absent(tmp_path / "main")
    challenger = train_on(tmp_path / "pr", baseline_csv)
    code, comment, report = compare_cli(tmp_path, no_model, challenger, baseline_csv)
    assert code == 0
    assert comment.splitlines()[2].startswith("## ✅ No comparison, main has no model yet")
    assert "Main has no model yet" in comment and "absolute bounds" in comment
    assert report["metrics"] == [] and report["champion"]["status"] == "absent"

    strict = {PRIMARY: 0.001}
    challenger = train_on(tmp_path / "strict", baseline_csv, gate=_gate_with(absolute_max=strict))
    code, comment, _ = compare_cli(tmp_path, no_model, challenger, baseline_csv)
    assert code == 1
    assert f"- {PRIMARY} is " in comment and "above the maximum 0.001" in comment


def _gate_with(**changes: object) -> dict:
    return {**SHIPPED["gate"], **changes}


def test_a_base_that_failed_to_train_is_said_plainly(tmp_path, champion, baseline_csv):
    reason = (
        "training the base commit exited 1:\nerror: data/train.csv: INVALID\n  - price: must be > 0"
    )
    failed = absent(tmp_path / "main", status="failed", reason=reason)
    code, comment, _ = compare_cli(tmp_path, failed, champion, baseline_csv)
    assert code == 0
    assert "Main's model could not be trained" in comment
    assert "```text\n" + reason + "\n```" in comment


def test_the_validation_report_and_the_lock_file_are_cited(tmp_path, champion, baseline_csv):
    (tmp_path / "validation.md").write_text("**Data validation passed**: `x.csv`, 9 rows.\n")
    (tmp_path / "uv.lock").write_text("version = 1\n")
    _, comment, report = compare_cli(
        tmp_path,
        champion,
        champion,
        baseline_csv,
        "--validation",
        str(tmp_path / "validation.md"),
        "--lock",
        str(tmp_path / "uv.lock"),
    )
    assert "**Data validation passed**: `x.csv`, 9 rows." in comment
    assert report["lock"]["sha256"] in comment and len(report["lock"]["sha256"]) == 64
    assert "Lock file: none" not in comment


def test_a_params_change_is_shown_key_by_key(tmp_path, champion, baseline_csv):
    challenger = train_on(tmp_path / "pr", baseline_csv, seed=7)
    _, comment, report = compare_cli(tmp_path, champion, challenger, baseline_csv)
    assert "| `seed` | `42` | `7` |" in comment
    assert ["seed", 42, 7] in report["params_changes"]


def test_a_holdout_main_was_trained_on_is_pointed_out(tmp_path, champion, baseline_csv):
    challenger = train_on(tmp_path / "pr", baseline_csv, split__holdout_fraction=0.4)
    _, comment, _ = compare_cli(tmp_path, champion, challenger, baseline_csv)
    assert "Main's model was trained on rows up to" in comment and "optimistic" in comment
    _, comment, _ = compare_cli(tmp_path, champion, champion, baseline_csv)
    assert "optimistic" not in comment


def test_bad_inputs_are_errors_and_write_nothing(tmp_path, champion, baseline_csv, capsys):
    out = tmp_path / "comment.md"
    args = [
        "compare",
        "--challenger",
        str(champion),
        "--data",
        str(baseline_csv),
        "--out",
        str(out),
    ]
    assert main([*args, "--champion", str(tmp_path)]) == 1
    assert "not a trained model directory" in capsys.readouterr().err
    assert main([*args, "--champion", str(champion), "--validation", "missing.md"]) == 1
    assert not out.exists()


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_weighted_metrics_with_unit_weights_are_the_metrics(task):
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 2, 200) if task == "classification" else rng.gamma(3, 20, 200)
    predicted = (
        rng.uniform(0, 1, 200) if task == "classification" else truth + rng.normal(0, 9, 200)
    )
    predicted[:20] = predicted[20:40]  # ties, which ROC AUC counts half
    weighted = weighted_metrics(task, truth, predicted, np.ones(200))
    assert {name: float(value[0]) for name, value in weighted.items()} == pytest.approx(
        score(task, truth, predicted)
    )


def test_the_interval_excludes_zero_only_for_a_real_difference():
    rng = np.random.default_rng(4)
    truth = rng.gamma(3, 20, 500)
    good, bad = truth + rng.normal(0, 5, 500), truth + rng.normal(0, 15, 500)
    same = paired_differences("regression", truth, good, good, np.random.default_rng(0))
    worse = paired_differences("regression", truth, good, bad, np.random.default_rng(0))
    assert interval(same["mae"]) == (0.0, 0.0)
    low, high = interval(worse["mae"])
    assert 0 < low < high
    again = paired_differences("regression", truth, good, bad, np.random.default_rng(0))
    assert np.array_equal(worse["mae"], again["mae"])  # a fixed seed gives the same interval


def test_gate_metrics_are_checked_against_the_task(params_file):
    edit_params(params_file, gate=_gate_with(primary_metric="accuracy_score"))
    with pytest.raises(ProjectError, match=r"gate: unknown metrics \['accuracy_score'\]"):
        load_params(params_file)
    wrong_way = "r2" if PRIMARY == "wape" else "roc_auc"
    edit_params(params_file, gate=_gate_with(absolute_max={wrong_way: 0.5}))
    with pytest.raises(ProjectError, match="bounded the wrong way"):
        load_params(params_file)
    edit_params(params_file, gate=_gate_with(max_regression=-0.1))
    with pytest.raises(ProjectError, match=r"gate\.max_regression"):
        load_params(params_file)
