"""The smallest pieces of the UI's HTML: escaping, callouts, and a passage with its highlights.

Every piece of document or model text is HTML-escaped here or in the modules that build on this one
(ui/render.py, ui/render_tables.py, ui/render_view.py); nothing else builds markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

CONTEXT_CHARS = 260  # passage context kept on each side of a highlighted sentence
SHORT_PASSAGE = 640  # passages up to this length are shown whole
# Markdown structure inside a passage (a .md file's text is stored as written): shown as what it means.
_HEADING = re.compile(r"(?m)^[ \t]*#{1,6}[ \t]+(.+?)[ \t#]*$")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_RULE = re.compile(r"(?m)^[ \t]*(?:[-*_][ \t]*){3,}$")


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def pages_label(start: int | None, end: int | None, *, short_form: bool = True) -> str:
    """'p. 25' or 'pp. 25–26' (short), 'page 25' or 'pages 25–26' (long); '' without a page."""
    if start is None:
        return ""
    if end is None or end == start:
        return f"p. {start}" if short_form else f"page {start}"
    return f"pp. {start}–{end}" if short_form else f"pages {start}–{end}"


def banner(kind: str, title: str, body: str = "", *, html_body: bool = False) -> str:
    """A callout: kind is info | warn | error | ok. `body` is escaped unless html_body."""
    icon = {"info": "ℹ", "warn": "⚠", "error": "✗", "ok": "✓"}.get(kind, "ℹ")
    text = body if html_body else esc(body)
    return (
        f'<div class="dq-banner dq-{esc(kind)}" role="status"><span class="dq-banner-icon">{icon}</span>'
        f"<div><strong>{esc(title)}</strong>{' ' + text if text else ''}</div></div>"
    )


def busy(text: str) -> str:
    """A banner with a spinner, for work in progress."""
    return (
        '<div class="dq-banner dq-info dq-busy" role="status"><span class="dq-spinner"></span>'
        f"<div><strong>{esc(text)}</strong></div></div>"
    )


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for a, b in sorted((a, b) for a, b in spans if b > a):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def markdown_lines(escaped: str) -> str:
    """Markdown headings, bold and rules of an escaped passage as HTML (`## Descaling` is a heading to
    the reader, not two hashes). Runs on escaped text, so nothing a document says becomes markup."""
    escaped = _RULE.sub("", escaped)
    escaped = _HEADING.sub(lambda m: f'<strong class="dq-h">{m.group(1)}</strong>', escaped)
    return _BOLD.sub(r"<b>\1</b>", escaped)


def highlight(text: str, spans: Sequence[tuple[int, int]], window: int | None = CONTEXT_CHARS) -> str:
    """Escape `text`, wrapping each span in <mark>; with `window`, keep only that much context around
    the highlights (cut at spaces, with ellipses). Without spans, the opening of the passage is shown."""
    spans = [(max(0, a), min(len(text), b)) for a, b in spans if 0 <= a < b]
    lo, hi = 0, len(text)
    if window is not None and len(text) > SHORT_PASSAGE:
        if spans:
            lo, hi = max(0, spans[0][0] - window), min(len(text), spans[-1][1] + window)
        else:
            hi = min(len(text), 2 * window)
        if lo > 0:  # start after a space, but never inside the first highlight
            cut = text.find(" ", lo)
            if 0 <= cut < (spans[0][0] if spans else hi):
                lo = cut + 1
        if hi < len(text):  # end before a space, but never inside the last highlight
            cut = text.rfind(" ", lo, hi)
            if cut > (spans[-1][1] if spans else lo):
                hi = cut
    out: list[str] = ["… " if lo > 0 else ""]
    pos = lo
    for a, b in spans:
        a, b = max(a, lo), min(b, hi)
        if a >= b:
            continue
        out.append(esc(text[pos:a]))
        out.append(f"<mark>{esc(text[a:b])}</mark>")
        pos = b
    out.append(esc(text[pos:hi]))
    out.append(" …" if hi < len(text) else "")
    body = markdown_lines("".join(out))
    # Paragraph breaks stay; a heading ends its line; other single newlines are PDF line wraps, not meaning.
    body = re.sub(r"</strong>\n", "</strong><br>", body)
    return re.sub(r"\n{2,}", "<br><br>", body).replace("\n", " ")
