"""Paired bootstrap: confidence intervals of metric differences, vectorised over resamples.

Poisson bootstrap over groups: each group of rows (a day, whose rows share its weather and
prices) is drawn Poisson(1) times in each resample, all its rows together. Rows of one day are
not independent evidence, so resampling rows one by one gave intervals too narrow to cover the
true difference; and one Poisson count per day is far cheaper than one row index per row.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np

RESAMPLES = 1000
CONFIDENCE = 0.95
# Weights matrices are resamples x rows; cap their size so a large holdout does not exhaust memory.
MAX_CELLS = 4_000_000


def resample_weights(
    rows: int, resamples: int, rng: np.random.Generator, groups: np.ndarray | None = None
) -> np.ndarray:
    """How often each row is drawn in each resample: weights[b, i] for resample b, row i.

    `groups` (one integer code per row, 0..k-1): each group is drawn Poisson(1) times, all its
    rows together. Without it, rows are drawn one by one, `rows` draws per resample.
    """
    if groups is None:
        drawn = rng.integers(0, rows, size=(resamples, rows))
        offsets = np.arange(resamples)[:, None] * rows
        flat = np.bincount((drawn + offsets).ravel(), minlength=resamples * rows)
        return flat.reshape(resamples, rows).astype(float)
    counts = rng.poisson(1.0, size=(resamples, int(groups.max()) + 1)).astype(float)
    return counts[:, groups]


def weighted_metrics(
    task: str, truth: np.ndarray, predicted: np.ndarray, weights: np.ndarray
) -> dict[str, np.ndarray]:
    """Each metric of `metrics.score`, once per row of `weights` (all ones gives score's values)."""
    weights = np.asarray(np.atleast_2d(weights), dtype=float)  # no copy when already float
    if task == "regression":
        truth = np.asarray(truth, dtype=float)
        return _regression(truth, np.asarray(predicted, dtype=float), weights)
    return _classification(np.asarray(truth, dtype=int), np.asarray(predicted, float), weights)


def _regression(truth: np.ndarray, predicted: np.ndarray, weights: np.ndarray) -> dict:
    return _regression_from_sums(weights @ _regression_terms(truth, predicted), len(truth))


def _regression_terms(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Per row, the terms whose weighted sums give every regression metric (rows x 6).

    Every regression metric is a function of weighted sums, so a resample's metrics need only
    these sums: per group of rows they can be added up once, before any resampling.
    """
    errors = truth - predicted
    return np.column_stack(
        [np.ones_like(truth), errors**2, truth, truth**2, np.abs(truth), np.abs(errors)]
    )


def _regression_from_sums(sums: np.ndarray, rows: int) -> dict:
    total, squared, truth_sum, truth_squared, volume, absolute = sums.T
    with np.errstate(divide="ignore", invalid="ignore"):  # a resample may draw no row at all
        spread = truth_squared - truth_sum**2 / total
        return {
            "mae": absolute / total,
            "rmse": np.sqrt(squared / total),
            "wape": np.where(volume > 0, absolute / volume, np.nan),
            "r2": np.where((spread > 0) & (rows > 1), 1 - squared / spread, np.nan),
        }


def _classification(codes: np.ndarray, probabilities: np.ndarray, weights: np.ndarray) -> dict:
    """Codes index the probability columns; -1 (a class unseen in training) is always wrong."""
    total = weights.sum(axis=1)
    chosen = probabilities.argmax(axis=1)
    rows = np.arange(len(codes))
    truth_probability = np.where(codes >= 0, probabilities[rows, np.clip(codes, 0, None)], 0.0)
    losses = -np.log(np.clip(truth_probability, 1e-15, 1.0))
    per_class = [
        _one_class(codes == c, chosen == c, probabilities[:, c], weights)
        for c in range(probabilities.shape[1])
    ]
    recall, f1, auc = (np.array([part[i] for part in per_class]) for i in range(3))
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a slice may hold no class at all
        return {
            "accuracy": (weights @ (chosen == codes).astype(float)) / total,
            "balanced_accuracy": np.nanmean(recall, axis=0),
            "f1_macro": np.nanmean(f1, axis=0),
            # with two classes one-vs-rest is the same curve twice: report class 1's
            "roc_auc": auc[1] if len(auc) == 2 else np.nanmean(auc, axis=0),
            "log_loss": (weights @ losses) / total,
        }


def _one_class(is_class: np.ndarray, says_class: np.ndarray, probability: np.ndarray, weights):
    """Recall, F1 and one-vs-rest ROC AUC of one class; NaN where the class never occurs."""
    is_class, says_class = is_class.astype(float), says_class.astype(float)
    support = weights @ is_class
    hits = weights @ (is_class * says_class)
    false_alarms = weights @ ((1 - is_class) * says_class)
    denominator = 2 * hits + false_alarms + (support - hits)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(support > 0, hits / support, np.nan)
        f1 = np.where(denominator > 0, 2 * hits / denominator, np.nan)
    return recall, f1, _roc_auc(is_class, probability, weights)


def _roc_auc(truth: np.ndarray, predicted: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted ROC AUC: P(score of a positive > score of a negative), ties counting half."""
    order = np.argsort(predicted, kind="stable")
    ranked = predicted[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])  # one group per distinct score
    positives = np.add.reduceat((weights * truth)[:, order], starts, axis=1)
    negatives = np.add.reduceat((weights * (1 - truth))[:, order], starts, axis=1)
    below = np.cumsum(negatives, axis=1) - negatives
    pairs = positives.sum(axis=1) * negatives.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (positives * (below + 0.5 * negatives)).sum(axis=1) / pairs
    return np.where(pairs > 0, auc, np.nan)


def paired_differences(
    task: str,
    truth: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    rng: np.random.Generator,
    resamples: int = RESAMPLES,
    groups: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """metric(after) - metric(before) on the same resampled rows, `resamples` values per metric.

    `groups`: rows drawn together (see resample_weights), e.g. `group_codes(dates)`.
    """
    everything = [np.arange(len(truth))]
    return paired_differences_within(
        task, truth, before, after, rng, everything, resamples, groups
    )[0]


def paired_differences_within(
    task: str,
    truth: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    rng: np.random.Generator,
    subsets: list[np.ndarray],
    resamples: int = RESAMPLES,
    groups: np.ndarray | None = None,
) -> list[dict[str, np.ndarray]]:
    """paired_differences on each subset of rows (the whole, each slice), from the same resamples.

    One draw of the resample weights serves every subset: drawing them is most of the cost,
    and a slice's resample is then the part of the whole's resample that falls in it.
    """
    truth, before, after = (np.asarray(values) for values in (truth, before, after))
    parts: list[list[dict[str, np.ndarray]]] = [[] for _ in subsets]
    if task == "regression" and groups is not None:
        units = int(groups.max()) + 1 if len(groups) else 1
        sums = [
            (
                _sums_by_group(truth[rows], before[rows], groups[rows], units),
                _sums_by_group(truth[rows], after[rows], groups[rows], units),
                len(rows),
            )
            for rows in subsets
        ]
        for counts in _group_counts(rng, resamples, units):
            for part, (old_sums, new_sums, rows) in zip(parts, sums, strict=True):
                old = _regression_from_sums(counts @ old_sums, rows)
                new = _regression_from_sums(counts @ new_sums, rows)
                part.append({name: new[name] - old[name] for name in new})
        return [_joined(part) for part in parts]
    for weights in _row_weights(len(truth), resamples, rng, groups):
        for part, rows in zip(parts, subsets, strict=True):
            old = weighted_metrics(task, truth[rows], before[rows], weights[:, rows])
            new = weighted_metrics(task, truth[rows], after[rows], weights[:, rows])
            part.append({name: new[name] - old[name] for name in new})
    return [_joined(part) for part in parts]


def resampled_metrics(
    task: str,
    truth: np.ndarray,
    predicted: np.ndarray,
    rng: np.random.Generator,
    resamples: int = RESAMPLES,
    groups: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """One model's metrics on `resamples` bootstrap resamples of the rows (see resample_weights)."""
    if task == "regression" and groups is not None:
        sums = _sums_by_group(truth, predicted, groups, int(groups.max()) + 1)
        counts = _group_counts(rng, resamples, len(sums))
        return _joined([_regression_from_sums(c @ sums, len(truth)) for c in counts])
    weights = _row_weights(len(truth), resamples, rng, groups)
    return _joined([weighted_metrics(task, truth, predicted, w) for w in weights])


def _sums_by_group(
    truth: np.ndarray, predicted: np.ndarray, groups: np.ndarray, units: int
) -> np.ndarray:
    """Per group 0..units-1, the sums of the regression terms (units x 6).

    Every regression metric is a function of these sums, so a resample's metrics need only
    them: fewer products by the rows per group (24 per day at 1M demo rows), the same values.
    """
    terms = _regression_terms(np.asarray(truth, dtype=float), np.asarray(predicted, dtype=float))
    return np.column_stack(
        [np.bincount(groups, weights=column, minlength=units) for column in terms.T]
    )


def _row_weights(
    rows: int, resamples: int, rng: np.random.Generator, groups: np.ndarray | None
) -> Iterator[np.ndarray]:
    """resample_weights for `resamples` resamples, in chunks that bound the memory."""
    chunk = max(1, MAX_CELLS // max(rows, 1))
    for start in range(0, resamples, chunk):
        yield resample_weights(rows, min(chunk, resamples - start), rng, groups)


def _group_counts(rng: np.random.Generator, resamples: int, units: int) -> Iterator[np.ndarray]:
    """Poisson(1) draws of each group, `resamples` x `units` in chunks that bound the memory."""
    chunk = max(1, MAX_CELLS // units)
    for start in range(0, resamples, chunk):
        yield rng.poisson(1.0, size=(min(chunk, resamples - start), units)).astype(float)


def _joined(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def group_codes(values: np.ndarray) -> np.ndarray:
    """0..k-1 for the k distinct values (e.g. dates), in the order of the sorted values."""
    return np.unique(values, return_inverse=True)[1].ravel()


def resampling_groups(frame, time_column: str | None) -> np.ndarray:
    """Rows drawn together by the bootstrap: those of one time (their conditions are shared),
    or each row alone when the data has no time column."""
    if time_column:
        return group_codes(frame[time_column].to_numpy())
    return np.arange(len(frame))


def interval(samples: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile interval of the samples, ignoring undefined ones (NaN when all are)."""
    tail = (1 - confidence) / 2 * 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: the interval is NaN
        low, high = np.nanpercentile(samples, [tail, 100 - tail])
    return float(low), float(high)
