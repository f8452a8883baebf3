"""Drift thresholds and the decay tolerance, calibrated on ordinary windows of the project's data.

The drift check compares a window of recent data (`drift.window`: a month, some days, or a batch
of rows) with the whole training table. A window of seasonal data always differs from a year
of it, so a fixed threshold rings every month. Here each past window of the training data is
scored against the rest of it, with the drift check's own statistic, and each column's
threshold is set `MARGIN` times above the highest score an ordinary window reached. The decay
tolerance is set the same way from how much the model's metric moves between ordinary windows
of holdouts it never saw. Each number is written with its evidence: windows scored, their
maximum and their 90th percentile.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.contract import Contract
from ..errors import ProjectError
from ..model.metrics import HIGHER_IS_BETTER, score
from ..model.params import CATEGORICAL_DRIFT_METHODS, NUMERIC_DRIFT_METHODS, Params
from ..model.refit import fit_params

# Thresholds sit this many times above the highest score of an ordinary window. Measured on
# four years of daily weather, each year's months checked against the other three years'
# calibration: 1.2 left 1 false alarm in 48 months, 1.25 to 1.5 none, and 2.0 missed 9 of 48
# months moved by 2 standard deviations in three columns (the template's docs/verdicts.md).
MARGIN = 1.5
DECAY_MARGIN = 1.5
MIN_THRESHOLD = 0.01  # a column no ordinary window moved (a balanced design) still gets room
QUANTILE = 0.9  # the high quantile written beside the maximum as evidence
MIN_WINDOWS = 4  # fewer ordinary windows than this calibrate nothing: the defaults stay
# A default window holds at least this many rows: about a month of daily data, the windows
# MARGIN was measured on. A window of a few rows is mostly sampling noise, and one of a single
# row (a month of quarterly data) compares a point with a distribution.
MIN_WINDOW_ROWS = 28
PARTIAL = 0.5  # a window with fewer rows than half the median window is partial: not ordinary
# Untimed data: seeded batches of the window's rows the thresholds are calibrated on; their
# maximum then sits near the 98th percentile of what a batch scores by chance
RANDOM_BATCHES = 40
DECAY_FOLDS = 3  # holdouts the decay is measured on (each one more model fitted)
MIN_DECAY_ROWS = 10  # a window with fewer labelled rows has no metric worth comparing
WINDOW = re.compile(r"^(month|week|(\d+) (days|rows))$")


@dataclass(frozen=True)
class Evidence:
    """What ordinary windows scored: how many, their maximum and 90th percentile; for drift
    thresholds also how many rows a window and the rest it was scored against held (medians),
    so that the drift check can allow for a smaller table's sampling noise (drift.py)."""

    windows: int
    max: float
    q90: float
    rows: int | None = None
    reference_rows: int | None = None

    @classmethod
    def of(
        cls, scores: list[float], rows: int | None = None, reference_rows: int | None = None
    ) -> Evidence:
        quantile = _round(float(np.quantile(scores, QUANTILE)))
        return cls(len(scores), _round(max(scores)), quantile, rows, reference_rows)

    def as_dict(self) -> dict:
        sizes = {"rows": self.rows, "reference_rows": self.reference_rows}
        found = {"windows": self.windows, "max": self.max, "q90": self.q90}
        return found | {key: value for key, value in sizes.items() if value is not None}


