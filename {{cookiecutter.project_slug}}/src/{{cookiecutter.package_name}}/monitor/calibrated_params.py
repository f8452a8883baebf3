"""Writes a calibration into params.yaml: its `drift` section replaced, every other line kept.

`adopt` calibrates every threshold; `retrain` recalibrates those that carry evidence (a
threshold without it was set by a person) on the new training snapshot. Both say what changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from ..errors import ProjectError
from ..model.params import Params
from .calibration import Calibration, calibrate, recalibrated

TOP_LEVEL_KEY = re.compile(r"^[A-Za-z_][\w-]*\s*:")
SECTION_NOTE = (
    "# thresholds with `evidence` were calibrated on ordinary windows of the training data\n"
    "# (each window's score against the rest: windows scored, max, 90th percentile) and are\n"
    "# recalibrated by `retrain`; delete a threshold's evidence to pin it by hand\n"
)


@dataclass(frozen=True)
class Change:
    """One number the calibration changed: its params.yaml key, old and new value."""

    key: str
    old: float | None
    new: float

    def __str__(self) -> str:
        old = "default" if self.old is None else f"{self.old:.3g}"
        return f"{self.key}: {old} -> {self.new:.3g}"


@dataclass(frozen=True)
class Recalibration:
    """The new params.yaml text, the calibration behind it, and the changed numbers."""

    text: str
    calibration: Calibration
    changes: list[Change]

    def as_record(self) -> dict:
        """For retrain.json and the pull request body: what changed, on what evidence, and
        what was left alone."""
        return {
            "window": self.calibration.window,
            "changed": [
                {
                    "key": change.key,
                    "old": change.old,
                    "new": change.new,
                    "evidence": self.calibration.evidence_of(change.key).as_dict(),
                }
                for change in self.changes
            ],
            "not_calibrated": self.calibration.skipped,
        }


def calibration_markdown(record: dict) -> str:
    """A short section for the retraining pull request's body, from `as_record`'s dict."""
    if "changed" not in record:
        return f"**Drift thresholds**: {record.get('kept', 'not recalibrated')}.\n"
    window = record["window"]
    lines = [f"**Drift thresholds recalibrated** on ordinary windows ({window}) of the snapshot:"]
    if not record["changed"]:
        lines += ["", "No threshold changed."]
    else:
        lines += ["", "| key | old | new | ordinary windows: max, 90th percentile (windows) |"]
        lines += ["| --- | ---: | ---: | --- |"]
        for change in record["changed"]:
            old = "default" if change["old"] is None else f"{change['old']:.3g}"
            seen = change["evidence"]
            evidence = f"{seen['max']:.3g}, {seen['q90']:.3g} ({seen['windows']})"
            lines.append(f"| `{change['key']}` | {old} | {change['new']:.3g} | {evidence} |")
    if record["not_calibrated"]:
        kept = "; ".join(f"{key}: {why}" for key, why in record["not_calibrated"].items())
        lines += ["", f"Kept as they were: {kept}."]
    return "\n".join(lines) + "\n"


def recalibrate(
    params: Params, params_text: str, records: pd.DataFrame, everything: bool
) -> Recalibration:
    """params.yaml's text with the drift section calibrated on `records`: every tested column
    and the decay tolerance when `everything` (adopt), else what carries evidence (retrain)."""
    if everything:
        calibration = calibrate(params, records)
    else:
        columns, decay = recalibrated(params)
        calibration = calibrate(params, records, columns=columns, decay=decay)
    section = calibration.drift_section(params)
    text = replace_section(params_text, "drift", section)
    return Recalibration(text, calibration, _changes(params, calibration))


def calibrate_adopted(params_file: Path) -> str:
    """Calibrate every threshold of a freshly adopted project in place; its one-line summary."""
    from ..data.contract import Contract
    from ..data.dataset import load_records
    from ..model.params import load_params

    params = load_params(params_file)
    records = load_records(params.train_path, Contract.load(params))
    text = params_file.read_text(encoding="utf-8")
    recalibration = recalibrate(params, text, records, everything=True)
    staged_params(params_file, recalibration.text).replace(params_file)
    return recalibration.calibration.summary()


def staged_params(path: Path, text: str) -> Path:
    """`text` written beside `path` (to rename over it when all else is ready), validated as
    params; ProjectError, and nothing left behind, when it is not valid."""
    from ..model.params import load_params

    staged = path.with_name(f".next.{path.name}")
    staged.write_text(text, encoding="utf-8")
    try:
        load_params(staged)
    except ProjectError:
        staged.unlink()
        raise
    return staged


def replace_section(text: str, key: str, value: dict) -> str:
    """`text` (a params.yaml) with top-level `key`'s block replaced by `value` in YAML. The
    comments above the next section stay with it; the rest of the file is unchanged."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith(f"{key}:")]
    if not starts:
        raise ProjectError(f"params.yaml has no top-level `{key}:` section to calibrate")
    start = starts[0]
    end = next(
        (i for i in range(start + 1, len(lines)) if TOP_LEVEL_KEY.match(lines[i])), len(lines)
    )
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1  # a comment just above the next key is that key's
    # flow style for the innermost mappings only (`evidence: {windows: 36, ...}`), never for the
    # section or its keys, as adopt writes params.yaml
    entries = [
        yaml.dump(
            {name: item},
            Dumper=_PlainDumper,
            sort_keys=False,
            default_flow_style=None if isinstance(item, dict | list) else False,
            width=98,
        )
        for name, item in value.items()
    ]
    block = f"{key}:\n" + "".join(
        "".join(f"  {line}\n" for line in entry.splitlines()) for entry in entries
    )
    note = SECTION_NOTE if key == "drift" and SECTION_NOTE not in text else ""
    return "".join([*lines[:start], note, block, *lines[end:]])


class _PlainDumper(yaml.SafeDumper):
    """No anchors and aliases (&id001): people misread them."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _changes(params: Params, calibration: Calibration) -> list[Change]:
    changes = []
    for name, (_, threshold, _) in calibration.thresholds.items():
        test = params.drift.columns.get(name)
        old = test.threshold if test is not None else None
        if old != threshold:
            changes.append(Change(f"drift.columns.{name}.threshold", old, threshold))
    if calibration.decay_tolerance is not None:
        tolerance = calibration.decay_tolerance[0]
        if tolerance != params.drift.decay_tolerance:
            changes.append(Change("drift.decay_tolerance", params.drift.decay_tolerance, tolerance))
    return changes
