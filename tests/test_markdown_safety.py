"""No string a fork or production data controls renders as a link, image, mention or HTML.

Checked with cmarkgfm, GitHub's own fork of cmark with its extensions (autolinks, tables), in
the bot's comment and the retraining pull request's body. What GitHub links after rendering
(mentions, `#1` references) is checked on the rendered text, as its filters see it.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from html.parser import HTMLParser

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from conftest import bake, run_cli

PACKAGE = "demand_forecast"
HOSTILE = [
    r"\[text\](//evil.example/path)",  # the bypass: escaped brackets, protocol-relative
    "[click](https://evil.example)",
    "![x](https://evil.example/x.png)",
    '<img src="https://evil.example/x.png">',
    "<script>alert(1)</script>",
    "<https://evil.example>",
    "www.evil.example/path",
    "WWW.EVIL.EXAMPLE",
    "https://evil.example",
    "mailto:someone@evil.example",
    "someone@evil.example",
    "@admin and @octo-org/owners",
    "#1 and octo-org/demand-forecast#2",
    "&lt;img src=x&gt; &#60;b&#62;",
    "[ref]\n\n[ref]: https://evil.example",
    "`code` ``double`` ```fence",
    "*bold* _em_ ~~gone~~ | a | b |",
    "\\\\[x](y) \\",
    "javascript:alert(1)",
]
MENTION = re.compile(r"(?<![\w`])@[A-Za-z0-9]")
REFERENCE = re.compile(r"#\d")
ALLOWED_TAGS = {"p", "table", "thead", "tbody", "tr", "th", "td", "code", "pre", "ul", "li"}
ALLOWED_TAGS |= {"h2", "h3", "strong", "em", "details", "summary", "br"}


class Rendered(HTMLParser):
    """The tags, links and text of rendered HTML; text inside code kept apart (never linked)."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags, self.links, self.comments = set(), [], []
        self.text, self.code, self._in_code = [], [], 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag in ("code", "pre"):
            self._in_code += 1
        for name, value in attrs:
            if name in ("href", "src"):
                self.links.append(value)

    def handle_endtag(self, tag):
        if tag in ("code", "pre"):
            self._in_code -= 1

    def handle_comment(self, data):
        self.comments.append(data)

    def handle_data(self, data):
        (self.code if self._in_code else self.text).append(data)


def render(markdown: str) -> Rendered:
    # UNSAFE keeps raw HTML in the output, so that any HTML that got through is seen here
    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    return Rendered(html)


def assert_nothing_is_live(rendered: Rendered, links: tuple[str, ...] = ()) -> None:
    assert not rendered.tags - ALLOWED_TAGS, rendered.tags - ALLOWED_TAGS
    assert [link for link in rendered.links if link not in links] == []
    text = "".join(rendered.text)
    for link in links:  # ours, e.g. the run's address after a truncated comment
        text = text.replace(link, "")
    assert not MENTION.search(text), MENTION.search(text)
    assert not REFERENCE.search(text), REFERENCE.search(text)
    lowered = text.lower()
    assert "www." not in lowered and "://" not in lowered and "//" not in lowered


def shown(rendered: Rendered) -> str:
    return "".join(rendered.text).replace("\u2060", "")


@pytest.fixture(scope="module")
def package(cookies_session):
    project = bake(cookies_session)
    sys.path.insert(0, str(project / "src"))
    try:
        yield (
            project,
            {
                name.rpartition(".")[2]: importlib.import_module(f"{PACKAGE}.{name}")
                for name in ("markdown_text", "review.comment", "monitor.drift")
            },
        )
    finally:
        sys.path.remove(str(project / "src"))


