"""Escaping for the two languages the generator writes: HTML and Markdown.

Titles, summaries and notes come from contributors, so they are untrusted text: everything that goes
into a page passes through one of these functions. Markdown passes inline HTML through untouched, so
Markdown text is HTML-escaped too, after its own special characters are backslash-escaped (a title with
``*`` or ``[`` must not turn into emphasis or a link, and ``{`` must not reach ``attr_list``).
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote

# Python-Markdown's escapable characters (``md.ESCAPED_CHARS`` plus ``|`` from the tables extension).
# ``<``, ``>`` and ``&`` are left to the HTML escape: a backslash before an entity would show up as text.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|])")
_LONGEST_BACKTICKS = re.compile(r"`+")


def one_line(text: str) -> str:
    """Collapse runs of whitespace: inline contexts (table cells, headings) must not start a new block."""
    return " ".join(text.split())


def md(text: str) -> str:
    """Untrusted text as inert inline Markdown: one line, Markdown specials escaped, HTML escaped."""
    return html.escape(_MARKDOWN_SPECIALS.sub(r"\\\1", one_line(text)), quote=False)


def attr(text: str) -> str:
    """Untrusted text for an HTML attribute value or element content (quotes escaped as well)."""
    return html.escape(one_line(text), quote=True)


def code_span(text: str) -> str:
    """Inline code; only for our own identifiers (ids, slugs, commands), which never hold backticks."""
    if "`" in text:
        raise ValueError(f"code span text must not contain backticks: {text!r}")
    return f"`{text}`"


def fence(text: str, language: str = "") -> str:
    """A fenced code block longer than any backtick run inside ``text``, so the content cannot close it."""
    longest = max((len(run) for run in _LONGEST_BACKTICKS.findall(text)), default=0)
    marker = "`" * max(3, longest + 1)
    return f"{marker}{language}\n{text.rstrip()}\n{marker}\n"


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table; cells must already be escaped (``md``) or be our own Markdown (links, code)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def safe_url(url: str) -> str:
    """An http(s) URL from an entry, percent-encoded where it could end a Markdown link or an attribute."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"only http(s) links are written into pages, got {url!r}")
    return quote(url, safe=":/?#[]@!$&*+,;=%~-._")
