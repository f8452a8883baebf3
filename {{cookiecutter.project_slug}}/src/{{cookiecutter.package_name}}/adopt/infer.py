"""Proposes a data contract for a table: the Pandera schema, column roles and thresholds, explained.

Pure: reads a frame, writes nothing. `adopt` writes what it returns; a person edits it freely.

The rules (their numbers are the constants below):

- The task, unless given: classification for labels (strings, booleans) and for whole numbers with
  at most 20 distinct values; regression otherwise. The target must be present in every row.

- Columns that are not features: the target, the time column, key and group_by columns, constant
  columns, identifiers (a distinct value per row: strings, or whole numbers that are dense like
  row numbers or that stay distinct over many rows), free text (mostly distinct strings with a
  median length above 30 characters), nearly unique short text (more than 20 values, more than
  half of them distinct: names) and leakage suspects (a copy of the target, or a one-to-one
  recoding of it).
- Categorical features: strings short of nearly unique (the encoder handles many values),
  booleans, and whole-number columns with at most 20 distinct values and at most one per 20 rows
  (codes).
  Datetime features: datetime columns and text columns of which at least 95% of the non-empty
  values parse as ISO dates. Numeric features: every other number.
- The schema is the contract the service and validation enforce, widened from the data so that
  an ordinary new value is not an error but an impossible one is: a numeric feature must lie
  within its observed range widened by twice that range's width on each side (0 as the floor
  when no value is negative: a weight or a count cannot be); a categorical feature with at most
  20 values, each seen about 20 times or more, must be one of them (a larger set is open: unseen
  values pass). Datetimes have no bounds. Other numbers (the target, columns left out) keep only
  a lower bound of 0 when no value is negative and the smallest is within a tenth of the
  largest. The target's classes are checked with isin.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ..errors import ProjectError

TASKS = ("regression", "classification")
MAX_CLASSES = 20  # a whole-number target with at most this many values is read as classes
SHOWN_CLASSES = 10  # messages name at most this many classes, then say how many more
MAX_CODES = 20  # whole-number columns with at most this many values are categorical codes...
MAX_CODE_SHARE = 0.05  # ...and at most one distinct value per 20 rows
IDENTIFIER_ROWS = 1000  # whole numbers distinct over this many rows are identifiers, dense or not
FREE_TEXT_LENGTH = 30  # median characters above which mostly distinct strings are free text
FREE_TEXT_DISTINCT = 0.5  # "mostly distinct": more than half of the non-empty values
NEAR_UNIQUE_MIN = 20  # text with more distinct values than this, mostly distinct: names, labels
DATE_SHARE = 0.95  # share of non-empty text values that must parse as dates
ISO_DATE = r"^\s*\d{4}-\d{2}-\d{2}"  # only ISO dates count: 03/04/2024 is ambiguous
# Features' checks (the service refuses what they refuse): numbers within their observed range
# widened by twice its width on each side; categories with at most this many values, listed.
RANGE_MARGIN = 2.0
MAX_ALLOWED_VALUES = 20
SLICE_VALUES = range(2, 13)  # automatic slices: categorical features with 2 to 12 values
AUTO_SLICES = 2
SKEWED = 1.0  # a non-negative regression target more skewed than this is fitted on log1p
HOLDOUT_FRACTION = 0.2


@dataclass(frozen=True)
class Inference:
    """What `infer_contract` proposes: the schema, params.yaml's column sections, and why.

    `params` has exactly the keys task, target, features, key, slices, split, gate, drift,
    model (only `target_transform`) and, with a time column, retrain; `classes` is the sorted
    labels for classification, else None.
    """

    schema: pa.DataFrameSchema
    params: dict
    decisions: list[str]
    classes: list | None

    @property
    def schema_yaml(self) -> str:
        return self.schema.to_yaml()


@dataclass(frozen=True)
class _Profile:
    """One column as the rules see it; `values` are the non-empty values, dates parsed."""

    kind: str  # bool | whole | float | text | datetime
    dtype: str  # the schema's dtype
    values: pd.Series
    nullable: bool
    unparsed: int = 0  # text values of a datetime column that are not dates

    @property
    def distinct(self) -> int:
        return int(self.values.nunique())

    @property
    def numeric(self) -> bool:
        return self.kind in ("whole", "float")


def infer_contract(
    frame: pd.DataFrame,
    target: str,
    task: str | None = None,
    time_column: str | None = None,
    key: Sequence[str] = (),
    slices: Sequence[str] | None = None,
    group_by: Sequence[str] = (),
) -> Inference:
    """Propose a contract for `frame` predicting `target`; ProjectError names any bad input."""
    key, group_by = list(key), list(group_by)
    _check_columns(frame, target, time_column, key, slices, group_by)
    profiles = {name: _profile(frame[name]) for name in frame.columns}
    decisions: list[str] = []
    task, classes = _choose_task(target, profiles[target], len(frame), task, decisions)
    _check_time_and_key(frame, profiles, time_column, key)
    if classes is not None and not time_column and not group_by:
        _check_stratifiable(frame[target])
    roles = {time_column: "the time column"} if time_column else {}
    roles |= {name: "the key" for name in key} | {name: "split groups" for name in group_by}
    if roles:
        listed = ", ".join(f"{name!r} ({role})" for name, role in roles.items())
        decisions.append(f"Not features: {listed}.")
    features = _assign_features(frame, target, profiles, set(roles), decisions)
    if not any(features.values()):
        raise ProjectError(f"no usable feature to predict {target!r}: {' '.join(decisions[1:])}")
    transform = _target_transform(task, profiles[target], decisions)
    params = {
        "task": task,
        "target": target,
        "features": features,
        "key": key,
        "slices": _choose_slices(slices, features, profiles, decisions),
        "split": _split(task, time_column, group_by, features, decisions),
        "gate": _gate(task, classes, decisions),
        "drift": _drift(task, features),
        "model": {"target_transform": transform},
    }
    if time_column:
        params["retrain"] = _retrain(profiles[time_column].values, time_column, decisions)
    schema = _schema(frame, profiles, params, classes)
    return Inference(schema=schema, params=params, decisions=decisions, classes=classes)


def _check_columns(
    frame: pd.DataFrame,
    target: str,
    time_column: str | None,
    key: list[str],
    slices: Sequence[str] | None,
    group_by: list[str],
) -> None:
    available = ", ".join(map(repr, map(str, frame.columns)))
    if target not in frame.columns:
        raise ProjectError(f"target column {target!r} not found; the columns are {available}")
    if frame.empty:
        raise ProjectError("the table has no rows")
    named = {"time column": [time_column] if time_column else [], "key column": key}
    named |= {"slice column": list(slices or []), "group_by column": group_by}
    for role, names in named.items():
        unknown = [name for name in names if name not in frame.columns]
        if unknown:
            raise ProjectError(f"{role} {unknown[0]!r} not found; the columns are {available}")
        if target in names:
            raise ProjectError(f"the target {target!r} cannot also be a {role}")


def _profile(series: pd.Series) -> _Profile:
    values, nullable = series.dropna(), bool(series.isna().any())
    if pd.api.types.is_bool_dtype(series) or _all_booleans(values):
        return _Profile("bool", "boolean" if nullable else "bool", values.astype(bool), nullable)
    if pd.api.types.is_datetime64_any_dtype(series):
        return _Profile("datetime", str(series.dtype), values, nullable)
    if pd.api.types.is_numeric_dtype(series):
        whole = pd.api.types.is_integer_dtype(series) or bool((values % 1 == 0).all())
        return _Profile("whole" if whole else "float", str(series.dtype), values, nullable)
    text = values.astype(str)
    dates = _parse_dates(text.where(text.str.match(ISO_DATE)))
    parsed = int(dates.notna().sum())
    if len(text) and parsed >= DATE_SHARE * len(text):
        # a datetime column may be missing values: those that are not dates fail validation
        dtype = str(dates.dtype)
        return _Profile("datetime", dtype, dates.dropna(), nullable, len(text) - parsed)
    return _Profile("text", "str", text, nullable)


def _all_booleans(values: pd.Series) -> bool:
    """True/False values in an object column (a boolean column with gaps, as pandas reads it)."""
    if values.dtype != object or not len(values):
        return False
    return all(isinstance(value, bool | np.bool_) for value in pd.unique(values))


def _parse_dates(text: pd.Series) -> pd.Series:
    """ISO days and datetimes; NaT for the rest. Mixed UTC offsets are converted to UTC."""
    with warnings.catch_warnings():
        # pandas warns (and will raise) on mixed offsets unless asked to convert them to UTC
        warnings.simplefilter("error", FutureWarning)
        try:
            return pd.to_datetime(text, errors="coerce", format="ISO8601")
        except (FutureWarning, ValueError):
            return pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)


def _choose_task(
    target: str, profile: _Profile, rows: int, task: str | None, decisions: list[str]
) -> tuple[str, list | None]:
    if task is not None and task not in TASKS:
        raise ProjectError(f"task must be one of {', '.join(TASKS)} (got {task!r})")
    missing = rows - len(profile.values)
    if missing:
        raise ProjectError(
            f"target {target!r} is empty in {missing} of {rows} rows: fill them, or pass "
            "--drop-missing-target to leave those rows out"
        )
    if profile.kind == "datetime":
        raise ProjectError(f"target {target!r} holds dates; a target is numbers or labels")
    if profile.distinct < 2:
        thing = "one class" if task == "classification" else "one value"
        raise ProjectError(f"target {target!r} has {thing} in every row: nothing to learn")
    if task == "regression" and not profile.numeric:
        raise ProjectError(f"task regression needs a numeric target; {target!r} holds labels")
    if task is None:
        task, why = _default_task(profile)
    else:
        why = "as asked"
    if task == "regression":
        decisions.append(f"Task: regression of {target!r} ({why}).")
        return task, None
    classes = sorted(pd.unique(profile.values).tolist())
    kind = "binary" if len(classes) == 2 else f"multiclass, {len(classes)} classes"
    decisions.append(f"Task: classification of {target!r}, {kind}: {_cut(classes)} ({why}).")
    return task, classes


def _default_task(profile: _Profile) -> tuple[str, str]:
    if not profile.numeric:
        return "classification", "it holds labels"
    if profile.kind == "whole" and profile.distinct <= MAX_CLASSES:
        return "classification", (
            f"whole numbers with only {profile.distinct} distinct values are read as classes;"
            " pass --task regression if they are amounts"
        )
    return "regression", f"it holds numbers with {profile.distinct} distinct values"


def _check_time_and_key(
    frame: pd.DataFrame, profiles: dict[str, _Profile], time_column: str | None, key: list[str]
) -> None:
    if time_column:
        profile = profiles[time_column]
        if profile.kind != "datetime":
            raise ProjectError(
                f"time column {time_column!r} does not parse as dates (ISO dates such as "
                "2024-01-31 or datetimes)"
            )
        if profile.nullable:
            raise ProjectError(f"time column {time_column!r} is empty in some rows")
    if key:
        duplicated = frame.duplicated(subset=key, keep=False)
        if duplicated.any():
            example = frame.loc[duplicated, key].iloc[0].to_dict()
            raise ProjectError(
                f"key {key} does not identify a row: {int(duplicated.sum())} rows share their "
                f"key with another row, e.g. {example}"
            )


def _check_stratifiable(labels: pd.Series) -> None:
    """A random split is stratified by class, which needs two rows of every class."""
    counts = labels.value_counts()
    if counts.min() < 2:
        rare = counts[counts < 2].index.tolist()
        many = len(rare) > SHOWN_CLASSES
        hint = (
            "; so many classes of one row each suggest the target is not a label: if it holds "
            "amounts, pass --task regression"
            if many
            else "; drop those rows, or pass --time-column if rows arrive over time"
        )
        raise ProjectError(
            f"classes with a single row ({len(rare)}): {_cut(rare)}; a stratified holdout "
            f"needs at least two rows of each class{hint}"
        )


def _assign_features(
    frame: pd.DataFrame,
    target: str,
    profiles: dict[str, _Profile],
    roles: set[str],
    decisions: list[str],
) -> dict[str, list[str]]:
    features: dict[str, list[str]] = {"categorical": [], "numeric": [], "datetime": []}
    left_out: dict[str, list[str]] = {}
    for name, profile in profiles.items():
        if name == target or name in roles:
            continue
        reason = _reason_to_leave_out(frame[name], profile, frame[target], len(frame))
        if reason:
            left_out.setdefault(reason, []).append(name)
        else:
            features[_feature_kind(profile, len(frame))].append(name)
    for kind, names in features.items():
        if names:
            decisions.append(f"{kind.capitalize()} features: {_names(names)}.")
    for reason, names in left_out.items():
        decisions.append(f"Left out {_names(names)}: {reason}.")
    unparsed = {name: profiles[name].unparsed for name in features["datetime"]}
    for name, count in unparsed.items():
        if count:
            decisions.append(f"{count} values of {name!r} are not dates: validation lists them.")
    return features


def _reason_to_leave_out(
    column: pd.Series, profile: _Profile, target: pd.Series, rows: int
) -> str | None:
    if profile.distinct < 2:
        return "constant (one value or none)"
    if _leaks(column, profile, target):
        return "leakage suspect (a copy or a one-to-one recoding of the target)"
    # free text first: a comment per row is also distinct per row, but it is not an identifier
    if profile.kind == "text" and (
        profile.distinct > FREE_TEXT_DISTINCT * len(profile.values)
        and profile.values.str.len().median() > FREE_TEXT_LENGTH
    ):
        return "free text (long, mostly distinct strings)"
    if _identifier(profile, rows):
        return "an identifier (a distinct value in every row)"
    if profile.kind == "text" and _near_unique(profile):
        return (
            f"nearly unique text ({profile.distinct} distinct values in {len(profile.values)} "
            "rows): as a categorical feature most values would be seen once, too few to learn from"
        )
    return None


def _near_unique(profile: _Profile) -> bool:
    """Short text that is mostly distinct (a name per row, or nearly): no usable feature."""
    distinct = profile.distinct
    return distinct > NEAR_UNIQUE_MIN and distinct > FREE_TEXT_DISTINCT * len(profile.values)


def _leaks(column: pd.Series, profile: _Profile, target: pd.Series) -> bool:
    """A copy of the target, or a recoding whose values pair one-to-one with the target's."""
    distinct = target.nunique(dropna=False)
    if column.nunique(dropna=False) != distinct:
        return False  # a copy or a recoding has exactly as many distinct values as the target
    if profile.numeric and pd.api.types.is_numeric_dtype(target):
        left = column.to_numpy(float, na_value=np.nan)
        right = target.to_numpy(float, na_value=np.nan)
        if np.array_equal(left, right, equal_nan=True):
            return True
        # a monotone recoding (y * 100, log y) of a numeric target ranks rows identically
        if not profile.nullable and abs(column.rank().corr(target.rank())) > 1 - 1e-12:
            return True
    elif column.astype(str).equals(target.astype(str)):
        return True
    # A one-to-one pairing is evidence only when the target repeats; with a distinct target
    # value per row, any distinct column would pair with it by chance.
    if distinct == len(target):
        return False
    pairs = pd.DataFrame({"column": column, "target": target}).drop_duplicates()
    return len(pairs) == distinct


