"""What `adopt` questions in a user's table before inferring anything from it.

Each check either repairs the table and says so in one sentence (numbers written with thousands
separators), or refuses it with the column and an example (duplicate column names), so that
nothing doubtful becomes part of the contract without a word.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pandas as pd

from ..errors import ProjectError

# "3,504", "-1,234.5": digits grouped by three with commas, an optional decimal part
GROUPED_NUMBER = re.compile(r"^\s*[-+]?\d{1,3}(,\d{3})+(\.\d+)?\s*$")
PLAIN_NUMBER = re.compile(r"^\s*[-+]?\d+(\.\d+)?\s*$")


def check_header(path: Path) -> None:
    """Refuse a CSV file whose header names a column twice (pandas would rename one silently)."""
    if path.suffix.lower() != ".csv":
        return  # Parquet cannot hold two columns of one name
    with path.open(encoding="utf-8", newline="") as file:
        header = next(csv.reader(file), [])
    twice = [name for name, count in Counter(header).items() if count > 1]
    if twice:
        name = twice[0]
        places = [str(number) for number, found in enumerate(header, start=1) if found == name]
        others = ", ".join(map(repr, twice[1:]))
        also = f"; also named more than once: {others}" if others else ""
        raise ProjectError(
            f"{path.name} names the column {name!r} {len(places)} times (columns "
            f"{', '.join(places)}): which one is meant? Rename or remove the others{also}"
        )


def parse_grouped_numbers(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Text columns of numbers written with thousands separators, read as numbers; and why.

    A column qualifies when at least one value has a separator: left as text it would become a
    categorical feature with a value per number. When some of its other values are not numbers
    at all, the table is refused with an example of each, since no reading of it is sure.
    """
    sentences = []
    parsed = frame.copy()
    for name in frame.columns:
        column = frame[name]
        if not (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)):
            continue
        text = column.dropna().astype(str)
        grouped = text.str.match(GROUPED_NUMBER)
        if not len(text) or not grouped.any():
            continue
        example = text[grouped].iloc[0].strip()
        others = text[~(grouped | text.str.match(PLAIN_NUMBER))]
        if len(others):
            raise ProjectError(
                f"column {name!r} mixes numbers written with thousands separators (e.g. "
                f"{example!r}) with {len(others)} values that are not numbers (e.g. "
                f"{others.iloc[0]!r}): write it as plain numbers (3504, not 3,504) or as text"
            )
        values = pd.to_numeric(column.astype(str).str.replace(",", "", regex=False), "coerce")
        parsed[name] = values.where(column.notna())
        sentences.append(
            f"{name!r} holds numbers written with thousands separators (e.g. {example!r}): "
            f"read as numbers ({example!r} is {_plain(parsed[name][grouped[grouped].index[0]])})."
        )
    return parsed, sentences


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
