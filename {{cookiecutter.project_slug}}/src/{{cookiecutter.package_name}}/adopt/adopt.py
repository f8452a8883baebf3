"""`adopt`: makes a user's table the project's data (schema, params, training data), atomically."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from ..data.tables import read_table, table_format, write_table_atomically
from ..errors import ProjectError
from ..model.params import read_mapping
from . import doubts, readme, smoke
from .infer import Inference, infer_contract

PARAMS_FILE = "params.yaml"
SCHEMA_FILE = "schema.yaml"
SCHEMA_HEADER = """\
# The data contract: each column's type, whether it may be empty, and its checks, in Pandera's
# YAML format (pandera.pandas.DataFrameSchema.from_yaml). Every stage validates data against it.
# Inferred by `adopt` from {source}; edit freely: a change shows as a diff in the pull request.
"""
PARAMS_HEADER = """\
# Everything a reviewer may change about the model lives here; a PR that edits this file shows
# its effect in the bot's comment. Validated on load: an unknown key or a bad value is an error.
# The data sections were inferred by `adopt` from {source}; edit freely.
"""
# One comment above each section of the params.yaml that adopt writes: why the section exists.
SECTION_COMMENTS = {
    "task": "regression, or classification (binary or multiclass, from the target's classes)",
    "data": "paths relative to this file; incoming: recent production data (folder, file or URL)",
    "description": "what the model is for, in one line: --help, the OpenAPI document, the README",
    "features": "categorical: see schema.yaml for allowed values; datetime: year, month, weekday",
    "key": "identifies a row: duplicates are invalid; retrain keeps the newest",
    "slices": "metrics are also reported for each value of these columns",
    "model": "target_transform: none | log1p (fit on log(1 + target), predict back); "
    "early_stopping: stop adding trees when 10% of the training rows, set aside, stop improving",
    "split": "time_column set: the newest rows are held out; else a seeded random split",
    "gate": "compare: the PR's model may be at most max_regression (relative) worse than main's; "
    "calibrated on refits of the model (regression_evidence), must beat the baseline",
    "drift": "drift reported when `share` of the features drift, or decay_metric decays",
    "retrain": "the next data.train: the newest window_days of it and the recent labelled data",
    "serving": "log_dir: where the service logs its answers; logs, outcomes: what collect reads",
}
# Sections adopt writes itself (description) or infers; every other section of params.yaml is kept.
KNOWN_HERE = {"description"}


@dataclass(frozen=True)
class AdoptResult:
    """What adopt did: its decisions in order, the files it wrote, and what `check` returned."""

    decisions: list[str]
    written: list[Path]
    checked: object = None


def adopt(
    source: Path,
    project: Path,
    *,
    target: str,
    task: str | None = None,
    time_column: str | None = None,
    key: Sequence[str] = (),
    slices: Sequence[str] | None = None,
    group_by: Sequence[str] = (),
    description: str | None = None,
    drop_missing_target: bool = False,
    check: Callable[[Path], object],
) -> AdoptResult:
    """Make `source` (CSV or Parquet) the data of `project`, then call `check(project)`.

    Writes schema.yaml, params.yaml and data/train.<csv|parquet> in `project`, and makes the
    rest of the repository describe the new data: the README's generated sections, the
    description in pyproject.toml and the release's smoke request (.github/smoke/predict.json).
    All or nothing: when inference, a write or `check` raises, every one of those files is back
    to its previous bytes (or absent, if it was), and the exception propagates unchanged.
    """
    source, project = Path(source), Path(project)
    frame = read_table(source)
    doubts.check_header(source)
    frame, repaired = doubts.parse_grouped_numbers(frame)
    frame, dropped = _without_missing_target(frame, target, drop_missing_target)
    inference = infer_contract(frame, target, task, time_column, key, slices, group_by)
    params_path = project / PARAMS_FILE
    existing = _read_params(params_path)
    data_file = f"data/train.{table_format(source)}"
    decisions = [*repaired, *dropped, *inference.decisions]
    decisions += _notes(existing, inference, project, data_file)
    params = _merged_params(existing, inference, data_file)
    params = {"description": description or _describe(inference, source)} | params
    texts = {
        project / SCHEMA_FILE: SCHEMA_HEADER.format(source=source.name) + inference.schema_yaml,
        params_path: _render_params(params, source.name),
    }
    texts |= _repository_texts(project, params, inference, frame, data_file, source, decisions)
    written = [*texts, project / data_file]
    with _restored_on_failure(written):
        for path, text in texts.items():
            _write_text_atomically(path, text)
        write_table_atomically(frame, project / data_file)
        checked = check(project)
    return AdoptResult(decisions=decisions, written=written, checked=checked)


def _without_missing_target(
    frame: pd.DataFrame, target: str, drop: bool
) -> tuple[pd.DataFrame, list[str]]:
    """With --drop-missing-target, the rows whose target is empty are left out, and counted."""
    if not drop or target not in frame.columns:
        return frame, []
    missing = frame[target].isna()
    if not missing.any():
        return frame, [f"No row lacks {target!r}: --drop-missing-target dropped nothing."]
    kept = frame.loc[~missing].reset_index(drop=True)
    return kept, [
        f"Dropped {int(missing.sum())} of {len(frame)} rows without {target!r} "
        f"(--drop-missing-target): {len(kept)} rows are adopted."
    ]


def _describe(inference: Inference, source: Path) -> str:
    """The project's line when the user gives none: what is predicted, from what."""
    params = inference.params
    used = sum(len(names) for names in params["features"].values())
    return (
        f"Predicts {params['target']} ({params['task']}) from {used} columns of {source.name}; "
        "every model change is a reviewed pull request."
    )


