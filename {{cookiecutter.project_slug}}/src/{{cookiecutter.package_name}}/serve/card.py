"""The model card: the markdown released with a model (use, data, quality, approval, rollback)."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import ProjectError
from ..model.artifacts import BASELINE_FILE, METRICS_FILE, SLICES_FILE, load_model
from ..model.metrics import HIGHER_IS_BETTER

PROJECT_SLUG = "{{ cookiecutter.project_slug }}"


def model_card(model_dir: str | Path, pr: int | None = None, repo: str | None = None) -> str:
    """The card's markdown for the trained model in `model_dir`."""
    model_dir = Path(model_dir)
    model = load_model(model_dir)
    metrics = _read(model_dir / METRICS_FILE)
    slices = _read(model_dir / SLICES_FILE)
    run = model.run
    sections = [
        f"# Model card: {PROJECT_SLUG}",
        _intended_use(run),
        _data(run["data"]),
        _metrics(metrics, slices, run["data"]["holdout_rows"], _baseline(model_dir)),
        _approval(run.get("git", {}), pr, repo),
        _rollback(),
    ]
    return "\n\n".join(sections) + "\n"


def _read(path: Path) -> object:
    if not path.is_file():
        raise ProjectError(f"{path} not found: is {path.parent} a trained model directory?")
    return json.loads(path.read_text(encoding="utf-8"))


def _intended_use(run: dict) -> str:
    params = run["params"]
    features = [*params["features"]["categorical"], *params["features"]["numeric"]]
    features += params["features"].get("datetime", [])
    hyperparameters = params["model"]["hyperparameters"]
    if params["task"] == "classification":
        classes = ", ".join(f"`{label}`" for label in run.get("classes", []))
        purpose = f"predicts `{params['target']}` (one of {classes}) with each class's probability"
    else:
        purpose = f"predicts the value of `{params['target']}`"
    return "\n".join(
        [
            "## Intended use",
            "",
            f"This model {purpose}. It answers for rows that meet the input columns' types, "
            "allowed values and ranges of the data contract (`schema.yaml`, recorded with the "
            "model) and refuses any other row. It is not meant for data far from what it was "
            "trained on: the drift check watches for that.",
            "",
            f"- model: `{params['model']['name']}` ({params['task']}), target `{params['target']}`",
            f"- inputs: {', '.join(f'`{name}`' for name in features)}",
            f"- hyper-parameters: `{json.dumps(hyperparameters, sort_keys=True)}`",
            f"- seed: {run['seed']}",
        ]
    )


def _data(data: dict) -> str:
    return "\n".join(
        [
            "## Training data",
            "",
            "| | |",
            "| --- | --- |",
            f"| file | `{data['path']}` |",
            f"| sha256 | `{data['sha256']}` |",
            _rows_line("training", data, "train"),
            _rows_line("holdout", data, "holdout"),
            f"| holdout chosen as | {data.get('split', 'the newest rows')} |",
        ]
    )


def _rows_line(label: str, data: dict, prefix: str) -> str:
    rows = f"{data[f'{prefix}_rows']} rows"
    if f"{prefix}_from" not in data:
        return f"| {label} rows | {rows} |"
    return f"| {label} period | {data[f'{prefix}_from']} to {data[f'{prefix}_to']} ({rows}) |"


def _baseline(model_dir: Path) -> dict | None:
    """baseline.json, or None for a model trained before baselines were recorded."""
    path = model_dir / BASELINE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _metrics(metrics: dict, slices: list[dict], rows: int, baseline: dict | None) -> str:
    names = list(metrics)
    headers = [f"{name} ({_better(name)} is better)" for name in names]
    overall = " | ".join(_cell(metrics[name]) for name in names)
    lines = [
        "## Quality on the holdout",
        "",
        f"| slice | rows | {' | '.join(headers)} |",
        "| --- | ---: |" + " ---: |" * len(names),
        f"| **overall** | {rows} | {overall} |",
    ]
    if baseline is not None:
        trivial = " | ".join(_cell(baseline["metrics"].get(name)) for name in names)
        skill = " | ".join(_percent(baseline["skill"].get(name)) for name in names)
        lines += [f"| baseline | {rows} | {trivial} |", f"| skill over the baseline | | {skill} |"]
    for row in slices:
        values = " | ".join(_cell(row.get(name)) for name in names)
        lines.append(f"| {row['slice']} = {row['value']} | {row['rows']} | {values} |")
    if baseline is not None:
        lines += [
            "",
            f"The baseline is {baseline['baseline']}, the same for every row; skill is the share "
            "of its shortfall from a perfect score that the model removes (0 or less: the model "
            "is no better than the baseline).",
        ]
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"


def _better(name: str) -> str:
    return "higher" if HIGHER_IS_BETTER.get(name, True) else "lower"


def _cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _approval(git: dict, pr: int | None, repo: str | None) -> str:
    commit = git.get("commit") or "unknown (trained outside git)"
    if pr is None:
        approved = "no pull request recorded"
    elif repo:
        approved = f"[#{pr}](https://github.com/{repo}/pull/{pr})"
    else:
        approved = f"#{pr}"
    dirty = " (with uncommitted changes)" if git.get("dirty") else ""
    return "\n".join(
        [
            "## Approval",
            "",
            f"- approved in pull request: {approved}",
            f"- trained from commit: `{commit}`{dirty}",
        ]
    )


def _rollback() -> str:
    return "\n".join(
        [
            "## How to roll back",
            "",
            "Every model on `main` is rebuilt from its commit, so rolling back is a git revert:",
            "",
            "```bash",
            "git revert -m 1 <merge commit of the pull request above>",
            "git push origin main   # or open the revert as a pull request",
            "```",
            "",
            "The release workflow then trains the previous data and params again and ships that "
            "model as a new release; nothing needs to be restored by hand.",
        ]
    )
