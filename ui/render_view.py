"""HTML for "see the source" (a PDF page image with the quote boxed, or a passage in its text) and the
labels of the saved-conversation list. Pure functions, like ui/render.py.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence

from rag.conversations import ConversationInfo
from rag.core.pageview import PageView
from ui.render_base import banner, esc, highlight


def page_view_html(view: PageView) -> str:
    """The page view panel's body. The image scales to the panel's width; the boxes are positioned in
    percent of the page, so they stay on the quote at any size (phone included)."""
    if view.kind == "error":
        return banner("warn", "This source cannot be shown.", view.error)
    if view.kind == "pdf" and view.image is not None:
        image = view.image
        data = base64.b64encode(image.png).decode("ascii")
        boxes = "".join(
            f'<span class="dq-pv-hl" style="left:{x * 100:.3f}%;top:{y * 100:.3f}%;'
            f'width:{w * 100:.3f}%;height:{h * 100:.3f}%"></span>'
            for x, y, w, h in image.boxes
        )
        note = (
            '<span class="dq-pv-found">quote highlighted</span>'
            if image.boxes
            else '<span class="dq-pv-missing">the quote is not in this page\'s text layer</span>'
        )
        return (
            f'<div class="dq-pv" data-kind="pdf" data-page="{image.page}">'
            f'<div class="dq-pv-head"><span class="dq-pv-file" title="{esc(view.source)}">{esc(view.source)}</span>'
            f'<span class="dq-pv-pageno">page {image.page} of {image.page_count}</span>{note}</div>'
            f'<div class="dq-pv-page" style="aspect-ratio:{image.width}/{image.height}">'
            f'<img src="data:image/png;base64,{data}" alt="Page {image.page} of {esc(view.source)}" '
            f'width="{image.width}" height="{image.height}">{boxes}</div></div>'
        )
    where = f"page {view.page}" if view.page is not None and view.page_count > 1 else "passage in context"
    note = "" if view.spans else '<span class="dq-pv-missing">the quote was not found in the file</span>'
    body = highlight(view.text, view.spans, window=None)
    return (
        f'<div class="dq-pv" data-kind="text"><div class="dq-pv-head"><span class="dq-pv-file" '
        f'title="{esc(view.source)}">{esc(view.source)}</span><span class="dq-pv-pageno">{where}</span>{note}</div>'
        f'<div class="dq-pv-doc">{"… " if view.clipped_start else ""}{body}{" …" if view.clipped_end else ""}'
        "</div></div>"
    )


def conversation_choices(items: Sequence[ConversationInfo]) -> list[tuple[str, str]]:
    """(label, id) pairs for the conversation list, the most recent first."""
    return [
        (f"{c.title} · {time.strftime('%d %b %H:%M', time.localtime(c.updated))} · {c.turns} "
         f"question{'s' if c.turns != 1 else ''}", c.id)
        for c in items
    ]  # fmt: skip
