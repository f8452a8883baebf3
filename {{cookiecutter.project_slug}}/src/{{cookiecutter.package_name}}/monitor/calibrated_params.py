"""Writes a calibration into params.yaml: its `drift` section and the gate's tolerance replaced,
every other line kept.

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
from .gate_tolerance import Tolerance, calibrate_tolerance

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
    tolerance: Tolerance | None = None  # the gate's, when it was (re)calibrated

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
                    "evidence": self._evidence_of(change.key),
                }
                for change in self.changes
            ],
            "not_calibrated": self.calibration.skipped,
        }

    def _evidence_of(self, key: str) -> dict:
        if key == "gate.max_regression" and self.tolerance is not None:
            return self.tolerance.evidence()
        return self.calibration.evidence_of(key).as_dict()

    def summary(self) -> str:
        """What adopt prints: the drift calibration's line and the gate tolerance's."""
        lines = [self.calibration.summary()]
        if self.tolerance is not None:
            lines.append(self.tolerance.summary())
        return "\n".join(lines)


def calibration_markdown(record: dict) -> str:
    """A short section for the retraining pull request's body, from `as_record`'s dict."""
    if "changed" not in record:
        return f"**Drift thresholds**: {record.get('kept', 'not recalibrated')}.\n"
    window = record["window"]
    lines = [f"**Thresholds recalibrated** on ordinary windows ({window}) of the snapshot:"]
    if not record["changed"]:
        lines += ["", "No threshold changed."]
    else:
        lines += ["", "| key | old | new | evidence |", "| --- | ---: | ---: | --- |"]
        for change in record["changed"]:
            old = "default" if change["old"] is None else f"{change['old']:.3g}"
            evidence = _evidence_text(change["evidence"])
            lines.append(f"| `{change['key']}` | {old} | {change['new']:.3g} | {evidence} |")
    if record["not_calibrated"]:
        kept = "; ".join(f"{key}: {why}" for key, why in record["not_calibrated"].items())
        lines += ["", f"Kept as they were: {kept}."]
    return "\n".join(lines) + "\n"


def _evidence_text(seen: dict) -> str:
    if "refits" in seen:  # the gate's tolerance: refits that differ in nothing material
        spread, largest = f"{seen['spread']:.3g}", f"{seen['max']:.3g}"
        return f"{seen['refits']} refits differ by {spread} (standard deviation; max {largest})"
    largest, high = f"{seen['max']:.3g}", f"{seen['q90']:.3g}"
    return f"ordinary windows: max {largest}, 90th percentile {high} ({seen['windows']})"


def recalibrate(
    params: Params, params_text: str, records: pd.DataFrame, everything: bool
) -> Recalibration:
    """params.yaml's text with the drift section calibrated on `records`: every tested column,
    the decay tolerance and the gate's tolerance when `everything` (adopt), else what carries
    evidence (retrain)."""
    if everything:
        calibration = calibrate(params, records)
    else:
        columns, decay = recalibrated(params)
        calibration = calibrate(params, records, columns=columns, decay=decay)
    section = calibration.drift_section(params)
    text = replace_section(params_text, "drift", section)
    changes = _changes(params, calibration)
    tolerance = None
    if everything or params.gate.regression_evidence is not None:
        tolerance = calibrate_tolerance(params, records)
        text = replace_section(text, "gate", _gate_section(text, tolerance))
        if tolerance.max_regression != params.gate.max_regression:
            old = params.gate.max_regression
            changes.append(Change("gate.max_regression", old, tolerance.max_regression))
    return Recalibration(text, calibration, changes, tolerance)


def _gate_section(params_text: str, tolerance: Tolerance) -> dict:
    """params.yaml's `gate` section as written, with the calibrated tolerance and its evidence."""
    section = dict(yaml.safe_load(params_text)["gate"])
    section["max_regression"] = tolerance.max_regression
    section["regression_evidence"] = tolerance.evidence()
    return section


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
    return recalibration.summary()


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
