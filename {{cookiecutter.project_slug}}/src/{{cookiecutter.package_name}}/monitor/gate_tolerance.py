"""The gate's tolerance, calibrated on the project's own data: how far the primary metric moves
on the holdout between models that differ in nothing material.

The gate's bootstrap resamples the holdout's rows; it cannot see that the two models are
themselves noisy: refitted on slightly different rows or with another seed, a model moves its
score on a few hundred noisy rows by several percent (by a fraction of a percent on 20,000 rows
of a strong signal). Left out, that noise fails pull requests that change nothing material.
Here the model is refitted `REFITS` times, each on a seeded share of the training rows with its
own seed, and scored on the holdout; the standard deviation of the relative difference between
two refits, times the gate's one-sided normal quantile, is added to the default tolerance, as
the term of the difference's uncertainty the bootstrap leaves out, up to `CEILING`. It is
written with its evidence (refits, that standard deviation, the largest worsening between two
refits) so that a reviewer sees why. Measured in the template's docs/verdicts.md.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from ..data.contract import Contract
from ..data.dataset import split_records
from ..model.metrics import score
from ..model.params import Params
from ..model.refit import fit_params
from .calibration import worse_by

REFITS = 5  # ten pairs of refits; each is one more model fitted at adopt and retrain
SHARE = 0.9  # each refit sees this share of the training rows
FLOOR = 0.02  # the default tolerance, for a model whose refits do not move
# A gate that tolerates more than a quarter worse no longer gates: past this the refits' noise
# is named instead (penguins' 69 held-out rows: refits scored log loss 0.006 to 0.18)
CEILING = 0.25
MAX_ROWS = 20_000  # past this the noise only shrinks: fit on a seeded sample, for speed


@dataclass(frozen=True)
class Tolerance:
    """`gate.max_regression` and the refits it rests on."""

    max_regression: float
    refits: int
    spread: float  # the standard deviation of the relative difference between two refits
    largest: float  # the largest relative worsening between two refits
    holdout_rows: int

    @property
    def too_noisy(self) -> bool:
        """The refits' noise alone asks for more than CEILING: the holdout cannot tell."""
        return self.max_regression >= CEILING

    def evidence(self) -> dict:
        return {"refits": self.refits, "spread": self.spread, "max": self.largest}

    def summary(self) -> str:
        return (
            f"Gate tolerance {self.max_regression * 100:.3g}%: {self.refits} refits on "
            f"{SHARE * 100:.0f}% of the training rows differ by {self.spread * 100:.3g}% "
            f"(standard deviation; at most {self.largest * 100:.3g}%) in the primary metric "
            "on the holdout."
        ) + (
            f" On {self.holdout_rows} held-out rows the gate cannot tell a regression from that "
            f"noise: it tolerates {CEILING * 100:.0f}%, its ceiling. More rows (or a larger "
            "split.holdout_fraction) or a steadier model would let it judge."
            if self.too_noisy
            else ""
        )


def calibrate_tolerance(params: Params, records: pd.DataFrame) -> Tolerance:
    """The tolerance for `params`' primary metric, from refits on `records` (validated rows)."""
    split = split_records(records, Contract.load(params))
    train, holdout = split.train, split.holdout
    metric = params.gate.primary_metric
    scores = []
    for refit in range(REFITS):
        rows = _sample(len(train), refit, params.seed)
        model = fit_params(params.model_copy(update={"seed": params.seed + 1 + refit}), train[rows])
        predicted = model.predict(holdout)
        scores.append(score(params.task, model.truth_of(holdout), predicted)[metric])
    differences = [worse_by(metric, a, b) for a, b in itertools.permutations(scores, 2)]
    differences = [value for value in differences if not math.isnan(value)] or [0.0]
    spread = _round(float(np.std(differences)))  # the pairs' mean is 0 by symmetry
    margin = NormalDist().inv_cdf(params.gate.confidence) * spread
    return Tolerance(
        max_regression=min(CEILING, _round(FLOOR + margin)),
        refits=REFITS,
        spread=spread,
        largest=_round(max(0.0, *differences)),
        holdout_rows=len(holdout),
    )


def _sample(rows: int, refit: int, seed: int) -> np.ndarray:
    """A boolean mask: a seeded `SHARE` of `rows` (at most MAX_ROWS), in their order."""
    generator = np.random.default_rng([seed, refit])
    keep = np.zeros(rows, dtype=bool)
    chosen = generator.choice(rows, min(round(rows * SHARE), MAX_ROWS), replace=False)
    keep[chosen] = True
    return keep


def _round(value: float) -> float:
    """Rounded up to three significant digits, so that the written tolerance covers the max."""
    if value <= 0:
        return 0.0
    scale = 10 ** (math.floor(math.log10(value)) - 2)
    return float(f"{math.ceil(value / scale) * scale:.3g}")