def _repository_texts(
    project: Path,
    params: dict,
    inference: Inference,
    frame: pd.DataFrame,
    data_file: str,
    source: Path,
    decisions: list[str],
) -> dict[Path, str]:
    """The README, pyproject.toml and smoke request of `project`, rewritten for the new data."""
    features = [name for names in params["features"].values() for name in names]
    rows = smoke.request_rows(frame, inference.schema, features, params["target"], params["task"])
    texts = {}
    if rows and (project / ".github").is_dir():
        texts[project / smoke.SMOKE_FILE] = smoke.smoke_json(rows)
    readme_path = project / "README.md"
    if readme_path.is_file():
        sections = readme.sections(
            params, inference.schema, rows, data_file=data_file, source=source.name
        )
        text, missing = readme.rewrite(readme_path.read_text(encoding="utf-8"), sections)
        texts[readme_path] = text
        if missing:
            decisions.append(
                f"README.md has no generated section {', '.join(missing)} (marker comments "
                "removed?): those parts were not rewritten."
            )
    pyproject = project / "pyproject.toml"
    if pyproject.is_file():
        texts[pyproject] = _with_description(pyproject.read_text(encoding="utf-8"), params)
    return texts


def _with_description(pyproject: str, params: dict) -> str:
    """pyproject.toml with [project]'s description line replaced by the project's own."""
    line = "description = " + json.dumps(params["description"], ensure_ascii=False)
    return re.sub(r"(?m)^description = .*$", lambda _: line, pyproject, count=1)


def _read_params(path: Path) -> dict:
    if not path.is_file():
        raise ProjectError(f"{path} not found: adopt updates an existing project's params")
    return read_mapping(path)


def _merged_params(existing: dict, inference: Inference, data_file: str) -> dict:
    """The inferred sections, with the model, seed, incoming data and other sections kept."""
    inferred = inference.params
    old_model, old_data = existing.get("model") or {}, existing.get("data") or {}
    model = {key: old_model[key] for key in ("name",) if key in old_model}
    # hyper-parameters set for the other task may not even exist for this one's estimator
    if _fits_task(old_model, inferred["task"]):
        model["hyperparameters"] = old_model["hyperparameters"]
    if model.get("name") == "gradient_boosting":
        model["hyperparameters"] = _stopping_early(model.get("hyperparameters") or {})
    model |= inferred["model"]
    data = {"train": data_file, "schema": SCHEMA_FILE}
    if "incoming" in old_data:
        data["incoming"] = old_data["incoming"]
    merged = {"task": inferred["task"], "target": inferred["target"], "data": data}
    merged |= {section: inferred[section] for section in ("features", "key", "slices")}
    merged |= {"model": model, "split": inferred["split"]}
    if "seed" in existing:
        merged["seed"] = existing["seed"]
    merged |= {"gate": inferred["gate"], "drift": inferred["drift"]}
    if "retrain" in inferred:  # its window follows the data's time; other settings are kept
        merged["retrain"] = (existing.get("retrain") or {}) | inferred["retrain"]
    # sections about operations rather than the data (retrain, serving, ...) are kept as they were
    written = merged.keys() | KNOWN_HERE
    merged |= {key: value for key, value in existing.items() if key not in written}
    return merged


