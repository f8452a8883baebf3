"""Untrusted strings shown in GitHub Markdown as the text they are: never a link, image or HTML.

A fork's pull request writes the report the bot comments from, and production rows reach the
retraining pull request's body, so any string from them may be crafted. `plain` makes one for
running text, `code_span` one for inline code. GitHub also links what its renderer leaves as
text (mentions, `#1` references, `www.` and `scheme://` addresses, e-mail addresses) after
backslash escapes are gone, so those are broken with an invisible word joiner instead.
"""

from __future__ import annotations

import re

JOINER = "\u2060"  # WORD JOINER: invisible, and no word, address or mention runs across it
# Every character CommonMark or GitHub gives a meaning inline (the backslash first of all).
SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-!|~&@:.])")
LINKED_AFTER = re.compile(r"([@#])")  # mentions, team mentions, issue references, e-mail
ESCAPED = re.compile(r"\\([\\`*_{}\[\]()<>#+\-!|~&@:.])")


def plain(text: object) -> str:
    """`text` on one line, every special character backslash-escaped, autolinks broken."""
    line = " ".join(str(text).split())
    line = LINKED_AFTER.sub(rf"\1{JOINER}", line)
    line = re.sub(r"(?i)(www)\.", rf"\1{JOINER}.", line)  # GFM links www. addresses
    line = line.replace("//", f"/{JOINER}/")  # and scheme:// ones, escaped or not
    return SPECIAL.sub(r"\\\1", line)


def unescape(text: str) -> str:
    """What `plain` escaped, without the backslashes (the joiners stay: they show as nothing)."""
    return ESCAPED.sub(r"\1", text)


def code_span(text: object) -> str:
    """`text` as inline code, which GitHub renders as is: one line, no backtick to close it.

    A pipe is escaped: GitHub splits a table row on it even inside code, and shows `\\|` as `|`.
    """
    line = " ".join(str(text).split()).replace("`", "'").replace("|", "\\|")
    return f"`{line}`"
