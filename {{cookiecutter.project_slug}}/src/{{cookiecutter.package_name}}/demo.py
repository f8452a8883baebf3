"""The demo data set: daily food demand per store and category, generated deterministically.

This module is the demo's own corner: the only code that names its columns. Everything else
reads them from schema.yaml and params.yaml, so a project that adopts its own data set keeps
this module only for `make demo` and its tests.

Two scenarios tell the demo's story. In `baseline` fuel costs about 1.60 a litre and matters
little. In `fuel-shock` the fuel price jumps after the first week to about 2.35 and customers
change how they shop: they drive less to out-of-town stores, buy more at the walkable city
centre, stock up on long-life food and buy less that is fresh. A model trained on baseline
data has never seen such prices or such behaviour, so its error grows until it is retrained.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ProjectError

STORES = ("city_centre", "suburb", "retail_park", "village")
CATEGORIES = ("bakery", "dairy", "produce", "meat", "frozen", "pantry")
COLUMNS = (
    "date",
    "store",
    "category",
    "price",
    "promotion",
    "temperature",
    "fuel_price",
    "units_sold",
    "high_demand",
)
SCENARIOS = ("baseline", "fuel-shock")
DEFAULT_START = {"baseline": "2024-01-01", "fuel-shock": "2025-01-01"}
SHOCK_DAY = 7  # the fuel price jumps this many days into the fuel-shock period

STORE_SIZE = {"city_centre": 1.0, "suburb": 1.4, "retail_park": 2.0, "village": 0.6}
# How much a store's customers depend on driving to it (0 = walk, 1 = drive).
STORE_CAR_DEPENDENCE = {"city_centre": -0.4, "suburb": 0.5, "retail_park": 1.0, "village": 0.8}
CATEGORY_BASE = {"bakery": 60, "dairy": 80, "produce": 70, "meat": 40, "frozen": 35, "pantry": 50}
CATEGORY_PRICE = {
    "bakery": 2.5,
    "dairy": 1.8,
    "produce": 2.2,
    "meat": 7.5,
    "frozen": 4.0,
    "pantry": 3.0,
}
CATEGORY_ELASTICITY = {
    "bakery": -1.2,
    "dairy": -0.8,
    "produce": -1.5,
    "meat": -1.8,
    "frozen": -1.3,
    "pantry": -0.9,
}
CATEGORY_PROMO_LIFT = {
    "bakery": 0.35,
    "dairy": 0.25,
    "produce": 0.4,
    "meat": 0.6,
    "frozen": 0.5,
    "pantry": 0.45,
}
CATEGORY_HEAT = {
    "bakery": -0.05,
    "dairy": 0.05,
    "produce": 0.12,
    "meat": 0.08,
    "frozen": 0.25,
    "pantry": -0.08,
}
# In a fuel shock long-life food is stocked up and fresh food bought less often.
CATEGORY_STOCKPILING = {
    "bakery": -0.25,
    "dairy": -0.1,
    "produce": -0.3,
    "meat": -0.15,
    "frozen": 0.25,
    "pantry": 0.45,
}
HIGH_DEMAND_FACTOR = 1.25  # high_demand = 1 when a day sells 25% above the usual level


def generate(
    scenario: str = "baseline", rows: int = 8760, seed: int = 0, start: str | None = None
) -> pd.DataFrame:
    """Return exactly `rows` records, oldest first, the same for the same arguments."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {', '.join(SCENARIOS)}")
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    rng = np.random.default_rng([seed, SCENARIOS.index(scenario)])
    per_day = len(STORES) * len(CATEGORIES)
    days = pd.date_range(start or DEFAULT_START[scenario], periods=math.ceil(rows / per_day))
    daily = _daily_conditions(days, scenario, rng)
    grid = pd.MultiIndex.from_product(
        [days, STORES, CATEGORIES], names=["date", "store", "category"]
    )
    frame = grid.to_frame(index=False).merge(daily, on="date").iloc[:rows]
    return _add_sales(frame, scenario, rng)


