"""The comment comment.yml posts: rendered from report.json alone, plain text, bounded in size."""

import json
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.review.comment import (
    GITHUB_COMMENT_LIMIT,
    MAX_REPORT_BYTES,
    render_comment,
    truncate,
)
from {{ cookiecutter.package_name }}.review.report import MARKER
from test_compare import absent, compare_cli, train_on

RUN = "https://github.com/octo-org/demand-forecast/actions/runs/7"


@pytest.fixture(scope="module")
def compared(tmp_path_factory, sample_file) -> tuple[str, dict]:
    """compare's own markdown and its report.json, for a PR against main's model."""
    tmp = tmp_path_factory.mktemp("compared")
    champion = train_on(tmp / "main", sample_file)
    challenger = train_on(tmp / "pr", sample_file, seed=7)
    # the gate's outcome does not matter here (a reseeded model on a small sample may fail it)
    _, markdown, report = compare_cli(tmp, champion, challenger, sample_file)
    return markdown, report


def comment_cli(tmp_path: Path, report: dict | str, *extra: str) -> tuple[int, str]:
    source = tmp_path / "report.json"
    source.write_text(report if isinstance(report, str) else json.dumps(report))
    out = tmp_path / "comment.md"
    code = main(["comment", "--report", str(source), "--out", str(out), *extra])
    return code, out.read_text() if out.exists() else ""


def test_the_comment_from_report_json_is_the_comment_compare_wrote(tmp_path, compared):
    markdown, report = compared
    code, comment = comment_cli(tmp_path, report, "--run-url", RUN)
    assert code == 0
    assert comment == markdown


def test_the_first_report_without_main_renders_too(tmp_path, sample_file):
    challenger = train_on(tmp_path / "pr", sample_file)
    _, markdown, report = compare_cli(tmp_path, absent(tmp_path / "main"), challenger, sample_file)
    assert comment_cli(tmp_path, report)[1] == markdown


def test_strings_from_the_report_are_plain_text(tmp_path, compared):
    _, report = compared
    injected = '<img src="https://evil.example/x.png"> [click](https://evil.example) @admin | x'
    report = {**report, "failures": [injected], "passed": False}
    report["validation"] = "```\n<script>alert(1)</script>\n```"
    code, comment = comment_cli(tmp_path, report)
    assert code == 0
    outside_code = comment.split("````text")[0]
    assert "<script>" not in outside_code
    assert "<img" not in outside_code.replace("\\<img", "")  # escaped: shown, not rendered
    assert "](" not in outside_code.replace("\\](", "") and "@admin" not in comment
    assert "https://" not in comment  # GitHub links addresses on its own: broken
    assert "````text\n```\n<script>alert(1)</script>\n```\n````" in comment  # a longer fence


def test_a_report_larger_than_the_bound_is_refused(tmp_path, compared, capsys):
    _, report = compared
    report = {**report, "padding": "x" * MAX_REPORT_BYTES}
    code, comment = comment_cli(tmp_path, report)
    assert (code, comment) == (1, "")
    assert "at most 1,000,000" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"runs": []}'])
def test_a_report_that_is_not_a_model_report_is_an_error(tmp_path, text, capsys):
    assert comment_cli(tmp_path, text) == (1, "")
    assert "error:" in capsys.readouterr().err


def test_a_long_comment_is_cut_below_githubs_limit_with_a_link_to_the_run(tmp_path, compared):
    _, report = compared
    report = {**report, "validation": "a line of the validation report\n" * 4000}
    code, comment = comment_cli(tmp_path, report, "--run-url", RUN)
    assert code == 0
    assert comment.startswith(MARKER + "\n")
    assert len(comment) < GITHUB_COMMENT_LIMIT
    assert comment.rstrip().endswith(f"the full report is in the run: {RUN}")
    assert comment.count("````") % 2 == 0  # the cut code block is closed


def test_truncate_leaves_a_short_text_alone_and_closes_an_open_fence():
    assert truncate("short\n", 100, RUN) == "short\n"
    cut = truncate("head\n```text\n" + "line\n" * 100, 200, None)
    assert len(cut) <= 200 and cut.count("```") == 2 and "artifacts" in cut


def test_an_incomplete_report_says_which_step_failed(tmp_path):
    report = {"status": "incomplete", "failed": "training", "validation": None}
    code, comment = comment_cli(tmp_path, report, "--run-url", RUN)
    assert code == 0
    assert comment.startswith(MARKER + "\n\n## ❌ No model report: training failed")
    assert RUN in comment
    invalid = {"status": "incomplete", "failed": "data validation", "validation": "**bad** data"}
    comment = render_comment(invalid)
    assert "Data validation failed" in comment and "```text\n**bad** data\n```" in comment
    assert "No model report: a step failed" in render_comment({**invalid, "failed": "<b>x"})
