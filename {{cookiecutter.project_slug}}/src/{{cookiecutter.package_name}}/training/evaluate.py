"""Scoring a trained model on a data set: overall metrics and per-slice metrics."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..data.contract import Contract
from ..data.dataset import load_records
from ..model.artifacts import load_model
from ..model.metrics import score, score_slices


@dataclass(frozen=True)
class Evaluation:
    rows: int
    overall: dict[str, float]
    slices: list[dict]
    # the model's trivial baseline on the same rows (None: a model trained before baselines)
    baseline: dict[str, float] | None = None
    baseline_description: str = ""


def evaluate(model_dir: str | Path, data: str | Path) -> Evaluation:
    """Score every row of `data` (validated first) with the model in `model_dir`."""
    model = load_model(model_dir)
    contract = Contract.of_model(model)
    records = load_records(data, contract)
    predicted = model.predict(records)
    truth = model.truth_of(records)
    baseline = model.baseline
    return Evaluation(
        rows=len(records),
        overall=score(model.task, truth, predicted),
        slices=score_slices(model.task, records, truth, predicted, contract.params.slices),
        baseline=None
        if baseline is None
        else score(model.task, truth, baseline.predict(len(truth))),
        baseline_description="" if baseline is None else baseline.description,
    )


def format_table(evaluation: Evaluation) -> str:
    """A plain-text table for the terminal: overall, the baseline, then one line per slice."""
    names = list(evaluation.overall)
    # each column as wide as its name and a two-space gap: names never run together
    widths = {name: max(11, len(name) + 2) for name in names}
    header = f"{'slice':<24}{'rows':>8}" + "".join(name.rjust(widths[name]) for name in names)
    lines = [header, "-" * len(header)]
    rows = [{"slice": "overall", "value": "", "rows": evaluation.rows, **evaluation.overall}]
    if evaluation.baseline is not None:
        rows.append(
            {"slice": "baseline", "value": "", "rows": evaluation.rows, **evaluation.baseline}
        )
    for row in rows + evaluation.slices:
        label = row["slice"] if not row["value"] else f"{row['slice']}={row['value']}"
        values = "".join(f"{row[name]:.4f}".rjust(widths[name]) for name in names)
        lines.append(f"{label:<24}{row['rows']:>8}{values}")
    if evaluation.baseline is not None:
        lines += ["", f"baseline: {evaluation.baseline_description}, the same for every row"]
    return "\n".join(lines)
