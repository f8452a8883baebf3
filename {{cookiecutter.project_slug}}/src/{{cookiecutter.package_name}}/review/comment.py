"""The PR comment rendered from `report.json` alone: what comment.yml runs, from the default branch.

A pull request's own run (a fork's, too) writes the report; this module treats it as untrusted
data. It refuses a file over MAX_REPORT_BYTES, rebuilds the comparison from typed fields, makes
every string plain text (no HTML, links, mentions or table breaks), shows the validation report
as a code block, and keeps the comment under GitHub's size limit with a link to the full run.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ProjectError
from ..markdown_text import plain, unescape
from ..model.metrics import HIGHER_IS_BETTER
from ..model.params import GateParams
from .compare import BaselineCheck, Champion, Comparison, Delta, Holdout
from .report import MARKER, NO_CHAMPION, Context, render

MAX_REPORT_BYTES = 1_000_000
GITHUB_COMMENT_LIMIT = 65_536  # characters; GitHub refuses a longer comment body
SAFETY_MARGIN = 1_000  # room for characters GitHub may count twice
FAILED_STEPS = ("data validation", "training", "champion", "compare")


@dataclass(frozen=True)
class _Run:
    """Stands in for the champion's TrainedModel: report.py reads only its run record."""

    run: dict


def load_report(path: str | Path) -> dict:
    """The report as a dict; ProjectError if missing, over MAX_REPORT_BYTES or not JSON."""
    path = Path(path)
    if not path.is_file():
        raise ProjectError(f"no model report at {path}")
    size = path.stat().st_size
    if size > MAX_REPORT_BYTES:
        limit = f"{MAX_REPORT_BYTES:,}"
        raise ProjectError(f"{path} is {size:,} bytes; a model report is at most {limit}")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProjectError(f"{path} is not a JSON model report: {error}") from error
    if not isinstance(report, dict):
        raise ProjectError(f"{path} is not a JSON model report (not an object)")
    return report


def render_comment(report: dict, run_url: str | None = None) -> str:
    """The comment body: MARKER first, at most GITHUB_COMMENT_LIMIT - SAFETY_MARGIN characters."""
    validation = _validation(report.get("validation"))  # shown as a code block, not rendered
    trace = _code(report.get("champion"))
    schemas = _schemas(report)  # parsed as YAML; only column names are shown, as inline code
    report = _plain(report)
    for side, schema in schemas.items():
        report["runs"][side]["schema"] = schema
    try:
        if report.get("status") == "incomplete":
            text = _incomplete(report, validation, run_url)
        else:
            text = render(*_comparison(report, validation, trace))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ProjectError(f"the model report is malformed: {error!r}") from error
    return truncate(text, GITHUB_COMMENT_LIMIT - SAFETY_MARGIN, run_url)


def truncate(text: str, limit: int, run_url: str | None) -> str:
    """`text` cut at a line boundary to fit `limit`, open code fences closed, with a link."""
    if len(text) <= limit:
        return text
    where = f"the full report is in the run: {run_url}" if run_url else "see the run's artifacts"
    notice = f"\n\n**Truncated** to fit GitHub's comment limit: {where}\n"
    kept = text[: limit - len(notice) - 10].rpartition("\n")[0]
    if len(re.findall(r"^```", kept, re.MULTILINE)) % 2:
        kept += "\n```"
    return kept + notice


def _incomplete(report: dict, validation: str | None, run_url: str | None) -> str:
    """The pr run stopped before `compare` wrote a report: say which step failed."""
    failed = report.get("failed")
    failed = failed if failed in FAILED_STEPS else "a step"
    link = f" See [the run's log]({run_url})." if run_url else ""
    if failed == "data validation":
        title = "## ❌ Data validation failed: no model was trained"
    else:
        title = f"## ❌ No model report: {failed} failed"
    body = f"The pr workflow stopped before it could compare the models.{link}"
    return "\n\n".join(part for part in (MARKER, title, body, validation) if part) + "\n"