@dataclass(frozen=True)
class Calibration:
    """Per-column thresholds and the decay tolerance, each with its evidence.

    `thresholds` maps a column to (method, threshold, evidence); `skipped`, a column or the
    decay to why it was left as it was.
    """

    window: str
    thresholds: dict[str, tuple[str, float, Evidence]]
    decay_tolerance: tuple[float, Evidence] | None
    skipped: dict[str, str]

    def drift_section(self, params: Params) -> dict:
        """params.yaml's `drift` section with these numbers in place of the old ones."""
        section = params.drift.model_dump(mode="json", exclude_none=True)
        section["window"] = self.window
        columns = dict(section.get("columns") or {})
        for name, (method, threshold, evidence) in self.thresholds.items():
            evidence = evidence.as_dict()
            columns[name] = {"method": method, "threshold": threshold, "evidence": evidence}
        section["columns"] = columns
        if self.decay_tolerance is not None:
            tolerance, evidence = self.decay_tolerance
            section["decay_tolerance"] = tolerance
            section["decay_evidence"] = evidence.as_dict()
        order = type(params.drift).model_fields  # params.yaml keeps the fields' order
        return {key: section[key] for key in order if key in section}

    def evidence_of(self, key: str) -> Evidence:
        """The evidence behind a params.yaml key this calibration set."""
        if key == "drift.decay_tolerance" and self.decay_tolerance is not None:
            return self.decay_tolerance[1]
        return self.thresholds[key.removeprefix("drift.columns.").removesuffix(".threshold")][2]

    def summary(self) -> str:
        """One line: the thresholds and their evidence, for adopt's and retrain's output."""
        parts = [
            f"{name} {threshold:.3g} (max {evidence.max:.3g} of {evidence.windows})"
            for name, (_, threshold, evidence) in self.thresholds.items()
        ]
        if self.decay_tolerance:
            tolerance, evidence = self.decay_tolerance
            most = evidence.max * 100
            parts.append(
                f"decay tolerance {tolerance * 100:.0f}% (max {most:.0f}% of {evidence.windows})"
            )
        skipped = "; ".join(f"{name}: {why}" for name, why in self.skipped.items())
        line = f"Drift calibrated on ordinary windows ({self.window}): " + (
            ", ".join(parts) or "nothing"
        )
        return line + (f"; not calibrated: {skipped}" if skipped else "") + "."


def default_window(times: pd.Series | None, rows: int, holdout_fraction: float) -> str:
    """The window the check is calibrated for when params.yaml sets none, from the data's pace.

    Without a time column, a batch the size of the holdout. With one, a calendar month when a
    month holds `MIN_WINDOW_ROWS` rows or more (hourly or daily data); with sparser times
    (weekly, quarterly), as many days as hold that many rows on average, but no more than leave
    `MIN_WINDOWS` windows in the table to calibrate on.
    """
    if times is None:
        return f"{max(1, round(rows * holdout_fraction))} rows"
    times = pd.to_datetime(times).dropna()
    if times.empty or times.dt.to_period("M").value_counts().median() >= MIN_WINDOW_ROWS:
        return "month"
    span = (times.max() - times.min()).days + 1
    days = math.ceil(MIN_WINDOW_ROWS * span / len(times))
    return f"{max(1, min(days, span // MIN_WINDOWS))} days"


def window_of(params: Params, records: pd.DataFrame, time_column: str | None) -> str:
    """The window calibration scores: params.yaml's `drift.window`, else the data's default."""
    times = records[time_column] if time_column else None
    return params.drift.window or default_window(times, len(records), params.split.holdout_fraction)


def size_factor(evidence, current_rows: int, reference_rows: int) -> float:
    """How much further a calibrated number must sit for tables of these sizes.

    A calibrated threshold (or decay tolerance) sits above what ordinary windows of
    `evidence.rows` rows scored against `evidence.reference_rows` others. Much of such a score
    is sampling noise, and the distances calibrated (Wasserstein, Jensen-Shannon) and a
    metric's relative change between two samples of one distribution shrink as
    sqrt(1/n + 1/m): a smaller current table scores higher by chance alone, and the number is
    raised by the ratio. Never lowered: what a larger table shows beyond noise (a season, say)
    does not shrink with its size. 1 without the sizes (a number set by a person, or calibrated
    before they were recorded).
    """
    if evidence is None or evidence.rows is None or evidence.reference_rows is None:
        return 1.0
    now = 1 / max(current_rows, 1) + 1 / max(reference_rows, 1)
    then = 1 / evidence.rows + 1 / evidence.reference_rows
    return max(1.0, math.sqrt(now / then))


