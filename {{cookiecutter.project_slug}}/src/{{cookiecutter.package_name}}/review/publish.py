"""Writes a pull request's comment and its full report, each all or nothing.

The comment is rendered from report.json's data by comment.py, as comment.yml renders it: one
path, so every string is escaped the same way here and there.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .changes import Context
from .comment import render_comment
from .compare import Comparison
from .report_json import as_json


def write_report(c: Comparison, context: Context, out: Path, artifacts: Path | None = None) -> str:
    """Write the comment to `out` (and the full report to `artifacts`), each all or nothing."""
    text = render_comment(json.loads(json.dumps(as_json(c, context))))
    _write_atomically(out, text)
    if artifacts is not None:
        from ..folders import atomic_directory
        from ..model.artifacts import write_json

        with atomic_directory(artifacts) as staging:
            (staging / "report.md").write_text(text, encoding="utf-8")
            write_json(staging / "report.json", as_json(c, context))
    return text


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(text)
    os.replace(temporary, path)
