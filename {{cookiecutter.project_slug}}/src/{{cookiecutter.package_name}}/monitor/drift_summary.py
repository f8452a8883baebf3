"""The drift check's result in short Markdown, for the job summary and the retraining PR's body.

Recent data is production data: every value from it is shown escaped (markdown_text), as text.
"""

from __future__ import annotations

from ..markdown_text import code_span, plain


def summary_markdown(result: dict) -> str:
    """The short markdown for a job summary or a pull request body."""
    verdict = "**Drift: yes**" if result["drift"] else "**Drift: no**"
    reasons = "; ".join(result["reasons"])
    lines = [f"{verdict}{': ' + reasons if reasons else ''}"]
    if "retrain" in result:
        retrain = "**Retraining: yes**" if result["retrain"] else "**Retraining: no**"
        lines += ["", f"{retrain}: {result['retrain_reason']}."]
    if result["columns"]:
        lines += ["", "| column | test | score | threshold | drifted |"]
        lines += ["| --- | --- | ---: | ---: | --- |"]
        for name, c in result["columns"].items():
            test = f"{c['method']} ({c['statistic'].replace('_', '-')})"
            drifted = "**yes**" if c["drifted"] else "no"
            lines += [
                f"| `{name}` | {test} | {c['score']:.4g} | {c['threshold']:.4g} | {drifted} |"
            ]
        share, threshold = result["share"], result["share_threshold"]
        lines += ["", f"Share of drifted columns: {share:.2f} (drift from {threshold})."]
        lines += _raised_lines(result)
    lines += ["", *_data_lines(result), *_quality_lines(result), *_performance_lines(result)]
    return "\n".join(lines) + "\n"


def _raised_lines(result: dict) -> list[str]:
    """Say so when calibrated thresholds were raised for a current table smaller than a window."""
    raised = {name: c.get("raised_by", 1.0) for name, c in result["columns"].items()}
    most = max(raised.values(), default=1.0)
    if most <= 1.0:
        return []
    rows = result["current"].get("rows_tested", result["current"]["rows"])
    return [
        "",
        f"The current table's {rows} rows are fewer than the calibrated windows held: by chance "
        f"alone a smaller table scores higher, so the thresholds shown are the calibrated ones "
        f"raised up to {most:.2f} times (distances between samples shrink as the square root of "
        "their rows; noise_factor in monitor/drift.py).",
    ]


def _data_lines(result: dict) -> list[str]:
    lines = []
    for name in ("reference", "current"):
        table = result[name]
        span = f", {table['from']} to {table['to']}" if table["from"] else ""
        tested = table.get("rows_tested", table["rows"])
        sample = f" (a seeded sample of {tested} tested)" if tested < table["rows"] else ""
        location = code_span(table["location"])
        lines.append(f"- {name}: {location}, {table['rows']} rows{span}{sample}")
    return lines


def _quality_lines(result: dict) -> list[str]:
    quality = result.get("quality")
    if not quality:
        return []
    notes = []
    for name, c in quality["columns"].items():
        if c.get("new_categories"):
            # production data: each value escaped (markdown_text), shown, never rendered
            values = ", ".join(plain(value) for value in c["new_categories"])
            notes += [f"`{name}`: {c['rows_with_new_category']} rows of new values {values}"]
        if c.get("below_reference_min"):
            notes += [f"`{name}`: {c['below_reference_min']} rows below {c['reference_min']:.4g}"]
        if c.get("above_reference_max"):
            notes += [f"`{name}`: {c['above_reference_max']} rows above {c['reference_max']:.4g}"]
    found = "; outside what training saw: " + "; ".join(notes) if notes else ""
    return [f"- quality: the current data passes the schema{found}"]


def _performance_lines(result: dict) -> list[str]:
    performance = result.get("performance")
    if not performance:
        return []
    if "skipped" in performance:
        return ["", f"Performance: not measured ({performance['skipped']})."]
    lines = [
        "",
        f"Performance of `{performance['model']}` (decay when `{performance['metric']}` is "
        f"more than {percent(performance['tolerance'])} worse{_raised(performance)}):",
        "",
        "| metric | at training | on current data | worse by |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, row in performance["metrics"].items():
        cells = [
            _number(row["training"]),
            _number(row["current"]),
            "n/a" if row["worse_by"] is None else percent(row["worse_by"], sign="+"),
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    upper = performance.get("decay_upper")
    if upper is not None:
        lines += [
            "",
            f"The bootstrap ({performance['resampled']}, "
            f"{performance['rows_resampled']} rows) is {percent(performance['confidence'])} "
            f"sure that `{performance['metric']}` is at most {percent(upper, sign='+')} worse.",
        ]
    return lines


def _raised(performance: dict) -> str:
    raised = performance.get("raised_by", 1.0)
    if raised <= 1.0:
        return ""
    return (
        f"; the calibrated tolerance raised {raised:.2f} times: this table holds fewer labelled "
        "rows than the windows it was calibrated on"
    )


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def percent(value: float, sign: str = "") -> str:
    return format(value, f"{sign}.0%")  # 0.5 -> "50%"
