"""More evidence when the holdout is too small to tell: main's model and this PR's, each
refitted on the same training rows of several other splits of the data, scored on the same
held-out rows of each, and the gap judged across the splits.

On one split of a few dozen rows, a handful of rows decides (a 36-row holdout: one row moved
log loss by 12%). Here the gap in the primary metric is averaged over up to SPLITS splits, and
its uncertainty is the corrected resampled t-test (Nadeau and Bengio, 2003; Bouckaert and Frank,
2004): the splits share rows, so the plain standard error of their mean is too small, and the
correction adds the term held-out rows / training rows to 1 / splits.

Without a time column the splits are drawn as the project's own split is (seeded random shares,
stratified by the target or by group), with other seeds. With one, each split is an older block
of time, scored by models fitted only on the rows before it, as production models only ever
predict later rows. Both models are refitted: main's pipeline as main built it (cloned), this
PR's from its params. The gap measured is then that of the two recipes on the same rows, which
is what the PR changed only when main's data and this PR's are the same: compare runs this only
then.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data.contract import Contract
from ..data.dataset import split_records
from ..model.artifacts import TrainedModel, in_class_order
from ..model.metrics import HIGHER_IS_BETTER, score
from ..model.refit import fit_like, fit_params

SPLITS = 10  # twenty models fitted: seconds on the few thousand rows this runs on
MIN_SPLITS = 3  # fewer splits than this give no spread to judge by: the holdout alone decides
MIN_TEST_ROWS = 10  # a block of time holds at least this many rows
OLDEST_TRAINING_SHARE = 0.5  # the oldest block of time is still scored by a model fitted on half


@dataclass(frozen=True)
class SplitScores:
    """The primary metric of both refitted models on each split's held-out rows."""

    metric: str
    main: list[float]
    pr: list[float]
    test_rows: float  # the mean over splits
    train_rows: float
    how: str  # the splits, as a sentence for the comment

    @property
    def splits(self) -> int:
        return len(self.main)

    @property
    def differences(self) -> np.ndarray:
        return np.asarray(self.pr) - np.asarray(self.main)

    def interval(self, confidence: float) -> tuple[float, float]:
        """The two-sided `confidence` interval of the mean difference (this PR - main)."""
        mean, error = self._mean_and_error()
        if error == 0:
            return mean, mean
        from scipy.stats import t

        half = float(t.ppf(0.5 + confidence / 2, self.splits - 1)) * error
        return mean - half, mean + half

    def sure_worse(self) -> float:
        """How sure the test is that this PR's recipe is worse (0.5 when they never differ)."""
        mean, error = self._mean_and_error()
        worse = -mean if HIGHER_IS_BETTER[self.metric] else mean
        if error == 0:
            return 0.5 if worse == 0 else float(worse > 0)
        from scipy.stats import t

        return float(t.cdf(worse / error, self.splits - 1))

    def _mean_and_error(self) -> tuple[float, float]:
        """The mean difference and its corrected standard error (the module's docstring)."""
        differences = self.differences
        correction = 1 / self.splits + self.test_rows / self.train_rows
        spread = float(np.std(differences, ddof=1))
        return float(differences.mean()), math.sqrt(correction) * spread


def score_splits(
    main: TrainedModel, pr: TrainedModel, records: pd.DataFrame, contract: Contract
) -> SplitScores | None:
    """Both models refitted and scored on each split of `records` (None: too few splits)."""
    params = contract.params
    folds, how = _folds(records, contract)
    if len(folds) < MIN_SPLITS:
        return None
    metric = params.gate.primary_metric
    scores: dict[str, list[float]] = {"main": [], "pr": []}
    fitted_folds = []
    for train, test in folds:
        try:  # an old block may not fit: e.g. a class too rare to hold out for early stopping
            models = {"main": fit_like(main, train), "pr": fit_params(params, train)}
        except ValueError:
            continue
        truth = pr.truth_of(test)
        for side, model in models.items():
            predicted = model.predict(test)
            if params.task == "classification":
                predicted = in_class_order(predicted, model.classes, pr.classes)
            scores[side].append(score(params.task, truth, predicted)[metric])
        fitted_folds.append((train, test))
    pairs = list(zip(scores["main"], scores["pr"], fitted_folds, strict=True))
    usable = [(m, p, fold) for m, p, fold in pairs if not (math.isnan(m) or math.isnan(p))]
    if len(usable) < MIN_SPLITS:
        return None
    return SplitScores(
        metric=metric,
        main=[m for m, _, _ in usable],
        pr=[p for _, p, _ in usable],
        test_rows=float(np.mean([len(test) for _, _, (_, test) in usable])),
        train_rows=float(np.mean([len(train) for _, _, (train, _) in usable])),
        how=how,
    )


def _folds(records: pd.DataFrame, contract: Contract) -> tuple[list, str]:
    """(training rows, held-out rows) of each split, and a sentence saying how they were drawn."""
    if contract.time_column:
        return _older_blocks(records, contract.time_column)
    seed = contract.params.seed
    splits = [split_records(records, contract, seed=seed + 1 + i) for i in range(SPLITS)]
    how = f"{SPLITS} more random splits of the {len(records)} rows, drawn as the holdout was"
    return [(split.train, split.holdout) for split in splits], how


def _older_blocks(records: pd.DataFrame, time_column: str) -> tuple[list, str]:
    """Blocks of time from the newest back, each scored by models fitted on the rows before it;
    the oldest block still has OLDEST_TRAINING_SHARE of the rows before it."""
    count = min(SPLITS, int(len(records) * (1 - OLDEST_TRAINING_SHARE)) // MIN_TEST_ROWS)
    if count < MIN_SPLITS:
        return [], ""
    times = records[time_column].sort_values(ignore_index=True)
    block = len(records) * (1 - OLDEST_TRAINING_SHARE) / count
    folds = []
    for index in range(count):
        start = times.iloc[int(len(times) - (index + 1) * block)]
        end = None if index == 0 else times.iloc[int(len(times) - index * block)]
        inside = records[time_column] >= start
        if end is not None:
            inside &= records[time_column] < end
        before = records[records[time_column] < start]
        if inside.any() and len(before):
            folds.append((before, records[inside]))
    how = (
        f"{len(folds)} blocks of time from the newest back, each scored by models fitted on the "
        f"rows before it"
    )
    return folds, how