def _identifier(profile: _Profile, rows: int) -> bool:
    """Distinct in every row: text, or whole numbers that are dense (row numbers) or many."""
    if profile.kind not in ("text", "whole") or profile.distinct != rows:
        return False
    if profile.kind == "text":
        return True
    span = float(profile.values.max()) - float(profile.values.min()) + 1
    # a small table's measurements are often all distinct; ids are dense, or distinct at scale
    return span <= 2 * rows or rows >= IDENTIFIER_ROWS


def _feature_kind(profile: _Profile, rows: int) -> str:
    if profile.kind in ("bool", "text"):
        return "categorical"
    if profile.kind == "datetime":
        return "datetime"
    if profile.kind == "whole" and profile.distinct <= min(MAX_CODES, MAX_CODE_SHARE * rows):
        return "categorical"
    return "numeric"


def _target_transform(task: str, profile: _Profile, decisions: list[str]) -> str:
    """log1p for a non-negative, right-skewed regression target, else none."""
    if task != "regression":
        return "none"
    skew = float(profile.values.skew())
    if profile.values.min() >= 0 and skew > SKEWED:
        # fitted on log1p the model aims at the median, which is what mae (the gate) rewards
        decisions.append(f"The target is non-negative and skewed ({skew:.1f}): fitted on log1p.")
        return "log1p"
    return "none"