def _daily_conditions(days: pd.DatetimeIndex, scenario: str, rng: np.random.Generator):
    day_of_year = days.dayofyear.to_numpy()
    season = np.sin(2 * np.pi * (day_of_year - 110) / 365.25)
    temperature = 11 + 10 * season + rng.normal(0, 2.5, len(days))
    wander = np.cumsum(rng.normal(0, 0.008, len(days)))
    fuel = 1.60 + 0.06 * np.sin(2 * np.pi * day_of_year / 182.6) + wander - wander.mean()
    if scenario == "fuel-shock":
        jump = np.clip((np.arange(len(days)) - SHOCK_DAY + 1) / 3, 0, 1)  # over three days
        fuel = fuel + 0.75 * jump
    return pd.DataFrame(
        {"date": days, "temperature": temperature.round(1), "fuel_price": fuel.round(3)}
    )


def _add_sales(frame: pd.DataFrame, scenario: str, rng: np.random.Generator) -> pd.DataFrame:
    n = len(frame)
    store, category = frame["store"], frame["category"]
    base_price = category.map(CATEGORY_PRICE).to_numpy()
    promotion = (rng.random(n) < 0.1).astype(int)
    shock_surcharge = 1.04 if scenario == "fuel-shock" else 1.0  # transport costs reach prices
    price = base_price * shock_surcharge * rng.normal(1, 0.05, n) * np.where(promotion, 0.8, 1)
    fuel_excess = frame["fuel_price"].to_numpy() - 1.60
    # Baseline customers barely notice fuel; shocked ones change where and what they buy.
    fuel_response = -0.05 * store.map(STORE_CAR_DEPENDENCE).to_numpy()
    if scenario == "fuel-shock":
        fuel_response = (
            -0.6 * store.map(STORE_CAR_DEPENDENCE).to_numpy()
            + category.map(CATEGORY_STOCKPILING).to_numpy()
        )
    usual = store.map(STORE_SIZE).to_numpy() * category.map(CATEGORY_BASE).to_numpy()
    log_mean = (
        np.log(usual)
        + category.map(CATEGORY_ELASTICITY).to_numpy() * np.log(price / base_price)
        + category.map(CATEGORY_PROMO_LIFT).to_numpy() * promotion
        + category.map(CATEGORY_HEAT).to_numpy() * (frame["temperature"].to_numpy() - 11) / 5
        + fuel_response * fuel_excess
    )
    units = rng.poisson(np.exp(log_mean))
    return frame.assign(
        price=price.round(2),
        promotion=promotion,
        units_sold=units,
        high_demand=(units > HIGH_DEMAND_FACTOR * usual).astype(int),
    )[list(COLUMNS)]


def write_demo(scenario: str, rows: int, seed: int, start: str | None, out: str | Path) -> str:
    """Generate a scenario into `out`; return a line saying what was written.

    An existing file at `out` is replaced only when it is the demo's own (its header is the
    demo's columns): a user's adopted data is never overwritten by the demo's.
    """
    _refuse_to_overwrite_other_data(Path(out))
    frame = generate(scenario, rows=rows, seed=seed, start=start)
    write_csv(frame, out)
    first, last = frame["date"].min().date(), frame["date"].max().date()
    return f"wrote {len(frame)} rows ({scenario}, {first} to {last}) to {out}"


def _refuse_to_overwrite_other_data(out: Path) -> None:
    if not out.exists():
        return
    try:
        header = pd.read_csv(out, nrows=0).columns.tolist() if out.suffix == ".csv" else None
    except (ValueError, UnicodeDecodeError, OSError):
        header = None
    if header != list(COLUMNS):
        raise ProjectError(
            f"{out} exists and is not the demo's data: the demo does not overwrite it. "
            "Write the demo elsewhere (--out), or remove that file first if it is meant"
        )


def write_csv(frame: pd.DataFrame, out: str | Path) -> Path:
    """Write the frame as CSV via a temporary file, so a failed write leaves no partial file."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    frame.to_csv(partial, index=False, date_format="%Y-%m-%d")
    partial.replace(out)
    return out
