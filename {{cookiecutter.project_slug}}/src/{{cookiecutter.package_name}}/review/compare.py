"""The pull-request gate: main's model and this PR's on the same holdout, and the decision."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.contract import Contract
from ..data.dataset import Split, load_records, sha256_of, split_records, time_span
from ..errors import ProjectError
from ..model.artifacts import TrainedModel, in_class_order, load_model
from ..model.bootstrap import (
    CONFIDENCE,
    RESAMPLES,
    interval,
    paired_differences,
    paired_differences_within,
    resampling_groups,
)
from ..model.metrics import HIGHER_IS_BETTER, score, score_slices
from ..model.params import GateParams, Params
from .champion import STATUS_FILE

# A verdict on one Delta. "needs a look" is neutral: the estimate is past the tolerance but the
# gate's interval reaches back inside it, so the check stays green and a person judges.
FAIL, LOOK, PASS, NOT_GATED = "fail", "needs a look", "pass", "not gated"


@dataclass(frozen=True)
class Champion:
    """Main's model, or why there is none: status is trained, absent, failed or incomparable."""

    status: str
    reason: str = ""
    model: TrainedModel | None = None
    commit: str | None = None


@dataclass(frozen=True)
class Delta:
    """One metric of main's model and this PR's on the same rows, with the interval of the gap."""

    metric: str
    main: float
    pr: float
    low: float
    high: float
    label: str = "overall"
    rows: int = 0
    # What "x% worse" is a share of: main's value here, or for a slice main's overall value, so
    # that a slice whose error is near zero does not turn a tiny change into a huge percentage.
    reference: float | None = None
    # The gate's interval: with `gate_confidence` (one-sided) this PR is no better than its
    # better end. Slices' are wider (one share of the error per slice tested). Unset: [low, high].
    gate_low: float | None = None
    gate_high: float | None = None
    gate_confidence: float = 1 - (1 - CONFIDENCE) / 2
    verdict: str = ""  # the gate's: fail, needs a look, pass or not gated ("" before judging)
    # the share of bootstrap resamples in which this PR is worse than main (NaN: unknown)
    sure_worse: float = math.nan
    # not 0: the mean over this many splits, both models refitted on each (repeated_splits.py),
    # its interval the corrected t-test's, not one holdout's bootstrap
    splits: int = 0

    @property
    def delta(self) -> float:
        return self.pr - self.main

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0  # the 95% interval excludes zero

    @property
    def identical(self) -> bool:
        """The same value in every resample: both models predicted the same on these rows."""
        return self.delta == 0 and self.low == 0 and self.high == 0

    @property
    def sure_better(self) -> float:
        return 1 - self.sure_worse

    @property
    def worse_by(self) -> float:
        """How much worse this PR is, as a share of the reference (negative when better)."""
        worse = -self.delta if HIGHER_IS_BETTER[self.metric] else self.delta
        reference = abs(self.main if self.reference is None else self.reference)
        if reference == 0:
            return math.inf if worse > 0 else 0.0
        return worse / reference

    @property
    def worse_by_range(self) -> tuple[float, float]:
        """worse_by at the two ends of the gate's interval, the least worse first."""
        ends = (self.low, self.high) if self.gate_low is None else (self.gate_low, self.gate_high)
        least, most = sorted(replace(self, pr=self.main + end).worse_by for end in ends)
        return least, most

    @property
    def direction(self) -> str:
        """identical, better, worse, or no clear change: better or worse only when the 95%
        interval says so (the gate's own verdict, at its own confidence, is `verdict`)."""
        if self.identical:
            return "identical"
        if not self.significant:
            return "no clear change"
        return "worse" if self.worse_by > 0 else "better"

    @property
    def how_sure(self) -> str:
        """The estimate's direction and the share of resamples that agree with it."""
        if self.identical:
            return "identical"
        if math.isnan(self.sure_worse):
            return "unknown"
        worse = self.sure_worse >= 0.5
        share = self.sure_worse if worse else self.sure_better
        return f"{'worse' if worse else 'better'}, {percent(share, 0)} sure"


@dataclass(frozen=True)
class Holdout:
    path: str
    sha256: str
    rows: int
    how: str  # which rows were held out, as a sentence
    first: str | None  # the holdout's time span, when the data has a time column
    last: str | None