def window_ids(frame: pd.DataFrame, window: str, time_column: str | None, seed: int) -> np.ndarray:
    """Which window each row of `frame` falls in: calendar months or weeks, blocks of days from
    the first time, or batches of rows (in time order, or a seeded shuffle without time)."""
    match = WINDOW.match(window)
    if not match:
        raise ProjectError(f"drift.window: {window!r} is not month, week, N days or N rows")
    unit = match.group(3) or match.group(1)
    if unit != "rows" and not time_column:
        raise ProjectError(f"drift.window {window!r} needs split.time_column; use N rows")
    if unit == "rows":
        size = int(match.group(2))
        order = np.arange(len(frame))
        if not time_column:
            order = np.random.default_rng(seed).permutation(len(frame))
        ids = np.empty(len(frame), dtype=int)
        ids[order] = np.arange(len(frame)) // size
        return ids
    times = pd.to_datetime(frame[time_column])
    if unit in ("month", "week"):
        return times.dt.to_period("M" if unit == "month" else "W").astype(str).to_numpy()
    days = (times - times.min()).dt.days.to_numpy()
    return days // int(match.group(2))


def calibration_windows(
    records: pd.DataFrame, window: str, time_column: str | None, seed: int
) -> list[np.ndarray]:
    """Row masks of the windows the thresholds are calibrated on.

    With a time column, the ordinary windows of the history (calendar months, blocks of days,
    batches of rows in time order). Without one, any batch of rows is as ordinary as another:
    RANDOM_BATCHES seeded batches of the window's rows, each scored against the rest. A
    partition would give only a handful (five, for a batch the holdout's size), and the maximum
    of five understates how far batches of unseen rows score: on three untimed tables of the
    corpus, 5 to 7 in 20 such batches alarmed (the template's docs/verdicts.md).
    """
    match = WINDOW.match(window)
    if time_column or not match or match.group(3) != "rows":
        return ordinary_windows(window_ids(records, window, time_column, seed))
    size = int(match.group(2))
    if len(records) // size < MIN_WINDOWS:  # as few rows as a partition into too few windows
        return []
    generator = np.random.default_rng([seed, size])
    batches = []
    for _ in range(RANDOM_BATCHES):
        inside = np.zeros(len(records), dtype=bool)
        inside[generator.choice(len(records), size, replace=False)] = True
        batches.append(inside)
    return batches


def ordinary_windows(ids: np.ndarray) -> list[np.ndarray]:
    """Row masks of the windows that are not partial (the first or last month cut short)."""
    values, counts = np.unique(ids, return_counts=True)
    full = values[counts >= PARTIAL * np.median(counts)]
    return [ids == value for value in full]


def column_score(method: str, categorical: bool, reference: pd.Series, current: pd.Series) -> float:
    """The drift check's statistic for one column (Evidently's definitions; see the tests)."""
    reference, current = reference.dropna(), current.dropna()
    if categorical:
        # as the Evidently adapter sends them: categories as text
        reference, current = reference.astype(str), current.astype(str)
    if method == "wasserstein" and not categorical:
        from scipy.stats import wasserstein_distance

        norm = max(float(np.std(reference)), 0.001)
        return float(wasserstein_distance(reference, current) / norm)
    if method == "jensenshannon":
        from scipy.spatial.distance import jensenshannon

        ref, cur = _frequencies(reference, current, categorical)
        return float(jensenshannon(ref, cur))
    raise ValueError(f"no direct statistic for {method}")


