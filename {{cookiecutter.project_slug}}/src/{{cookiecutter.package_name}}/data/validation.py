"""Lazy validation: every failing check with its column, check, failing rows and examples."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pandera.pandas as pa

EXAMPLES_SHOWN = 3


@dataclass(frozen=True)
class Problem:
    """One failing check: where it failed, how often and on what values."""

    column: str
    check: str
    failing_rows: int | None  # None when the check is about the whole column (e.g. missing)
    examples: tuple[str, ...]


@dataclass
class ValidationReport:
    """The outcome of validating one table; `valid` is true when nothing failed."""

    source: str
    rows: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems

    def as_text(self) -> str:
        if self.valid:
            return f"{self.source}: valid ({self.rows} rows)"
        lines = [f"{self.source}: INVALID ({self.rows} rows, {len(self.problems)} problems)"]
        for problem in self.problems:
            line = f"  - {problem.column}: {problem.check}"
            if problem.failing_rows is not None:
                line += f" ({problem.failing_rows} rows), e.g. {', '.join(problem.examples)}"
            lines.append(line)
        return "\n".join(lines)

    def as_markdown(self) -> str:
        if self.valid:
            return f"**Data validation passed**: `{self.source}`, {self.rows} rows."
        lines = [
            f"**Data validation failed**: `{self.source}`, {self.rows} rows, "
            f"{len(self.problems)} problems.",
            "",
            "| column | check | failing rows | examples |",
            "| --- | --- | ---: | --- |",
        ]
        for problem in self.problems:
            count = "whole column" if problem.failing_rows is None else str(problem.failing_rows)
            examples = ", ".join(f"`{_cell(example)}`" for example in problem.examples)
            lines.append(f"| `{problem.column}` | {problem.check} | {count} | {examples} |")
        return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")  # a pipe in a value would end the markdown cell early


def validate_frame(
    frame: pd.DataFrame, schema: pa.DataFrameSchema, source: str
) -> tuple[pd.DataFrame, ValidationReport]:
    """Validate lazily; return the coerced frame (when valid) and the report."""
    frame, problems, unparsed = _parse_types(frame, schema)
    try:
        validated = schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        validated = frame
        problems += _problems_from(errors.failure_cases, frame, unparsed, schema)
    return validated, ValidationReport(source=source, rows=len(frame), problems=problems)


def _parse_types(
    frame: pd.DataFrame, schema: pa.DataFrameSchema
) -> tuple[pd.DataFrame, list[Problem], dict[str, set]]:
    """Turn unparseable numbers and dates into NaN, each reported once as a type problem.

    Pandera skips a column's range checks when its dtype coercion fails, so a string in the
    numeric column would hide the negative numbers beside it. Parsing first reports both.
    """
    frame = frame.copy()
    problems = []
    unparsed: dict[str, set] = {}
    for name, column in schema.columns.items():
        if name not in frame.columns:
            continue
        kind = str(column.dtype)
        if kind.startswith(("int", "float")):
            parsed = pd.to_numeric(frame[name], errors="coerce")
            expected = "a number"
        elif kind.startswith("datetime"):
            parsed = pd.to_datetime(frame[name], errors="coerce", format="ISO8601")
            expected = "a datetime (ISO 8601, e.g. 2024-01-31)"
        else:
            continue
        bad = parsed.isna() & frame[name].notna()
        if bad.any():
            examples = tuple(str(value) for value in frame.loc[bad, name].unique()[:EXAMPLES_SHOWN])
            problems.append(Problem(name, f"is {expected}", int(bad.sum()), examples))
            unparsed[name] = set(frame.index[bad])
        frame[name] = parsed
    return frame, problems, unparsed


def _problems_from(
    failure_cases: pd.DataFrame,
    frame: pd.DataFrame,
    unparsed: dict[str, set],
    schema: pa.DataFrameSchema,
) -> list[Problem]:
    """Group pandera's failure cases into one problem per column and check.

    A null value makes pandera fail the dtype coercion, the dtype and the nullability checks of
    its column at once; only "missing value" is kept, since the other two say the same thing.
    """
    failure_cases = failure_cases[
        failure_cases["failure_case"].notna() | (failure_cases["check"] == "not_nullable")
    ]
    problems = []
    duplicates = failure_cases["check"] == "multiple_fields_uniqueness"
    key = list(schema.unique or [])
    # without one of its columns the key is not checked (pandera would check what is left)
    if duplicates.any() and set(key) <= set(frame.columns):
        problems.append(_duplicate_keys(frame, key, failure_cases.loc[duplicates, "index"]))
    # dropna=False: pandera leaves `column` empty for a missing column (its name is the case)
    for (column, check), cases in failure_cases[~duplicates].groupby(
        ["column", "check"], sort=False, dropna=False
    ):
        if check == "column_in_dataframe":
            problems += [
                Problem(str(name), "column is missing", None, ()) for name in cases["failure_case"]
            ]
            continue
        if check == "not_nullable":
            # rows whose value we could not parse were reported as such already
            cases = cases[~cases["index"].isin(unparsed.get(column, set()))]
            if cases.empty:
                continue
        indexed = cases["index"].dropna()
        count = int(indexed.nunique()) if len(indexed) else None
        examples = tuple(str(value) for value in cases["failure_case"].unique()[:EXAMPLES_SHOWN])
        problems.append(Problem(str(column), _readable(check), count, examples))
    return problems


def _duplicate_keys(frame: pd.DataFrame, key: list[str], indexes: pd.Series) -> Problem:
    rows = frame.loc[sorted(set(indexes.dropna())), key]
    examples = rows.drop_duplicates().head(EXAMPLES_SHOWN).astype(str).agg(" / ".join, axis=1)
    return Problem(", ".join(key), "duplicate key", len(rows), tuple(examples))


READABLE_CHECKS = {
    "not_nullable": "missing value",
    "greater_than": "must be > {}",
    "greater_than_or_equal_to": "must be >= {}",
    "less_than": "must be < {}",
    "less_than_or_equal_to": "must be <= {}",
    "isin": "must be one of {}",
}


def _readable(check: str) -> str:
    """`greater_than(0)` becomes `must be > 0`; unknown checks are shown as pandera names them."""
    name, _, argument = check.partition("(")
    template = READABLE_CHECKS.get(name)
    if template is None:
        return check
    argument = argument.removesuffix(")").strip("()[]").replace("'", "")
    return template.format(argument)
