"""Real shifts built by transforming generated demo data (the generator has only a fuel shock).

Each takes an ordinary period and returns the same period as the world would have produced it
after the shift: the inputs change and demand answers the way the demo's generator says it
would (elasticities, heat sensitivity), by thinning or adding Poisson counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from common import package

HEAT_WAVE_DEGREES = 8.0
PRICE_RISE = 1.15
CLOSED_STORE, GAINING_STORE, GAINED_SHARE = "village", "suburb", 0.5
NEW_CATEGORY = "snacks"


def _rescale(units: np.ndarray, factor: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Counts as if their Poisson mean had been multiplied by `factor`."""
    factor = np.broadcast_to(factor, units.shape)
    fewer = rng.binomial(units, np.minimum(factor, 1.0))
    more = rng.poisson(units * np.maximum(factor - 1.0, 0.0))
    return np.where(factor < 1, fewer, units + more)


def _relabel(frame: pd.DataFrame) -> pd.DataFrame:
    data = package("demo")
    usual = frame["store"].map(data.STORE_SIZE) * frame["category"].map(data.CATEGORY_BASE)
    high = (frame["units_sold"] > data.HIGH_DEMAND_FACTOR * usual.fillna(np.inf)).astype(int)
    return frame.assign(high_demand=high)


def heat_wave(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    heat = frame["category"].map(package("demo").CATEGORY_HEAT).to_numpy()
    factor = np.exp(heat * HEAT_WAVE_DEGREES / 5)
    units = _rescale(frame["units_sold"].to_numpy(), factor, rng)
    out = frame.assign(temperature=(frame["temperature"] + HEAT_WAVE_DEGREES).round(1))
    return _relabel(out.assign(units_sold=units))


def price_rise(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    elasticity = frame["category"].map(package("demo").CATEGORY_ELASTICITY).to_numpy()
    units = _rescale(frame["units_sold"].to_numpy(), PRICE_RISE**elasticity, rng)
    out = frame.assign(price=(frame["price"] * PRICE_RISE).round(2), units_sold=units)
    return _relabel(out)


def store_closing(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The village store closes; half of what it sold is bought at the suburb store instead."""
    data = package("demo")
    size = data.STORE_SIZE
    factor = 1 + GAINED_SHARE * size[CLOSED_STORE] / size[GAINING_STORE]
    gaining = (frame["store"] == GAINING_STORE).to_numpy()
    units = frame["units_sold"].to_numpy()
    units = np.where(gaining, _rescale(units, np.full(len(units), factor), rng), units)
    out = frame.assign(units_sold=units)
    return _relabel(out[out["store"] != CLOSED_STORE].reset_index(drop=True))


def new_category(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """A new category, sold like pantry goods, appears beside the others."""
    extra = frame[frame["category"] == "pantry"].assign(category=NEW_CATEGORY)
    return pd.concat([frame, extra], ignore_index=True).sort_values(
        ["date", "store"], kind="stable"
    )


def fuel_shock(year_seed: int, start: str, days: int) -> pd.DataFrame:
    """The generator's own scenario: the fuel price jumps a week into the period."""
    data = package("demo")
    per_day = len(data.STORES) * len(data.CATEGORIES)
    return data.generate("fuel-shock", days * per_day, seed=year_seed, start=start)


TRANSFORMS = {
    "heat wave": heat_wave,
    "price rise": price_rise,
    "store closing": store_closing,
    "new category": new_category,
}
KINDS = ("ordinary", "fuel shock", *TRANSFORMS)