@pytest.mark.parametrize("hostile", HOSTILE)
def test_plain_text_renders_as_exactly_the_text_and_nothing_else(package, hostile):
    plain = package[1]["markdown_text"].plain
    as_written = " ".join(hostile.split())
    rendered = render(plain(hostile))
    assert_nothing_is_live(rendered)
    assert shown(rendered).strip() == as_written
    rendered = render(f"| a | b |\n| --- | --- |\n| {plain(hostile)} | x |")
    assert_nothing_is_live(rendered)
    assert [cell.strip() for cell in shown(rendered).split("\n") if cell.strip()] == [
        "a",
        "b",
        as_written,
        "x",
    ]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_inline_code_renders_as_code_only(package, hostile):
    code_span = package[1]["markdown_text"].code_span
    rendered = render(f"| a |\n| --- |\n| {code_span(hostile)} |")
    assert rendered.tags <= {"table", "thead", "tbody", "tr", "th", "td", "code"}
    assert rendered.links == [] and shown(rendered).strip() == "a"
    assert "".join(rendered.code) == " ".join(hostile.split()).replace("`", "'")


def hostile_report(project, tmp_path) -> dict:
    """A real report.json (two trained models compared), every string a fork could set made
    hostile: failures, slice labels, paths, params, packages, the lock's name, the base's log."""
    data = tmp_path / "train.csv"
    run_cli(project, PACKAGE, "data", "--rows", "1200", "--seed", "3", "--out", str(data))
    for name in ("main", "pr"):
        run_cli(project, PACKAGE, "train", "--data", str(data), "--out", str(tmp_path / name))
    run_cli(
        project,
        PACKAGE,
        "compare",
        "--champion",
        str(tmp_path / "main"),
        "--challenger",
        str(tmp_path / "pr"),
        "--data",
        str(data),
        "--artifacts",
        str(tmp_path / "compare"),
        "--out",
        str(tmp_path / "comment.md"),
        check=False,
    )
    report = json.loads((tmp_path / "compare/report.json").read_text())
    evil = " ".join(HOSTILE)
    report["failures"] = [evil]
    report["needs_a_look"] = [evil]
    renamed = {}
    for number, row in enumerate(report["this_pr"]["slices"]):
        old = f"{row['slice']}={row['value']}"
        row["value"] = f"{evil} {number}"
        renamed[old] = f"{row['slice']}={row['value']}"
    for item in report["slices"]:
        item["label"] = renamed[item["label"]]
    report["holdout"].update(path=evil, how=evil, sha256=evil)
    for run in report["runs"].values():
        run["data"]["path"] = evil
        run["packages"] = dict.fromkeys(run["packages"], evil)
        run["params"]["model"]["evil"] = evil
        run["git"] = {"commit": evil, "dirty": True}
    report["lock"] = {"file": evil, "sha256": evil}
    return report


def test_the_bot_comment_renders_no_fork_string_live(package, tmp_path):
    project, modules = package
    report = hostile_report(project, tmp_path)
    run_url = "https://github.com/octo-org/demand-forecast/actions/runs/7"
    comment = modules["comment"].render_comment(report, run_url=run_url)
    rendered = render(comment)
    assert_nothing_is_live(rendered, links=(run_url,))
    assert rendered.comments == [" demand-forecast:model-report "]  # the marker, nothing else
    assert "[click](https:" in shown(rendered) and "@admin" in shown(rendered)  # shown as written

    failed = {**report, "champion": {"status": "failed", "reason": evil_log(), "commit": "x"}}
    failed["runs"] = {**report["runs"], "main": None}
    rendered = render(modules["comment"].render_comment(failed, run_url=run_url))
    assert_nothing_is_live(rendered, links=(run_url,))


def evil_log() -> str:
    return "Traceback\n```\n" + "\n".join(HOSTILE) + "\n```"


def test_the_retraining_pull_request_body_renders_no_production_value_live(package):
    drift = package[1]["drift"]
    evil = " ".join(HOSTILE)
    result = {
        "drift": True,
        "reasons": ["1 of 2 columns drifted"],
        "retrain": True,
        "retrain_reason": "the distribution drifted",
        "columns": {},
        "reference": {"location": "data/train.csv", "rows": 10, "from": None},
        "current": {"location": evil, "rows": 10, "from": None},
        "quality": {
            "columns": {
                "category": {
                    "new_categories": HOSTILE,
                    "rows_with_new_category": len(HOSTILE),
                }
            }
        },
        "performance": None,
    }
    body = drift.summary_markdown(result)
    rendered = render(body)
    assert_nothing_is_live(rendered)
    for hostile in ("[click](https://evil.example)", "@admin", "<script>"):
        assert hostile in shown(rendered)