@dataclass(frozen=True)
class BaselineCheck:
    """This PR's model against the trivial baseline on the same holdout: a model that does not
    beat it has learned nothing (see baseline.py). `delta`: main = the baseline."""

    description: str
    metrics: dict[str, float]  # the baseline's, on the holdout
    delta: Delta  # the primary metric, with gate.baseline_confidence's interval and how sure
    required: bool  # gate.beat_baseline: failing to beat it fails the gate

    @property
    def beaten(self) -> bool:
        """The bootstrap is gate.baseline_confidence sure that the model is better."""
        return self.delta.sure_better >= self.delta.gate_confidence

    @property
    def skill(self) -> float | None:
        from ..model.baseline import skill

        return skill(self.delta.metric, self.delta.pr, self.delta.main)


@dataclass(frozen=True)
class Comparison:
    """Everything the report shows; `failures` empty means the gate passed (exit code 0)."""

    gate: GateParams
    champion: Champion
    challenger_run: dict
    holdout: Holdout
    metrics: dict[str, float]  # this PR's model on the holdout
    slice_metrics: list[dict]
    deltas: list[Delta]  # empty when there is no champion to compare with
    slice_deltas: list[Delta]  # primary metric per slice, the most moved first
    failures: list[str]
    seed: int
    resamples: int
    resampled: str = "rows"  # what one bootstrap draw takes: the rows of one time, or one row
    looks: list[str] = field(default_factory=list)  # needs a look: neutral, the check stays green
    baseline: BaselineCheck | None = None  # None: a report from before baselines
    identical: bool = False  # main's model and this PR's predicted the same on every row
    # a holdout too small to tell: the primary metric over repeated splits, which the gate
    # judges instead of the holdout's (repeated_splits.py), and how the splits were drawn
    repeated: Delta | None = None
    repeated_how: str = ""

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def state(self) -> str:
        """fail, needs a look or pass: what the comment's headline says."""
        return FAIL if self.failures else LOOK if self.looks else PASS

    @property
    def primary(self) -> Delta | None:
        """The primary metric as the gate judged it: over repeated splits when it ran them."""
        if self.repeated is not None:
            return self.repeated
        return self.holdout_primary

    @property
    def holdout_primary(self) -> Delta | None:
        return next((d for d in self.deltas if d.metric == self.gate.primary_metric), None)


def compare(champion_dir: str | Path, challenger_dir: str | Path, data: str | Path) -> Comparison:
    """Score both models on the newest rows of `data` (split by the PR's params) and gate."""
    challenger = load_model(challenger_dir)
    contract = Contract.of_model(challenger)
    params = contract.params
    champion = read_champion(champion_dir, challenger)
    records = load_records(data, contract)
    split = split_records(records, contract)
    holdout = split.holdout
    truth = challenger.truth_of(holdout)
    predicted = challenger.predict_recalled(holdout)
    groups = resampling_groups(holdout, contract.time_column)
    deltas: list[Delta] = []
    slice_deltas: list[Delta] = []
    identical = False
    repeated, repeated_how = None, ""
    described = _describe_holdout(data, split, contract.time_column)
    if champion.model is not None:
        before = _predictions_like(champion.model, challenger, holdout)
        identical = before.shape == predicted.shape and np.array_equal(before, predicted)
        deltas, slice_deltas = _against_main(params, holdout, truth, before, predicted, groups)
        small = not identical and needs_more_evidence(params.gate, len(holdout))
        if small and _same_data(champion.model, challenger, described.sha256):
            repeated, repeated_how = _over_repeated_splits(
                champion.model, challenger, records, contract
            )
    if repeated is not None:  # the gate judges the splits; the holdout's row is shown
        deltas = [replace(d, verdict=NOT_GATED) if d.verdict else d for d in deltas]
    gated = [d for d in deltas if d.metric != params.gate.primary_metric or repeated is None]
    gated += [repeated] if repeated is not None else []
    metrics = score(params.task, truth, predicted)
    baseline = _against_baseline(params, challenger, split, truth, predicted, groups)
    return Comparison(
        gate=params.gate,
        champion=champion,
        challenger_run=challenger.run,
        holdout=described,
        metrics=metrics,
        slice_metrics=score_slices(params.task, holdout, truth, predicted, params.slices),
        deltas=deltas,
        slice_deltas=slice_deltas,
        failures=gate_failures(params.gate, champion, metrics, gated, slice_deltas, baseline),
        seed=params.seed,
        resamples=RESAMPLES,
        resampled=f"the rows of one {contract.time_column} together"
        if contract.time_column
        else "rows one by one",
        looks=gate_looks(params.gate, champion, gated, slice_deltas, baseline),
        baseline=baseline,
        identical=identical,
        repeated=repeated,
        repeated_how=repeated_how,
    )


