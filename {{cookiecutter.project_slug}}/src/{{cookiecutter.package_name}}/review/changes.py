"""The comment's last sections: what changed between main's model and this PR's, and how to
reproduce both (params.yaml, data, data contract, dependencies, commits, packages).

Every string here comes from report.json, untrusted (see comment.py): `code` shows one as
inline code exactly as written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import yaml

from ..markdown_text import code_span, unescape
from .compare import Comparison

PACKAGES_SHOWN = ("python", "scikit-learn", "pandas", "numpy", "pandera")


@dataclass(frozen=True)
class Context:
    """What the comment shows besides the numbers: the data validation and the lock file."""

    validation: str | None = None
    lock_name: str = "uv.lock"
    lock_sha256: str | None = None


def _has_dvc(*runs: dict | None) -> bool:
    return any(run is not None and "dvc" in run["data"] for run in runs)


def _dvc_cell(run: dict) -> str:
    """The data version as the DVC pointer names it: md5 and size (or "in git")."""
    version = run["data"].get("dvc")
    if not isinstance(version, dict):
        return "in git"
    size = version.get("size")  # report.json is untrusted input to comment.py: no crash on it
    return f"md5 {code(version.get('md5'))}, " + (
        f"{size:,} bytes" if isinstance(size, int) else "?"
    )


def what_changed(c: Comparison, context: Context) -> str:
    validation = context.validation.strip() if context.validation else "Data validation: not run."
    main_run = champion_run(c)
    lines = ["### What changed", ""]
    if main_run is None:
        lines.append("params.yaml: main has no model to compare with.")
    else:
        lines.append(_params_table(diff_params(main_run["params"], c.challenger_run["params"])))
    rows = [
        ("training data", lambda run: code(run["data"]["path"])),
        ("data sha256", lambda run: code(run["data"]["sha256"], 16, "…")),
        *([("DVC version", _dvc_cell)] if _has_dvc(main_run, c.challenger_run) else []),
        ("train rows", lambda run: str(run["data"]["train_rows"])),
        ("holdout rows", lambda run: str(run["data"]["holdout_rows"])),
    ]
    lines += ["", _side_by_side(rows, main_run, c.challenger_run)]
    if main_run is not None:
        same = main_run["data"]["sha256"] == c.challenger_run["data"]["sha256"]
        lines += ["", "Same training data." if same else "**The training data changed.**"]
        lines += ["", contract_changes(main_run.get("schema"), c.challenger_run.get("schema"))]
        lines += _dependencies(main_run, context)
    lines += ["", validation]
    return "\n".join(lines)


def contract_changes(before: str | None, after: str | None) -> str:
    """One sentence on the data contract: the same, or which columns changed and how."""
    if before == after:
        return "Same data contract (schema.yaml)."
    if before is None or after is None:
        return "**The data contract (schema.yaml) changed**: main's model has no recorded schema."
    old, new = (yaml.safe_load(text).get("columns") or {} for text in (before, after))
    parts = [
        f"{label} {', '.join(code(name) for name in names)}"
        for label, names in (
            ("added", sorted(new.keys() - old.keys())),
            ("removed", sorted(old.keys() - new.keys())),
            ("changed", sorted(n for n in old.keys() & new.keys() if old[n] != new[n])),
        )
        if names
    ]
    return f"**The data contract (schema.yaml) changed**: {'; '.join(parts) or 'its settings'}."


def _dependencies(main_run: dict, context: Context) -> list[str]:
    """Whether main's lock (recorded by `champion`) is this PR's, and where main was trained."""
    environment = main_run.get("environment")
    if environment is None:  # a champion recorded before environments were
        return []
    name = context.lock_name
    if environment["lock_sha256"] == context.lock_sha256:
        return ["", f"Same dependencies ({code(name)})."]
    where = (
        f"main's model was rebuilt in an environment installed from main's {code(name)}, so the "
        "change of versions is part of what is measured above"
        if environment.get("base_lock")
        else f"main has no {code(name)}: its model was trained in this PR's environment"
    )
    return ["", f"**Dependencies changed: {code(name)}** ({where})."]


def champion_run(c: Comparison) -> dict | None:
    return c.champion.model.run if c.champion.model is not None else None


def diff_params(before: dict, after: dict) -> list[tuple[str, object, object]]:
    """(dotted key, main's value, this PR's value) for every params.yaml entry that differs."""
    old, new = _flatten(before), _flatten(after)
    missing = object()
    return [
        (key, old.get(key), new.get(key))
        for key in sorted(old.keys() | new.keys())
        if old.get(key, missing) != new.get(key, missing)
    ]


def _flatten(tree: dict, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _params_table(changes: list[tuple[str, object, object]]) -> str:
    if not changes:
        return "params.yaml: no change."
    rows = [f"| {code(key)} | {_value(old)} | {_value(new)} |" for key, old, new in changes]
    return "\n".join(["| params.yaml | main | this PR |", "| --- | --- | --- |", *rows])


def _value(value: object) -> str:
    return "(absent)" if value is None else code_span(json.dumps(_unescaped(value)))


def _side_by_side(rows: list, main_run: dict | None, pr_run: dict) -> str:
    """A two-column table (main, this PR), or one column when main has no model."""
    if main_run is None:
        lines = ["| | this PR |", "| --- | --- |"]
        return "\n".join(lines + [f"| {label} | {cell(pr_run)} |" for label, cell in rows])
    lines = ["| | main | this PR |", "| --- | --- | --- |"]
    return "\n".join(
        lines + [f"| {label} | {cell(main_run)} | {cell(pr_run)} |" for label, cell in rows]
    )


def reproducibility(c: Comparison, context: Context) -> str:
    rows = [
        ("commit", _commit),
        ("training data sha256", lambda run: code(run["data"]["sha256"])),
        ("seed", lambda run: str(run["seed"])),
        ("packages", _packages),
    ]
    lock = (
        f"{code(context.lock_name)} sha256 {code(context.lock_sha256)}"
        if context.lock_sha256
        else f"none (no {code(context.lock_name)} found)"
    )
    return "\n".join(
        [
            "<details><summary>Reproducibility</summary>",
            "",
            _side_by_side(rows, champion_run(c), c.challenger_run),
            "",
            f"Holdout data sha256 {code(c.holdout.sha256)}. Bootstrap: {c.resamples} Poisson "
            f"resamples ({c.resampled}), seed {c.seed}. Lock file: {lock}. "
            f"{_trained_in(champion_run(c))} No PNG plots "
            "(matplotlib is not a dependency): the chart above is Mermaid and every number is "
            "in the report artifact's `report.json`.",
            "",
            "</details>",
        ]
    )


def _trained_in(main_run: dict | None) -> str:
    environment = (main_run or {}).get("environment") or {}
    if environment.get("base_lock"):
        sha = environment["lock_sha256"]
        return (
            f"Main's model was trained in an environment installed from main's "
            f"{code(environment['lock'])} (sha256 {code(sha)}), this PR's in this job's "
            "environment."
        )
    return "Both models were trained in this job's environment."


def _commit(run: dict) -> str:
    git = run.get("git") or {}
    if not git.get("commit"):
        return "not in git"
    return code(git["commit"], 12) + (" + uncommitted changes" if git.get("dirty") else "")


def _packages(run: dict) -> str:
    packages = run.get("packages", {})
    return ", ".join(f"{name} {packages[name]}" for name in PACKAGES_SHOWN if name in packages)


def code(text: object, length: int | None = None, cut: str = "") -> str:
    """A report string (plain text, escaped: see comment.py) as inline code, shown as written."""
    raw = unescape(str(text))
    return code_span(raw[:length] + cut if length is not None else raw)


def _unescaped(value: object) -> object:
    if isinstance(value, str):
        return unescape(value)
    if isinstance(value, dict):
        return {unescape(str(key)): _unescaped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unescaped(item) for item in value]
    return value
