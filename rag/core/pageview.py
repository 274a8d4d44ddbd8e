"""What "see the source" shows: a rendered PDF page with the quote's boxes, or a passage in its text.

The boxes are fractions of the page (0..1 from the top left), so the browser scales the image to any
screen and the highlight follows without a second request. `find_quote` is the one text matcher both
the PDF renderer and the text view use: it ignores case, spacing, punctuation and line-break hyphens,
because the stored chunk text (pypdf) and the page's text layer (PDFium) differ in exactly those.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

Box = tuple[float, float, float, float]  # left, top, width, height as fractions of the page
EDGE_CHARS = 48  # a quote this long may be matched in part (half of it at least) when it spans pages


@dataclass
class RenderedPage:
    """One PDF page as an image, with the quote's boxes (empty when the quote was not found on it)."""

    png: bytes
    width: int
    height: int
    page: int  # 1-based
    page_count: int
    boxes: list[Box] = field(default_factory=list)


@dataclass
class PageView:
    """Everything the UI needs to show a cited source; `error` says why there is nothing to show."""

    source: str
    kind: str  # "pdf" | "text" | "error"
    page: int | None = None
    page_count: int = 0
    quote: str = ""
    image: RenderedPage | None = None
    text: str = ""  # "text": the passage in context
    spans: list[tuple[int, int]] = field(default_factory=list)  # "text": the quote's offsets in `text`
    clipped_start: bool = False  # "text": the context starts inside the document
    clipped_end: bool = False
    error: str = ""

    @property
    def found(self) -> bool:
        return bool(self.spans) or bool(self.image and self.image.boxes)


def _folded(text: str) -> tuple[str, list[int]]:
    """Letters and digits only, case-folded and NFKC-normalised (ligatures split), with each kept
    character's offset in `text`."""
    chars: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch).casefold():
            if c.isalnum():
                chars.append(c)
                where.append(i)
    return "".join(chars), where


def _longest_run(hay: str, needle: str, seed: int) -> tuple[int, int]:
    """The longest [start, end) of `hay` equal to a prefix of `needle` (at least `seed` long; (0, 0) if none)."""
    best = (0, 0)
    at = hay.find(needle[:seed])
    while at >= 0:
        end = at + seed
        while end < len(hay) and end - at < len(needle) and hay[end] == needle[end - at]:
            end += 1
        if end - at > best[1] - best[0]:
            best = (at, end)
        at = hay.find(needle[:seed], at + 1)
    return best


def find_quote(text: str, quote: str) -> tuple[int, int] | None:
    """The [start, end) of `quote` in `text`, ignoring case, spacing, punctuation and hyphenation; when
    the whole quote is absent (it runs onto another page), the longest part of it that opens or closes it."""
    hay, where = _folded(text)
    needle, _ = _folded(quote or "")
    if not needle or not hay:
        return None
    at = hay.find(needle)
    if at >= 0:
        return where[at], where[at + len(needle) - 1] + 1
    if len(needle) <= EDGE_CHARS:
        return None
    head = _longest_run(hay, needle, EDGE_CHARS // 2)  # the quote starts here and goes on overleaf
    back = _longest_run(hay[::-1], needle[::-1], EDGE_CHARS // 2)  # it started on the previous page
    tail = (len(hay) - back[1], len(hay) - back[0])
    start, end = max(head, tail, key=lambda r: r[1] - r[0])
    if end - start < EDGE_CHARS // 2:
        return None
    return where[start], where[end - 1] + 1