def needs_more_evidence(gate: GateParams, holdout_rows: int) -> bool:
    """A holdout under gate.min_rows is too small to tell: one row can move its metric past
    the tolerance."""
    return holdout_rows < gate.min_rows


def _same_data(champion: TrainedModel, challenger: TrainedModel, data_sha256: str) -> bool:
    """Both models were trained on this very file: refitting both recipes on its rows then
    compares what this PR changed (a PR that changes the data is judged on the holdout)."""
    return all(
        (model.run.get("data") or {}).get("sha256") == data_sha256
        for model in (champion, challenger)
    )


def _over_repeated_splits(
    champion: TrainedModel, challenger: TrainedModel, records: pd.DataFrame, contract: Contract
) -> tuple[Delta | None, str]:
    """The primary metric's Delta over repeated splits of all the rows, judged (None when the
    data give too few splits)."""
    from .repeated_splits import score_splits

    scores = score_splits(champion, challenger, records, contract)
    if scores is None:
        return None, ""
    gate = contract.params.gate
    low, high = scores.interval(CONFIDENCE)
    gate_low, gate_high = scores.interval(2 * gate.confidence - 1)
    delta = Delta(
        metric=scores.metric,
        main=float(np.mean(scores.main)),
        pr=float(np.mean(scores.pr)),
        low=low,
        high=high,
        rows=len(records),
        gate_low=gate_low,
        gate_high=gate_high,
        gate_confidence=gate.confidence,
        sure_worse=scores.sure_worse(),
        splits=scores.splits,
    )
    return judged(gate, delta), scores.how


def _against_main(
    params: Params,
    holdout: pd.DataFrame,
    truth: np.ndarray,
    before: np.ndarray,
    predicted: np.ndarray,
    groups: np.ndarray,
) -> tuple[list[Delta], list[Delta]]:
    """Main's model against this PR's: every metric overall, the primary one per slice."""
    rng = np.random.default_rng(params.seed)
    parts = _slices(params, holdout)
    subsets = [np.arange(len(holdout)), *(rows for _, rows in parts)]
    differences = paired_differences_within(
        params.task, truth, before, predicted, rng, subsets, groups=groups
    )
    primary = params.gate.primary_metric
    deltas = _deltas(params.task, truth, before, predicted, differences[0], params.gate.confidence)
    deltas = [judged(params.gate, d) if d.metric == primary else d for d in deltas]
    overall = next(d for d in deltas if d.metric == primary)
    found = _slice_deltas(params, parts, differences[1:], truth, before, predicted, overall.main)
    return deltas, [judged(params.gate, d) for d in found]


def _against_baseline(
    params: Params,
    model: TrainedModel,
    split: Split,
    truth: np.ndarray,
    predicted: np.ndarray,
    groups: np.ndarray,
) -> BaselineCheck:
    """The trivial baseline fitted on this PR's training rows, against its model, paired."""
    from ..model.baseline import fit_baseline

    primary = params.gate.primary_metric
    baseline = fit_baseline(params.task, primary, model.truth_of(split.train), len(model.classes))
    trivial = baseline.predict(len(truth))
    # a stream of its own: the comparison with main draws the same resamples as without it
    rng = np.random.default_rng([params.seed, 1])
    differences = paired_differences(params.task, truth, trivial, predicted, rng, groups=groups)
    confidence = params.gate.baseline_confidence
    deltas = _deltas(params.task, truth, trivial, predicted, differences, confidence)
    return BaselineCheck(
        description=baseline.description,
        metrics=score(params.task, truth, trivial),
        delta=replace(next(d for d in deltas if d.metric == primary), label="baseline"),
        required=params.gate.beat_baseline,
    )


