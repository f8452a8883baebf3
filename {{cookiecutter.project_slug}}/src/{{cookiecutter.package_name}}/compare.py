"""The pull-request gate: main's model and this PR's on the same holdout, and the decision."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .artifacts import TrainedModel, load_model
from .bootstrap import RESAMPLES, interval, paired_differences
from .champion import STATUS_FILE
from .contract import Contract
from .dataset import Split, load_records, sha256_of, split_records
from .errors import ProjectError
from .metrics import HIGHER_IS_BETTER, score, score_slices
from .params import GateParams, Params
from .train import time_span


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

    @property
    def delta(self) -> float:
        return self.pr - self.main

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0  # the interval excludes zero

    @property
    def worse_by(self) -> float:
        """How much worse this PR is, as a share of the reference (negative when better)."""
        worse = -self.delta if HIGHER_IS_BETTER[self.metric] else self.delta
        reference = abs(self.main if self.reference is None else self.reference)
        if reference == 0:
            return math.inf if worse > 0 else 0.0
        return worse / reference

    @property
    def direction(self) -> str:
        if not self.significant:
            return "no significant change"
        return "worse" if self.worse_by > 0 else "better"


@dataclass(frozen=True)
class Holdout:
    path: str
    sha256: str
    rows: int
    how: str  # which rows were held out, as a sentence
    first: str | None  # the holdout's time span, when the data has a time column
    last: str | None


@dataclass(frozen=True)
class Comparison:
    """Everything the report shows; `failures` empty means the gate passed."""

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

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def primary(self) -> Delta | None:
        return next((d for d in self.deltas if d.metric == self.gate.primary_metric), None)


def compare(champion_dir: str | Path, challenger_dir: str | Path, data: str | Path) -> Comparison:
    """Score both models on the newest rows of `data` (split by the PR's params) and gate."""
    challenger = load_model(challenger_dir)
    contract = Contract.of_model(challenger)
    params = contract.params
    champion = read_champion(champion_dir, challenger)
    split = split_records(load_records(data, contract), contract)
    holdout = split.holdout
    truth = challenger.truth_of(holdout)
    predicted = challenger.predict(holdout)
    rng = np.random.default_rng(params.seed)
    deltas: list[Delta] = []
    slice_deltas: list[Delta] = []
    if champion.model is not None:
        before = _predictions_like(champion.model, challenger, holdout)
        deltas = _deltas(params.task, truth, before, predicted, rng)
        overall = next(d for d in deltas if d.metric == params.gate.primary_metric)
        slice_deltas = _slice_deltas(params, holdout, truth, before, predicted, rng, overall.main)
    metrics = score(params.task, truth, predicted)
    return Comparison(
        gate=params.gate,
        champion=champion,
        challenger_run=challenger.run,
        holdout=_describe_holdout(data, split, contract.time_column),
        metrics=metrics,
        slice_metrics=score_slices(params.task, holdout, truth, predicted, params.slices),
        deltas=deltas,
        slice_deltas=slice_deltas,
        failures=gate_failures(params.gate, champion, metrics, deltas, slice_deltas),
        seed=params.seed,
        resamples=RESAMPLES,
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
    predicted = champion.predict(rows)
    if champion.task != "classification" or champion.classes == challenger.classes:
        return predicted
    aligned = np.zeros((len(rows), len(challenger.classes)))
    for column, label in enumerate(champion.classes):
        if label in challenger.classes:
            aligned[:, challenger.classes.index(label)] = predicted[:, column]
    return aligned


def _target_of(run: dict) -> str:
    return f"{run['params']['target']} ({run['params']['task']})"


def _deltas(
    task: str, truth: np.ndarray, before: np.ndarray, after: np.ndarray, rng: np.random.Generator
) -> list[Delta]:
    main, pr = score(task, truth, before), score(task, truth, after)
    differences = paired_differences(task, truth, before, after, rng)
    return [
        Delta(name, main[name], pr[name], *interval(differences[name]), rows=len(truth))
        for name in main
    ]


def _slice_deltas(
    params: Params,
    holdout: pd.DataFrame,
    truth: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    rng: np.random.Generator,
    reference: float,
) -> list[Delta]:
    """The primary metric for every slice value, the slices that moved most first."""
    primary = params.gate.primary_metric
    found = []
    for column in params.slices:
        for value, part in holdout.groupby(column, sort=True, observed=True):
            rows = holdout.index.get_indexer(part.index)
            whole = _deltas(params.task, truth[rows], before[rows], after[rows], rng)
            delta = next(d for d in whole if d.metric == primary)
            found.append(replace(delta, label=f"{column}={value}", reference=reference))
    return sorted(found, key=_movement, reverse=True)


def _movement(delta: Delta) -> float:
    return 0.0 if math.isnan(delta.worse_by) else abs(delta.worse_by)


def gate_failures(
    gate: GateParams,
    champion: Champion,
    metrics: dict[str, float],
    deltas: list[Delta],
    slice_deltas: list[Delta],
) -> list[str]:
    """Why the gate fails, one sentence each; relative to main when main has a model."""
    if champion.model is None:
        return _absolute_failures(gate, metrics)
    failures = []
    primary = next(d for d in deltas if d.metric == gate.primary_metric)
    if is_flagged(primary, gate.max_regression):
        failures.append(_regression(primary, gate.max_regression))
    failures += [
        _regression(d, gate.max_slice_regression)
        for d in slice_deltas
        if is_flagged(d, gate.max_slice_regression)
    ]
    return failures


def is_flagged(delta: Delta, tolerance: float) -> bool:
    """Significantly worse by more than `tolerance` (relative): the gate fails on it."""
    return delta.significant and delta.worse_by > tolerance


def _regression(delta: Delta, tolerance: float) -> str:
    overall = delta.reference is None
    subject = delta.metric if overall else f"{delta.metric} on {delta.label}"
    share = "worse" if overall else f"of main's overall {delta.metric}"
    return (
        f"{subject} is significantly worse: {delta.main:.4f} -> {delta.pr:.4f} "
        f"({'' if overall else 'by '}{percent(delta.worse_by, 1)} {share}, "
        f"{percent(tolerance)} tolerated)"
    )


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