def _choose_slices(
    slices: Sequence[str] | None,
    features: dict[str, list[str]],
    profiles: dict[str, _Profile],
    decisions: list[str],
) -> list[str]:
    if slices is not None:
        return list(slices)
    fits = [name for name in features["categorical"] if profiles[name].distinct in SLICE_VALUES]
    chosen = fits[:AUTO_SLICES]
    if chosen:
        decisions.append(
            f"Slices (metrics per value): {_names(chosen)}, categorical features with "
            f"{SLICE_VALUES.start} to {SLICE_VALUES.stop - 1} values."
        )
    else:
        decisions.append("No slices: no categorical feature has 2 to 12 values.")
    return chosen


def _split(
    task: str,
    time_column: str | None,
    group_by: list[str],
    features: dict[str, list[str]],
    decisions: list[str],
) -> dict:
    share = f"{round(HOLDOUT_FRACTION * 100)}%"
    if time_column:
        decisions.append(f"Split: the newest {share} of rows by {time_column!r} are held out.")
    else:
        how = "stratified by class" if task == "classification" else "seeded"
        together = f"; rows sharing {_names(group_by)} stay together" if group_by else ""
        decisions.append(f"Split: a random {share} of rows held out ({how}{together}).")
        if features["datetime"]:
            decisions.append(
                f"Dates in {_names(features['datetime'])}: if rows arrive over time, pass "
                f"--time-column {features['datetime'][0]} (say) to score on the newest rows."
            )
    return {"holdout_fraction": HOLDOUT_FRACTION, "time_column": time_column, "group_by": group_by}