def _comparison(report: dict, validation: str | None, trace: str) -> tuple[Comparison, Context]:
    runs, champion = report["runs"], report["champion"]
    # report.py shows a failed base's training log in a code block, other reasons inline
    reason = trace if champion["status"] == "failed" else str(champion.get("reason") or "")
    if champion["status"] not in {"trained", *NO_CHAMPION}:
        raise ValueError(f"unknown champion status {champion['status']!r}")
    comparison = Comparison(
        gate=GateParams.model_validate(
            {**report["gate"], "primary_metric": _metric(report["gate"]["primary_metric"])}
        ),
        champion=Champion(
            status=champion["status"],
            reason=reason,
            model=_Run(runs["main"]) if runs.get("main") else None,
            commit=champion.get("commit"),
        ),
        challenger_run=runs["this_pr"],
        holdout=Holdout(**{key: report["holdout"][key] for key in Holdout.__dataclass_fields__}),
        metrics=_in_metric_order(report["this_pr"]["metrics"]),
        slice_metrics=report["this_pr"]["slices"],
        deltas=[_delta(item) for item in report["metrics"]],
        slice_deltas=[_delta(item) for item in report["slices"]],
        failures=[str(failure) for failure in report["failures"]],
        seed=int(report["bootstrap"]["seed"]),
        resamples=int(report["bootstrap"]["resamples"]),
        resampled=str(report["bootstrap"].get("resampled") or "rows"),
        looks=[str(look) for look in report.get("needs_a_look") or []],
        baseline=_baseline(report.get("baseline")),
        identical=report.get("identical") is True,
        **_repeated(report.get("repeated_splits")),
    )
    lock = report.get("lock") or {}
    context = Context(
        validation=validation,
        lock_name=str(lock.get("file") or "uv.lock"),
        lock_sha256=lock.get("sha256"),
    )
    return comparison, context


def _repeated(item: object) -> dict:
    """The gate's evidence over repeated splits (absent in reports without it)."""
    if item is None:
        return {}
    return {"repeated": _delta(item["delta"]), "repeated_how": str(item["how"])}


def _in_metric_order(metrics: dict) -> dict[str, float]:
    """report.json sorts its keys; the comment lists metrics in metrics.py's order."""
    order = list(HIGHER_IS_BETTER)
    return {name: _number(metrics[name]) for name in sorted(metrics, key=order.index)}


def _delta(item: dict) -> Delta:
    numbers = {key: _number(item[key]) for key in ("main", "pr", "low", "high")}
    reference = item.get("reference")
    gate = {
        key: None if item.get(key) is None else _number(item[key])
        for key in ("gate_low", "gate_high")
    }
    if item.get("gate_confidence") is not None:
        gate["gate_confidence"] = _number(item["gate_confidence"])
    if item.get("sure_worse") is not None:
        gate["sure_worse"] = _number(item["sure_worse"])
    return Delta(
        metric=_metric(item["metric"]),
        label=str(item.get("label", "overall")),
        rows=int(item.get("rows", 0)),
        reference=None if reference is None else _number(reference),
        verdict=str(item.get("verdict") or ""),
        splits=int(item.get("splits") or 0),
        **numbers,
        **gate,
    )


def _baseline(item: object) -> BaselineCheck | None:
    """The baseline check as compare wrote it (None in reports from before baselines)."""
    if item is None:
        return None
    return BaselineCheck(
        description=str(item["description"]),
        metrics=_in_metric_order(item["metrics"]),
        delta=_delta(item["delta"]),
        required=item["required"] is True,
    )


def _metric(value: object) -> str:
    """A metric's name, escaped as plain text like every string: looked up, so it must be one
    of metrics.py's names (log_loss reads as log\\_loss once escaped)."""
    name = unescape(str(value))
    if name not in HIGHER_IS_BETTER:
        raise ValueError(f"unknown metric {name!r}")
    return name


def _number(value: object) -> float:
    if value is None:
        return math.nan  # report.json writes NaN as null
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


def _validation(text: object) -> str | None:
    """The validation report as a code block: shown as written, never rendered as markdown."""
    if not text:
        return None
    text = str(text)
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return f"Data validation, as the run reported it:\n\n{fence}text\n{text.strip()}\n{fence}"


def _code(champion: object) -> str:
    """A failed base's training log, for a code block: no backtick can close the block."""
    reason = champion.get("reason") if isinstance(champion, dict) else None
    return str(reason or "").replace("`", "'")


def _schemas(report: dict) -> dict[str, str]:
    runs = report.get("runs") if isinstance(report.get("runs"), dict) else {}
    return {
        side: run["schema"]
        for side, run in runs.items()
        if isinstance(run, dict) and isinstance(run.get("schema"), str)
    }


def _plain(value: object) -> object:
    """Every string in the report as plain text (markdown_text.plain): one line, escaped."""
    if isinstance(value, str):
        return plain(value)
    if isinstance(value, dict):
        # keys are looked up, not shown raw: metric names are checked, the rest is inline code
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
