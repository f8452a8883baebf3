"""Scoring a trained model on a data set: overall metrics and per-slice metrics."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .artifacts import load_model
from .contract import Contract
from .dataset import load_records
from .metrics import score, score_slices


@dataclass(frozen=True)
class Evaluation:
    rows: int
    overall: dict[str, float]
    slices: list[dict]


def evaluate(model_dir: str | Path, data: str | Path) -> Evaluation:
    """Score every row of `data` (validated first) with the model in `model_dir`."""
    model = load_model(model_dir)
    contract = Contract.of_model(model)
    records = load_records(data, contract)
    predicted = model.predict(records)
    truth = model.truth_of(records)
    return Evaluation(
        rows=len(records),
        overall=score(model.task, truth, predicted),
        slices=score_slices(model.task, records, truth, predicted, contract.params.slices),
    )


def format_table(evaluation: Evaluation) -> str:
    """A plain-text table for the terminal: overall first, then one line per slice."""
    names = list(evaluation.overall)
    # each column as wide as its name and a two-space gap: names never run together
    widths = {name: max(11, len(name) + 2) for name in names}
    header = f"{'slice':<24}{'rows':>8}" + "".join(name.rjust(widths[name]) for name in names)
    lines = [header, "-" * len(header)]
    rows = [{"slice": "overall", "value": "", "rows": evaluation.rows, **evaluation.overall}]
    for row in rows + evaluation.slices:
        label = row["slice"] if not row["value"] else f"{row['slice']}={row['value']}"
        values = "".join(f"{row[name]:.4f}".rjust(widths[name]) for name in names)
        lines.append(f"{label:<24}{row['rows']:>8}{values}")
    return "\n".join(lines)