def read_champion(directory: str | Path, challenger: TrainedModel) -> Champion:
    """Main's model from `directory`, or the status `champion` wrote there instead of one."""
    status_file = Path(directory) / STATUS_FILE
    if status_file.is_file():
        status = json.loads(status_file.read_text(encoding="utf-8"))
        if status.get("status") not in ("absent", "failed"):
            raise ProjectError(f"{status_file}: status must be absent or failed, got {status}")
        return Champion(status["status"], str(status.get("reason", "")), None, status.get("commit"))
    model = load_model(directory)
    commit = (model.run.get("git") or {}).get("commit")
    theirs, ours = _target_of(model.run), _target_of(challenger.run)
    if theirs != ours:
        reason = f"main's model predicts {theirs}, this PR's predicts {ours}"
        return Champion("incomparable", reason, None, commit)
    gone = sorted(set(model.features) - set(Contract.of_model(challenger).schema.columns))
    if gone:
        reason = f"main's model reads columns this PR's data contract no longer has: {gone}"
        return Champion("incomparable", reason, None, commit)
    return Champion("trained", "", model, commit)


def _predictions_like(champion: TrainedModel, challenger: TrainedModel, rows: pd.DataFrame):
    """The champion's predictions in the challenger's layout (its class columns, in order).

    A class only one of the two models learned gets probability 0 from the other.
    """
    predicted = champion.predict_recalled(rows)
    if champion.task != "classification":
        return predicted
    return in_class_order(predicted, champion.classes, challenger.classes)


def _target_of(run: dict) -> str:
    return f"{run['params']['target']} ({run['params']['task']})"


def _deltas(
    task: str,
    truth: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    differences: dict[str, np.ndarray],
    gate_confidence: float,
) -> list[Delta]:
    """Each metric's Delta: its 95% interval, and the gate's (one-sided `gate_confidence`),
    from the paired bootstrap's `differences`."""
    main, pr = score(task, truth, before), score(task, truth, after)
    deltas = []
    for name in main:
        gate_low, gate_high = interval(differences[name], 2 * gate_confidence - 1)
        low, high = interval(differences[name])
        deltas.append(
            Delta(
                name,
                main[name],
                pr[name],
                low,
                high,
                rows=len(truth),
                gate_low=gate_low,
                gate_high=gate_high,
                gate_confidence=gate_confidence,
                sure_worse=_share_worse(differences[name], name),
            )
        )
    return deltas


def _share_worse(samples: np.ndarray, metric: str) -> float:
    """The share of resampled differences (this PR - main) in which this PR is worse; ties
    count half, so that identical models are 50% sure either way (NaN when none is defined)."""
    worse = -samples if HIGHER_IS_BETTER[metric] else samples
    worse = worse[~np.isnan(worse)]
    if worse.size == 0:
        return math.nan
    return float(np.mean(worse > 0) + 0.5 * np.mean(worse == 0))