def _gate(task: str, classes: list | None, decisions: list[str]) -> dict:
    if task == "regression":
        primary, baseline = "mae", "the training median"
        why = "in the target's units"
    else:
        primary, baseline = "log_loss", "the training class frequencies"
        why = "it scores the probabilities"
    decisions.append(
        f"Gate: {primary} is the primary metric ({why}); with or without a model on main, the "
        f"model must beat the baseline ({baseline}) on the holdout, 95% sure "
        "(gate.baseline_confidence)."
    )
    return {
        "primary_metric": primary,
        "max_regression": 0.02,  # until calibrated on refits (gate_tolerance.py)
        "max_slice_regression": 0.10,
        "beat_baseline": True,
        "baseline_confidence": 0.95,
    }


def _retrain(times: pd.Series, time_column: str, decisions: list[str]) -> dict:
    # Retraining keeps the newest window_days of data. As long as this table's history, the next
    # model learns from as many seasons as this one; the template's 365 is the demo's one year,
    # which would keep 4 rows of a quarterly table.
    days = int((times.max() - times.min()).days) + 1
    decisions.append(
        f"Retraining keeps the newest {days} days by {time_column!r}, as long as this table's "
        "history (retrain.window_days)."
    )
    return {"window_days": days}


def _drift(task: str, features: dict[str, list[str]]) -> dict:
    return {
        # at least a tenth of the features: any one of up to ten, two of twenty
        "share": 0.1,
        "numeric": {"method": "wasserstein", "threshold": 0.1},
        "categorical": {"method": "jensenshannon", "threshold": 0.1},
        "columns": {},
        "decay_metric": "mae" if task == "regression" else "log_loss",
        # a quarter worse than at training time: well above the noise of a batch's estimate
        "decay_tolerance": 0.25,
        # drifted data also retrains when the labels cannot rule out more decay than that
        "decay_confidence": 0.9,
        # Evidently takes about a second per 50k rows by 3 columns here; bigger tables are sampled
        "sample_rows": 100_000,
    }


