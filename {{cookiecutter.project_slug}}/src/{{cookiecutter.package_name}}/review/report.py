"""The PR comment: verdict, metrics with intervals, slices, chart, what changed, provenance."""

from __future__ import annotations

import json
import math

from ..markdown_text import unescape
from ..model.metrics import HIGHER_IS_BETTER
from .changes import Context, code, reproducibility, what_changed
from .compare import (
    FAIL,
    LOOK,
    NOT_GATED,
    PASS,
    Comparison,
    Delta,
    needs_more_evidence,
    percent,
    sure_against,
)

MARKER = "<!-- {{ cookiecutter.project_slug }}:model-report -->"
SLICES_SHOWN = 6
SLICE_HEADER = ("| slice | rows | this PR |", "| --- | ---: | ---: |")
NO_CHAMPION = {
    "absent": "main has no model yet",
    "failed": "main's model could not be trained",
    "incomparable": "main's model predicts something else",
}


def render(comparison: Comparison, context: Context) -> str:
    """The whole comment; its first line is the hidden marker the commenter finds it by."""
    sections = [
        MARKER,
        _headline(comparison),
        _gate(comparison),
        _overall(comparison),
        _slices(comparison),
        _chart(comparison),
        what_changed(comparison, context),
        reproducibility(comparison, context),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


MARKS = {"pass": "✅", "needs a look": "🔍", "fail": "❌"}


def _headline(c: Comparison) -> str:
    mark = MARKS[c.state]
    name = c.gate.primary_metric
    primary = c.primary
    check = c.baseline
    if check is not None and check.required and not check.beaten:
        return (
            f"## {mark} Does not beat the baseline: {name} {c.metrics[name]:.4f}, the "
            f"baseline's {check.delta.main:.4f}"
        )
    if primary is None:
        why = NO_CHAMPION[c.champion.status]
        return f"## {mark} No comparison, {why}: this PR's {name} is {c.metrics[name]:.4f}"
    if c.identical:
        return (
            f"## {mark} Identical: main's model and this PR's predict the same on all "
            f"{c.holdout.rows} held-out rows ({name} {primary.pr:.4f})"
        )
    look = ", needs a look" if c.state == LOOK else ""
    # the gate's verdict, at its own confidence, names the headline: the table beside says
    # how sure each direction is, so the two cannot disagree
    direction = primary.direction
    if primary.verdict == FAIL:
        direction = "worse than tolerated"
    elif primary.verdict == PASS and direction == "worse":
        direction = f"worse, within the {percent(c.gate.max_regression)} tolerated"
    over = f", the mean of {primary.splits} repeated splits" if primary.splits else ""
    return (
        f"## {mark} {direction.capitalize()}{look}: {name} {primary.main:.4f} → "
        f"{primary.pr:.4f} ({_relative(primary)}{over})"
    )


def _gate(c: Comparison) -> str:
    outcome = "**Gate passed.**" if c.passed else "**Gate failed:**"
    failures = "".join(f"\n- {failure}" for failure in c.failures)
    if c.champion.model is not None:
        if c.state == LOOK:
            outcome = "**Gate passed, but needs a look** (the check stays green):"
        looks = "".join(f"\n- 🔍 {look}" for look in c.looks)
        judge = "the t-test over the repeated splits" if c.repeated else "the bootstrap"
        rule = (
            f"It fails when {judge} is {percent(c.gate.confidence)} sure that "
            f"{c.gate.primary_metric} is worse than main's by more than "
            f"{percent(c.gate.max_regression)}, or a slice by more than "
            f"{percent(c.gate.max_slice_regression)} of main's overall value (surer for each "
            f"slice; slices under {c.gate.min_slice_rows} rows are shown, not gated). When only "
            "the estimate is past the tolerance, it needs a look."
        )
        return f"{outcome} {rule} {_baseline_rule(c)}{failures}{looks}"
    bounds = [f"{n} ≤ {b}" for n, b in c.gate.absolute_max.items()]
    bounds += [f"{n} ≥ {b}" for n, b in c.gate.absolute_min.items()]
    limits = f" It must also meet the bounds in params.yaml: {', '.join(bounds)}." if bounds else ""
    looks = "".join(f"\n- 🔍 {look}" for look in c.looks)
    text = f"{outcome} {_no_champion_story(c)} {_baseline_rule(c)}{limits}{failures}{looks}"
    if c.champion.status == "failed":
        text += f"\n\nThe last lines of the base's training:\n\n```text\n{c.champion.reason}\n```"
    return text


def _baseline_rule(c: Comparison) -> str:
    """What the gate asks of this PR's model against the trivial baseline, in one sentence."""
    check = c.baseline
    if check is None:
        return ""
    if not check.required:
        return (
            f"Beating the baseline ({check.description}) is not required here "
            "(gate.beat_baseline: false in params.yaml)."
        )
    return (
        f"This PR's model must beat the baseline ({check.description}) on {check.delta.metric}, "
        f"{_sure(check.delta.gate_confidence)} sure: it is "
        f"{sure_against(check.delta.sure_better, check.delta.gate_confidence)} sure."
    )


def _sure(share: float) -> str:
    return percent(share, 0 if round(share, 2) == share else 1)


def _no_champion_story(c: Comparison) -> str:
    base = f" ({code(c.champion.commit, 12)})" if c.champion.commit else ""
    if c.champion.status == "absent":
        return f"Main has no model yet: the base commit{base} does not contain this project."
    if c.champion.status == "failed":
        return f"Main's model could not be trained: the base commit{base} failed to train."
    return f"Main's model cannot be compared with this one: {c.champion.reason}."


def _overall(c: Comparison) -> str:
    span = f", {c.holdout.first} to {c.holdout.last}" if c.holdout.first else ""
    where = (
        f"{_predicts(c)} Scored on {c.holdout.rows} held-out rows of {code(c.holdout.path)} "
        f"({c.holdout.how}{span}). ↓ lower is better, ↑ higher is better."
    )
    check = c.baseline
    if c.primary is None:
        header = ["| metric | baseline | this PR | skill |", "| --- | ---: | ---: | ---: |"]
        rows = [
            f"| {_metric(name, c)} | {_baseline_cell(c, name)} | {value:.4f} | "
            f"{_skill_cell(c, name)} |"
            for name, value in c.metrics.items()
        ]
        return "\n".join([*header, *rows, "", f"{where} {_skill_note(check)}"])
    deltas = sorted(c.deltas, key=lambda d: d.metric != c.gate.primary_metric)
    rows = [
        _delta_row(_metric(d.metric, c), d, baseline=_baseline_cell(c, d.metric)) for d in deltas
    ]
    if c.repeated is not None:  # the gate judged the splits' row: the holdout's is only shown
        name = _metric(c.repeated.metric, c)
        rows[0] = _delta_row(
            f"{name}, this holdout (not gated)",
            deltas[0],
            baseline=_baseline_cell(c, deltas[0].metric),
        )
        label = f"{name}, mean of {c.repeated.splits} repeated splits (gated)"
        rows.insert(1, _delta_row(label, c.repeated, baseline="n/a"))
    method = (
        f"Δ = this PR - main. The 95% interval comes from {c.resamples} paired bootstrap "
        f'resamples of the holdout ({c.resampled}; seed {c.seed}); "N% sure" is the share '
        "of resamples in which this PR's model is better (or worse) than main's."
    )
    table = [*_delta_header("metric", with_baseline=True), *rows]
    small = _small_holdout(c)
    notes = f"{where} {_skill_note(check)} {method}{small}{_overlap(c)}"
    return "\n".join([*table, "", notes])


def _small_holdout(c: Comparison) -> str:
    """What the gate did about a holdout too small to tell, in plain words."""
    if c.identical or not needs_more_evidence(c.gate, c.holdout.rows):
        return ""
    name, rows, least = c.gate.primary_metric, c.holdout.rows, c.gate.min_rows
    said = f"\n\n{rows} held-out rows are too few to tell (fewer than {least}, gate.min_rows)"
    if c.repeated is not None:
        r = c.repeated
        return (
            f"{said}: a few rows can move {name} past the tolerance. The gate therefore judges "
            f"{name} over {c.repeated_how}, main's model and this PR's both refitted on the same "
            f"rows of each (the row marked gated; its interval is the corrected resampled "
            f"t-test's over the {r.splits} splits, and how sure is the same test's)."
        )
    if _data_changed(c):
        why = (
            "this PR changes the data main's model was trained on, so refitting both on the "
            "same rows would not compare what it changed"
        )
    else:
        why = "the data hold too few rows for repeated splits"
    return (
        f"{said}. The gate asks for 97.5% instead of {percent(c.gate.confidence)} before it "
        f"fails a change; it does not judge over repeated splits because {why}."
    )


def _data_changed(c: Comparison) -> bool:
    """Main's model and this PR's were not both trained on the holdout's file."""
    main = c.champion.model.run.get("data") if c.champion.model is not None else None
    shas = {(main or {}).get("sha256"), (c.challenger_run.get("data") or {}).get("sha256")}
    return shas != {c.holdout.sha256}


def _predicts(c: Comparison) -> str:
    params = c.challenger_run["params"]
    return f"The model predicts {code(params['target'])} ({params['task']})."


def _baseline_cell(c: Comparison, name: str) -> str:
    if c.baseline is None or name not in c.baseline.metrics:
        return "n/a"
    value = c.baseline.metrics[name]
    return "n/a" if math.isnan(value) else f"{value:.4f}"


def _skill_cell(c: Comparison, name: str) -> str:
    from ..model.baseline import skill

    if c.baseline is None or name not in c.baseline.metrics:
        return "n/a"
    gained = skill(name, c.metrics[name], c.baseline.metrics[name])
    return "n/a" if gained is None else percent(gained)


def _skill_note(check) -> str:
    if check is None:
        return ""
    gained = check.skill
    skill = "" if gained is None else f", skill {percent(gained)}"
    return (
        f"Baseline: {check.description}, the same for every row{skill} (the share of the "
        "baseline's shortfall from a perfect score that this PR's model removes)."
    )


def _overlap(c: Comparison) -> str:
    """Main's model may have been fitted on rows of this holdout (e.g. the PR enlarged it)."""
    trained_to = c.champion.model.run["data"].get("train_to") if c.champion.model else None
    if trained_to is None or c.holdout.first is None or trained_to < c.holdout.first:
        return ""
    return (
        f"\n\n⚠ Main's model was trained on rows up to {trained_to}, inside this holdout: "
        "its scores here are optimistic."
    )


def _delta_header(first: str, with_baseline: bool = False) -> list[str]:
    if with_baseline:
        return [
            f"| {first} | baseline | main | this PR | Δ | 95% interval of Δ | how sure |",
            "| --- | ---: | ---: | ---: | ---: | --- | --- |",
        ]
    return [
        f"| {first} | main | this PR | Δ | 95% interval of Δ | how sure |",
        "| --- | ---: | ---: | ---: | --- | --- |",
    ]


def _metric(name: str, c: Comparison) -> str:
    arrow = "↑" if HIGHER_IS_BETTER[name] else "↓"
    return f"**{name}** {arrow} (primary)" if name == c.gate.primary_metric else f"{name} {arrow}"


def _delta_row(label: str, d: Delta, flag: str = "", baseline: str | None = None) -> str:
    sure = d.how_sure
    verdict = f"**{sure}**" if d.verdict == FAIL else sure
    first = f"| {label} |" if baseline is None else f"| {label} | {baseline} |"
    return (
        f"{first} {d.main:.4f} | {d.pr:.4f} | {d.delta:+.4f} | "
        f"[{d.low:+.4f}, {d.high:+.4f}] | {flag + ': ' + sure if flag else verdict} |"
    )


def _relative(d: Delta) -> str:
    return f"{d.delta / abs(d.main) * 100:+.1f}%" if d.main else f"{d.delta:+.4f}"


def _slices(c: Comparison) -> str:
    """The slices big enough to judge (gate.min_slice_rows); smaller ones are only counted."""
    name = c.gate.primary_metric
    smaller = _too_small_to_report(c)
    if c.primary is None:
        rows = [
            f"| {r['slice']}={r['value']} | {r['rows']} | {r[name]:.4f} |"
            for r in c.slice_metrics
            if r["rows"] >= c.gate.min_slice_rows
        ]
        if not rows:
            return smaller
        table = [f"### {name} per slice", "", *SLICE_HEADER, *rows]
        return "\n".join([*table, *(["", smaller] if smaller else [])])
    tolerance = c.gate.max_slice_regression
    judged = [d for d in c.slice_deltas if d.verdict != NOT_GATED]
    if not judged:
        return smaller
    flagged = [d for d in judged if d.verdict == FAIL]
    marked = [d for d in judged if d.verdict in (FAIL, LOOK)]
    moved = judged[:SLICES_SHOWN]
    shown = moved + [d for d in marked if d not in moved]
    flags = {
        FAIL: f"⚠ **regressed beyond {percent(tolerance)}**",
        LOOK: f"🔍 needs a look: may be beyond {percent(tolerance)}",
    }
    rows = [_delta_row(_slice(d), d, flags.get(d.verdict, "")) for d in shown]
    title = f"### Slices that moved most ({name}, {len(shown)} of {len(judged)})"
    lines = [title, "", *_delta_header("slice"), *rows]
    levels = sorted({d.gate_confidence for d in judged}, reverse=True)
    strictest, last = percent(levels[0], 1), percent(levels[-1], 1)
    steps = f"{strictest} confidence"
    if len(levels) > 1:
        steps += f" for the slice it is surest about, then less for each it flags (to {last})"
    lines += [
        "",
        f"The gate judges the {len(judged)} slices tested at {steps}, so that together they "
        f"are {percent(c.gate.confidence)} sure.",
    ]
    if smaller:
        lines += ["", smaller]
    if flagged and c.primary.verdict != FAIL:
        lines += ["", f"⚠ {len(flagged)} slice(s) regressed although {name} overall did not."]
    return "\n".join(lines)


def _too_small_to_report(c: Comparison) -> str:
    """One sentence counting the slices under gate.min_slice_rows (their numbers are noise)."""
    small = [r for r in c.slice_metrics if r["rows"] < c.gate.min_slice_rows]
    if not small:
        return ""
    names = ", ".join(f"{r['slice']}={r['value']} ({r['rows']})" for r in small[:SLICES_SHOWN])
    more = f" and {len(small) - SLICES_SHOWN} more" if len(small) > SLICES_SHOWN else ""
    return (
        f"{len(small)} slice(s) have fewer than {c.gate.min_slice_rows} held-out rows, too few "
        f"to call better or worse; not shown: {names}{more}."
    )


def _slice(d: Delta) -> str:
    return f"{d.label} ({d.rows} rows)"


def _chart(c: Comparison) -> str:
    """A Mermaid bar chart, which GitHub draws in comments: no image host needed. Only the
    slices big enough to report, and none at all when there are none."""
    name = c.gate.primary_metric
    reported = [r for r in c.slice_metrics if r["rows"] >= c.gate.min_slice_rows]
    if not reported:
        return ""
    labels = [f"{r['slice']}={r['value']}" for r in reported]
    pr = [r[name] for r in reported]
    series = f"    bar {_numbers(pr)}"
    title = f"{name} per slice, this PR"
    if c.primary is not None:
        main = {d.label: d.main for d in c.slice_deltas}
        series = f"    bar {_numbers([main[label] for label in labels])}\n    line {_numbers(pr)}"
        title = f"{name} per slice: main (bars), this PR (line)"
    axis = ", ".join(json.dumps(unescape(label).replace('"', "'")) for label in labels)
    return (
        f'```mermaid\nxychart-beta\n    title "{title}"\n    x-axis [{axis}]\n'
        f'    y-axis "{name}"\n{series}\n```'
    )


def _numbers(values: list[float]) -> str:
    return "[" + ", ".join("0" if math.isnan(v) else f"{v:.4f}" for v in values) + "]"