def _slices(params: Params, holdout: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
    """("column=value", the holdout's row positions) for every value of every slice column."""
    return [
        (f"{column}={value}", holdout.index.get_indexer(part.index))
        for column in params.slices
        for value, part in holdout.groupby(column, sort=True, observed=True)
    ]


def _slice_deltas(
    params: Params,
    parts: list[tuple[str, np.ndarray]],
    differences: list[dict[str, np.ndarray]],
    truth: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    reference: float,
) -> list[Delta]:
    """The primary metric for every slice value, the slices that moved most first.

    The slices big enough to be gated share the gate's error rate (Holm's step-down, see
    step_down_levels), so that ten chances do not make ten false alarms; smaller slices are
    shown at the gate's own level, not gated.
    """
    primary, gate = params.gate.primary_metric, params.gate

    def delta(index: int, confidence: float) -> Delta:
        (label, rows), resampled = parts[index], differences[index]
        whole = _deltas(params.task, truth[rows], before[rows], after[rows], resampled, confidence)
        found = next(d for d in whole if d.metric == primary)
        return replace(found, label=label, reference=reference)

    gated = [i for i, (_, rows) in enumerate(parts) if len(rows) >= gate.min_slice_rows]
    shares = [
        _share_within(differences[i][primary], primary, reference, gate.max_slice_regression)
        for i in gated
    ]
    levels = dict.fromkeys(range(len(parts)), gate.confidence)
    levels |= dict(zip(gated, step_down_levels(shares, gate.confidence), strict=True))
    found = [delta(index, level) for index, level in levels.items()]
    return sorted(found, key=_movement, reverse=True)


def step_down_levels(shares: list[float], confidence: float) -> list[float]:
    """The confidence each of k slices is judged at (Holm's step-down on `shares`).

    `shares[i]`: the share of resamples in which slice i is within the tolerance (small: surely
    worse). The surest slice is judged at 1 - (1 - confidence)/k, the next at .../(k - 1), and
    so on while each is surely worse at its level; the first that is not, and every slice after
    it, is judged at that level. The same family-wise error as judging all at 1 - (1 - c)/k
    (Bonferroni), and never fewer slices flagged: a second bad slice is not held to the first
    one's bar.
    """
    error, count = 1 - confidence, len(shares)
    levels = [0.0] * count
    stopped_at = None
    for step, index in enumerate(sorted(range(count), key=lambda i: shares[i])):
        level = stopped_at if stopped_at is not None else 1 - error / (count - step)
        levels[index] = level
        if stopped_at is None and not shares[index] < 1 - level:
            stopped_at = level
    return levels


def _share_within(samples: np.ndarray, metric: str, reference: float, tolerance: float) -> float:
    """The share of resampled differences within `tolerance` of `reference` (1 when unknown)."""
    worse = -samples if HIGHER_IS_BETTER[metric] else samples
    worse = worse[~np.isnan(worse)]
    if worse.size == 0 or reference == 0:
        return 1.0
    return float(np.mean(worse / abs(reference) <= tolerance))


def _movement(delta: Delta) -> float:
    return 0.0 if math.isnan(delta.worse_by) else abs(delta.worse_by)


def gate_failures(
    gate: GateParams,
    champion: Champion,
    metrics: dict[str, float],
    deltas: list[Delta],
    slice_deltas: list[Delta],
    baseline: BaselineCheck | None = None,
) -> list[str]:
    """Why the gate fails, one sentence each: relative to main when main has a model (else
    the absolute bounds, if any), and the baseline this PR's model must beat either way."""
    if champion.model is None:
        failures = _absolute_failures(gate, metrics)
    else:
        failures = [
            _sentence(d, gate)
            for d in _primary_and_slices(gate, deltas, slice_deltas)
            if judge(gate, d) == FAIL
        ]
    if baseline is not None and baseline.required and not baseline.beaten:
        failures.append(baseline_sentence(baseline))
    return failures


def gate_looks(
    gate: GateParams,
    champion: Champion,
    deltas: list[Delta],
    slice_deltas: list[Delta],
    baseline: BaselineCheck | None = None,
) -> list[str]:
    """What needs a person's look, one sentence each: neutral, never a failure."""
    looks = []
    if champion.model is not None:
        looks = [
            _sentence(d, gate)
            for d in _primary_and_slices(gate, deltas, slice_deltas)
            if judge(gate, d) == LOOK
        ]
    if baseline is not None and not baseline.required and not baseline.beaten:
        looks.append(f"{baseline_sentence(baseline)}; not required (gate.beat_baseline: false)")
    return looks


def baseline_sentence(check: BaselineCheck) -> str:
    """Why the model does not beat its baseline, with the numbers."""
    d = check.delta
    return (
        f"{d.metric} does not beat the baseline ({check.description}): {d.main:.4f} for the "
        f"baseline, {d.pr:.4f} for this PR's model; the bootstrap is "
        f"{sure_against(d.sure_better, d.gate_confidence)} sure the model is better, "
        f"{_confidence(d)} required"
    )


def sure_against(share: float, required: float) -> str:
    """How sure, with as many digits as it takes not to read as `required` (94.9%, not 95%)."""
    digits = 0
    while digits < 3 and share < required and round(share * 100, digits) >= required * 100:
        digits += 1
    return percent(share, digits)


def _primary_and_slices(gate: GateParams, deltas: list[Delta], slices: list[Delta]) -> list[Delta]:
    return [next(d for d in deltas if d.metric == gate.primary_metric), *slices]


def judge(gate: GateParams, delta: Delta) -> str:
    """The gate's verdict on the overall primary metric (label "overall") or on one slice.

    fail: even the gate interval's favourable end is worse than the tolerance (the bootstrap is
    `gate_confidence` sure; on a holdout under gate.min_rows, the 95% interval's end, 97.5%
    sure, so that a few rows cannot decide). needs a look: the estimate is worse than the
    tolerance but that end is inside it. pass: the estimate is within the tolerance. not gated:
    a slice smaller than gate.min_slice_rows.
    """
    overall = delta.reference is None
    if not overall and delta.rows < gate.min_slice_rows:
        return NOT_GATED
    tolerance = gate.max_regression if overall else gate.max_slice_regression
    if not delta.worse_by > tolerance:  # NaN (an undefined metric) passes: nothing to judge
        return PASS
    return FAIL if _surely_worse_by(gate, delta) > tolerance else LOOK


def too_small(gate: GateParams, delta: Delta) -> bool:
    """Whether one holdout, too small for the gate's own confidence (gate.min_rows), decides:
    the gate then asks for the 95% interval (97.5% sure) instead. Not for the mean over
    repeated splits: that is the evidence a small holdout lacks."""
    return delta.reference is None and not delta.splits and delta.rows < gate.min_rows


def _surely_worse_by(gate: GateParams, delta: Delta) -> float:
    """worse_by at the favourable end of the interval the gate judges by."""
    if too_small(gate, delta):
        return replace(delta, gate_low=None, gate_high=None).worse_by_range[0]
    return delta.worse_by_range[0]


def judged(gate: GateParams, delta: Delta) -> Delta:
    return replace(delta, verdict=judge(gate, delta))


def _sentence(delta: Delta, gate: GateParams) -> str:
    overall = delta.reference is None
    tolerance = gate.max_regression if overall else gate.max_slice_regression
    subject = delta.metric if overall else f"{delta.metric} on {delta.label}"
    if delta.splits:
        subject += f" (the mean of {delta.splits} repeated splits)"
    share = "worse" if overall else f"of main's overall {delta.metric}"
    failed = judge(gate, delta) == FAIL
    how = "is worse than tolerated" if failed else "may be worse than tolerated"
    least, sure = _surely_worse_by(gate, delta), _confidence(delta)
    small = ""
    if too_small(gate, delta):
        sure = "97.5%"
        small = (
            f"; with {delta.rows} held-out rows, fewer than {gate.min_rows}, the gate asks for "
            f"97.5% instead of {_confidence(delta)}" + ("" if failed else ": too few rows to tell")
        )
    return (
        f"{subject} {how}: {delta.main:.4f} → {delta.pr:.4f} "
        f"({'' if overall else 'by '}{percent(delta.worse_by, 1)} {share}, "
        f"{percent(tolerance)} tolerated; {sure} sure of at least "
        f"{percent(least, 1)}{small})"
    )


def _confidence(delta: Delta) -> str:
    level = delta.gate_confidence
    return percent(level, 0 if round(level, 2) == level else 1)


def percent(share: float, digits: int = 0) -> str:
    """0.125 -> "12.5%". Not a "%" format spec: the template test reads "%" + "}" as Jinja."""
    return f"{share * 100:.{digits}f}%"


def _absolute_failures(gate: GateParams, metrics: dict[str, float]) -> list[str]:
    failures = [
        f"{name} is {metrics[name]:.4f}, above the maximum {bound}"
        for name, bound in gate.absolute_max.items()
        if not metrics[name] <= bound  # NaN fails too
    ]
    return failures + [
        f"{name} is {metrics[name]:.4f}, below the minimum {bound}"
        for name, bound in gate.absolute_min.items()
        if not metrics[name] >= bound
    ]


def _describe_holdout(path: str | Path, split: Split, time_column: str | None) -> Holdout:
    span = time_span(split.holdout, time_column, "holdout")
    return Holdout(
        path=str(path),
        sha256=sha256_of(path),
        rows=len(split.holdout),
        how=split.how,
        first=span.get("holdout_from"),
        last=span.get("holdout_to"),
    )