def _frequencies(
    reference: pd.Series, current: pd.Series, categorical: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Shares per bin (numbers with more than 20 values) or per value, as Evidently bins."""
    if not categorical and reference.nunique() > 20:
        edges = np.histogram_bin_edges(np.concatenate([reference, current]), bins="sturges")
        return (
            np.histogram(reference, edges)[0] / len(reference),
            np.histogram(current, edges)[0] / len(current),
        )
    keys = sorted(set(reference.unique()) | set(current.unique()), key=str)
    ref_counts, cur_counts = reference.value_counts(), current.value_counts()
    return (
        np.array([ref_counts.get(key, 0) / len(reference) for key in keys]),
        np.array([cur_counts.get(key, 0) / len(current) for key in keys]),
    )


DIRECT = {"wasserstein", "jensenshannon"}


def calibrate(
    params: Params,
    records: pd.DataFrame,
    columns: list[str] | None = None,
    decay: bool = True,
) -> Calibration:
    """Thresholds for `columns` (default: every tested column) and, if `decay`, the decay
    tolerance, from `records` (the validated training table). Columns whose test gives a
    p-value, or data with too few ordinary windows, keep their thresholds; `skipped` says why."""
    contract = Contract.load(params)
    time_column = contract.time_column
    window = window_of(params, records, time_column)
    windows = calibration_windows(records, window, time_column, params.seed)
    skipped: dict[str, str] = {}
    thresholds = {}
    if len(windows) < MIN_WINDOWS:
        skipped["thresholds"] = f"{len(windows)} ordinary windows of {window}, {MIN_WINDOWS} needed"
    else:
        thresholds = _thresholds(params, records, windows, columns, skipped)
    tolerance = _decay_tolerance(params, records, window, time_column, skipped) if decay else None
    return Calibration(window, thresholds, tolerance, skipped)


def recalibrated(params: Params) -> tuple[list[str], bool]:
    """What `retrain` recalibrates: the columns whose threshold carries evidence, and the decay
    tolerance if it does. A threshold without evidence was set by a person: it stays."""
    columns = [name for name, test in params.drift.columns.items() if test.evidence is not None]
    return columns, params.drift.decay_evidence is not None


def _thresholds(
    params: Params,
    records: pd.DataFrame,
    windows: list[np.ndarray],
    columns: list[str] | None,
    skipped: dict[str, str],
) -> dict[str, tuple[str, float, Evidence]]:
    thresholds = {}
    reference = _sampled(records, params)
    rows = int(np.median([inside.sum() for inside in windows]))
    rest = int(np.median([(reference & ~inside).sum() for inside in windows]))
    tested = [*params.features.categorical, *params.features.numeric]
    for column in tested if columns is None else [name for name in tested if name in columns]:
        categorical = column in params.features.categorical
        method = params.drift.test_for(column, categorical=categorical).method
        kinds = CATEGORICAL_DRIFT_METHODS if categorical else NUMERIC_DRIFT_METHODS
        if kinds.get(method) != "distance":
            skipped[column] = f"{method} gives a p-value, not a distance"
            continue
        scores = [
            _window_score(params, method, categorical, column, records, reference, inside)
            for inside in windows
        ]
        scores = [value for value in scores if not math.isnan(value)]
        if len(scores) < MIN_WINDOWS:
            skipped[column] = "too few windows with values"
            continue
        evidence = Evidence.of(scores, rows, rest)
        thresholds[column] = (method, _round(max(MARGIN * max(scores), MIN_THRESHOLD)), evidence)
    return thresholds


def _sampled(records: pd.DataFrame, params: Params) -> np.ndarray:
    """Which rows may serve as reference: all, or a seeded sample as the drift check takes."""
    limit = params.drift.sample_rows
    keep = np.ones(len(records), dtype=bool)
    if len(records) > limit:
        keep[:] = False
        keep[np.random.default_rng(params.seed).choice(len(records), limit, replace=False)] = True
    return keep


def _window_score(
    params: Params,
    method: str,
    categorical: bool,
    column: str,
    records: pd.DataFrame,
    reference: np.ndarray,
    inside: np.ndarray,
) -> float:
    """One window against the rest of the training data, as the drift check scores it."""
    ref, cur = records.loc[reference & ~inside, column], records.loc[inside, column]
    if ref.dropna().empty or cur.dropna().empty:
        return math.nan
    if method in DIRECT:
        return column_score(method, categorical, ref, cur)
    return _evidently_score(params, method, categorical, column, ref, cur)


def _evidently_score(
    params: Params, method: str, categorical: bool, column: str, ref: pd.Series, cur: pd.Series
) -> float:
    """Evidently's own score, for the distances not computed here (slower: a report each)."""
    from .evidently_adapter import run_drift

    run = run_drift(
        ref.to_frame(),
        cur.to_frame(),
        numeric=[] if categorical else [column],
        categorical=[column] if categorical else [],
        tests={column: (method, 1.0)},
        drift_share=params.drift.share,
    )
    return run.columns[column].score


# ------------------------------------------------------------------ the decay tolerance


def _decay_tolerance(
    params: Params,
    records: pd.DataFrame,
    window: str,
    time_column: str | None,
    skipped: dict[str, str],
) -> tuple[float, Evidence] | None:
    """`DECAY_MARGIN` times the largest relative worsening of the decay metric of an ordinary
    window of a holdout against that holdout's whole metric, over `DECAY_FOLDS` holdouts, each
    scored by a model fitted without it (with a time column: on the rows before it)."""
    metric = params.drift.decay_metric
    changes, sizes = [], []
    for train, holdout in _folds(params, records, time_column):
        if len(train) < MIN_DECAY_ROWS or len(holdout) < MIN_DECAY_ROWS:
            continue
        model = fit_params(params, train)
        truth, predicted = model.truth_of(holdout), model.predict(holdout)
        whole = score(params.task, truth, predicted)[metric]
        ids = window_ids(holdout, window, time_column, params.seed)
        for inside in ordinary_windows(ids):
            if inside.sum() < MIN_DECAY_ROWS:
                continue
            now = score(params.task, truth[inside], predicted[inside])[metric]
            changes.append(worse_by(metric, whole, now))
            sizes.append((int(inside.sum()), len(holdout)))
    changes = [value for value in changes if not math.isnan(value)]
    if len(changes) < MIN_WINDOWS:
        skipped["decay_tolerance"] = (
            f"{len(changes)} holdout windows of {window} with {MIN_DECAY_ROWS}+ rows, "
            f"{MIN_WINDOWS} needed"
        )
        return None
    rows, whole_rows = (int(np.median(side)) for side in zip(*sizes, strict=True))
    evidence = Evidence.of(changes, rows, whole_rows)
    return _round(max(DECAY_MARGIN * max(changes), 0.01)), evidence


def _folds(
    params: Params, records: pd.DataFrame, time_column: str | None
) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """(training rows, holdout rows) for each of `DECAY_FOLDS` holdouts of the split's size.

    With a time column the holdouts are the newest blocks of time, each model fitted on the
    rows before its block (as production models only ever predict later days); without one,
    a seeded partition of the rows, each part scored by a model fitted on the others."""
    share = params.split.holdout_fraction
    if time_column:
        times = records[time_column]
        folds = []
        for fold in range(DECAY_FOLDS):
            first = max(0.0, 1 - share * (DECAY_FOLDS - fold))
            start = times.quantile(first, interpolation="lower")
            end = times.quantile(1 - share * (DECAY_FOLDS - fold - 1), interpolation="lower")
            last = fold == DECAY_FOLDS - 1
            inside = (times >= start) & ((times <= end) if last else (times < end))
            folds.append((records[times < start], records[inside]))
        return folds
    # without time: a seeded partition into DECAY_FOLDS parts, each large enough to hold a
    # batch of the window's rows and more (a holdout-sized part would be a single window)
    part = np.random.default_rng(params.seed).permutation(len(records)) % DECAY_FOLDS
    return [(records[part != fold], records[part == fold]) for fold in range(DECAY_FOLDS)]


def worse_by(metric: str, whole: float, window: float) -> float:
    """The window's metric relative to the holdout's, positive when worse (0.5 = 50%)."""
    if whole == 0 or math.isnan(whole) or math.isnan(window):
        return math.nan
    change = (window - whole) / abs(whole)
    return -change if HIGHER_IS_BETTER[metric] else change


def _round(value: float) -> float:
    """Three significant digits: what a reviewer reads, stable across re-dumps."""
    return float(f"{value:.3g}")
