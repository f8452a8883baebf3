"""Pandera schemas: the contract for raw demand records, model inputs and predictions."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing.pandas import Series

from .domain import CATEGORIES, KEY, STORES, TARGETS

__all__ = ["CATEGORIES", "KEY", "STORES", "TARGETS"]  # re-exported: the schema's vocabulary


class StrictBase(pa.DataFrameModel):
    class Config:
        coerce = True  # CSV columns arrive as text or int; the schema decides the dtype


class ModelInput(StrictBase):
    """One row the model predicts from: what is known about a store, category and day."""

    store: Series[str] = pa.Field(isin=STORES)
    category: Series[str] = pa.Field(isin=CATEGORIES)
    price: Series[float] = pa.Field(gt=0, le=1000)
    promotion: Series[int] = pa.Field(isin=[0, 1])
    temperature: Series[float] = pa.Field(ge=-40, le=50)
    fuel_price: Series[float] = pa.Field(gt=0, le=10)


class DemandRecords(ModelInput):
    """A labelled day of sales: model inputs plus the date and both targets."""

    date: Series[pa.DateTime]
    units_sold: Series[int] = pa.Field(ge=0)
    high_demand: Series[int] = pa.Field(isin=[0, 1])

    class Config:
        unique = list(KEY)  # noqa: RUF012 (pandera reads a plain class attribute)


class RegressionPredictions(StrictBase):
    """Predicted units sold: never negative."""

    prediction: Series[float] = pa.Field(ge=0)


class ClassificationPredictions(StrictBase):
    """Predicted high-demand label with its probability."""

    label: Series[int] = pa.Field(isin=[0, 1])
    probability: Series[float] = pa.Field(ge=0, le=1)