def _stopping_early(hyperparameters: dict) -> dict:
    """Gradient boosting's settings, stopping early unless they say otherwise.

    scikit-learn stops early only above 10,000 rows; below, 200 trees overfit small, noisy
    tables until the model loses to predicting the class frequencies (seattle_weather: log
    loss 1.84 against 1.09). Measured on the template's corpus of real data sets: docs/
    verdicts.md, "Model defaults against the baseline".
    """
    return {**hyperparameters, "early_stopping": hyperparameters.get("early_stopping", True)}


def _fits_task(model: dict, task: str) -> bool:
    """Whether `model`'s hyper-parameters are all accepted by its estimator for `task`."""
    from ..model.pipeline import ESTIMATORS

    estimator = ESTIMATORS.get((task, model.get("name")))
    names = set(model.get("hyperparameters") or {})
    return estimator is not None and names <= set(estimator().get_params())


def _notes(existing: dict, inference: Inference, project: Path, data_file: str) -> list[str]:
    """Decisions about the project rather than the data: what was kept, what is now unused."""
    notes = []
    old_task = existing.get("task")
    old_model = existing.get("model") or {}
    dropped = "hyperparameters" in old_model and not _fits_task(old_model, inference.params["task"])
    if old_task and dropped:
        notes.append(
            f"The task changed from {old_task}: model.hyperparameters were dropped (the "
            "estimator's defaults apply); tune them again."
        )
    if old_model.get("name") == "gradient_boosting" and "early_stopping" not in (
        old_model.get("hyperparameters") or {}
    ):
        notes.append(
            "Model: gradient boosting stops early (model.hyperparameters.early_stopping: true): "
            "it adds trees only while a tenth of the training rows, set aside, improve."
        )
    old_train = (existing.get("data") or {}).get("train")
    if old_train and Path(old_train) != Path(data_file) and (project / old_train).exists():
        notes.append(f"{old_train}, the previous training data, is no longer used.")
    incoming = (existing.get("data") or {}).get("incoming")
    if incoming:
        notes.append(f"Recent data is read from {incoming}: it needs the columns of {data_file}.")
    return notes


def _render_params(params: dict, source: str) -> str:
    parts = [PARAMS_HEADER.format(source=source)]
    for key, value in params.items():
        comment = SECTION_COMMENTS.get(key)
        # flow style for the innermost lists and mappings (`categorical: [a, b]`, as people write
        # it), but never for a whole section: `seed: 42`, not `{seed: 42}`
        flow = None if isinstance(value, dict | list) else False
        block = yaml.dump(
            {key: value}, Dumper=_PlainDumper, sort_keys=False, default_flow_style=flow, width=100
        )
        parts.append((f"# {comment}\n" if comment else "") + block)
    return "\n".join(parts)


class _PlainDumper(yaml.SafeDumper):
    """Writes a list twice rather than as an anchor and alias (&id001), which people misread."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _write_text_atomically(path: Path, text: str) -> None:
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


@contextmanager
def _restored_on_failure(paths: Sequence[Path]) -> Iterator[None]:
    """Put every path back as it was (same bytes, or absent) if the block raises anything.

    Each existing file is moved aside to a backup beside it (a rename: no copy, exact bytes)
    and moved back on failure; on success the backups are deleted. Folders the block creates
    for a new file are removed again if they end up empty.
    """
    backups = {path: path.with_name(f".{path.name}.adopt-backup") for path in paths}
    new_dirs = [d for path in paths for d in _missing_parents(path)]
    moved = []
    try:
        for path, backup in backups.items():
            if path.exists():
                os.replace(path, backup)
                moved.append(path)
        yield
    except BaseException:
        for path in paths:
            path.unlink(missing_ok=True)
        for path in moved:
            os.replace(backups[path], path)
        for directory in sorted(set(new_dirs), key=lambda d: len(d.parts), reverse=True):
            if directory.is_dir() and not any(directory.iterdir()):
                directory.rmdir()
        raise
    for path in moved:
        backups[path].unlink(missing_ok=True)


def _missing_parents(path: Path) -> list[Path]:
    return [parent for parent in path.parents if not parent.exists()]