def _schema(
    frame: pd.DataFrame, profiles: dict[str, _Profile], params: dict, classes: list | None
) -> pa.DataFrameSchema:
    """Pandera's inferred schema, widened: see the module docstring."""
    codes = set(params["features"]["categorical"])
    numeric_features = set(params["features"]["numeric"])
    target = params["target"]
    updates = {}
    for name, profile in profiles.items():
        dtype, checks = profile.dtype, []
        if name == target and classes is not None:
            checks = [pa.Check.isin(classes)]
        elif name in numeric_features:
            checks = [pa.Check.in_range(*_widened_range(profile))]
        elif name in codes and _few_values(profile, len(frame)):
            checks = [pa.Check.isin(sorted(pd.unique(profile.values).tolist()))]
        elif profile.numeric and name not in codes:
            log1p = name == target and params["model"]["target_transform"] == "log1p"
            checks = [pa.Check.ge(0)] if log1p or _has_floor(profile.values) else []
        if name == target and params["task"] == "regression":
            dtype = "float64"
        updates[name] = {"dtype": dtype, "checks": checks, "nullable": profile.nullable}
    inferred = pa.infer_schema(frame).reset_index(drop=True)
    return inferred.update_columns(updates)


def _widened_range(profile: _Profile) -> tuple[float, float]:
    """The observed range widened by RANGE_MARGIN times its width on each side, rounded outward
    to three significant digits; a column never negative in the data keeps 0 as its floor."""
    low, high = float(profile.values.min()), float(profile.values.max())
    margin = RANGE_MARGIN * (high - low) or abs(high) or 1.0  # a near-constant column: its size
    floor = 0.0 if low >= 0 else _outward(low - margin, down=True)
    ceiling = _outward(high + margin, down=False)
    if profile.kind == "whole":
        return math.floor(floor), math.ceil(ceiling)
    return floor, ceiling


def _outward(value: float, down: bool) -> float:
    if value == 0:
        return 0.0
    digits = 2 - math.floor(math.log10(abs(value)))
    scaled = value * 10**digits
    return round((math.floor(scaled) if down else math.ceil(scaled)) / 10**digits, max(digits, 0))


def _few_values(profile: _Profile, rows: int) -> bool:
    """Categories whose every value is likely in the data: few of them, each seen many times."""
    return profile.kind != "bool" and profile.distinct <= min(
        MAX_ALLOWED_VALUES, MAX_CODE_SHARE * rows
    )


def _has_floor(values: pd.Series) -> bool:
    """True when no value is negative and the smallest is within a tenth of the largest."""
    low, high = float(values.min()), float(values.max())
    return low >= 0 and low <= 0.1 * high


def _cut(values: Sequence) -> str:
    """At most SHOWN_CLASSES values, then how many more: a message stays a sentence."""
    shown = ", ".join(str(value)[:40] for value in values[:SHOWN_CLASSES])
    more = len(values) - SHOWN_CLASSES
    return f"{shown} and {more} more" if more > 0 else shown


def _names(names: Sequence[str]) -> str:
    return ", ".join(repr(name) for name in names)
