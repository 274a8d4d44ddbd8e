"""PDF pages as images with the quote highlighted, rendered by PDFium (pypdfium2, already the
PDF text reader in ingest/loaders/pdf_pdfium.py: no new dependency).

The quote's position comes from the page's own text layer: `find_quote` locates it in PDFium's text of
the page (case, spacing and hyphenation ignored), and PDFium's text rectangles for those characters give
the boxes, as fractions of the page so the browser can scale the image freely.
"""

from __future__ import annotations

import io
from pathlib import Path

from rag.core.pageview import Box, RenderedPage, find_quote

DEFAULT_SCALE = 1.6  # 115 dpi: sharp on a laptop, ~150 KB per page as PNG
MAX_SIDE_PX = 2000  # a poster-sized page is scaled down to this


class PdfiumPageRenderer:
    """The PageRenderer protocol over pypdfium2."""

    name = "pdfium"

    def __init__(self, scale: float = DEFAULT_SCALE) -> None:
        self.scale = scale

    def render(self, path: str, page: int, quote: str = "") -> RenderedPage:
        import pypdfium2 as pdfium  # imported on the first page view, never at start-up

        try:
            document = pdfium.PdfDocument(Path(path).read_bytes())
        except pdfium.PdfiumError as exc:
            raise OSError(f"PDFium cannot open {Path(path).name}: {exc}") from None
        try:
            count = len(document)
            if not 1 <= page <= count:
                raise ValueError(f"page {page} is out of range (the document has {count} pages)")
            pdf_page = document[page - 1]
            try:
                boxes = _quote_boxes(pdf_page, quote) if quote else []
                width, height = pdf_page.get_size()
                scale = min(self.scale, MAX_SIDE_PX / max(width, height, 1.0))
                bitmap = pdf_page.render(scale=scale)
                image = bitmap.to_pil()
                buffer = io.BytesIO()
                image.save(buffer, format="PNG", optimize=True)
                return RenderedPage(buffer.getvalue(), image.width, image.height, page, count, boxes)
            finally:
                pdf_page.close()
        finally:
            document.close()


def _quote_boxes(pdf_page, quote: str) -> list[Box]:
    textpage = pdf_page.get_textpage()
    try:
        text = textpage.get_text_range()
        found = find_quote(text.replace("\x02", "-"), quote)
        if found is None:
            return []
        start, end = found
        left0, bottom0, right0, top0 = pdf_page.get_cropbox()
        width, height = right0 - left0, top0 - bottom0
        rotation = pdf_page.get_rotation()
        boxes: list[Box] = []
        for i in range(textpage.count_rects(start, end - start)):
            left, bottom, right, top = textpage.get_rect(i)
            box = ((left - left0) / width, (top0 - top) / height, (right - left) / width, (top - bottom) / height)
            boxes.append(_rotate(box, rotation))
        return [b for b in boxes if b[2] > 0 and b[3] > 0]
    finally:
        textpage.close()


def _rotate(box: Box, rotation: int) -> Box:
    """Boxes in the unrotated page's frame, turned with the page as PDFium renders it."""
    x, y, w, h = box
    if rotation == 90:
        return (1 - y - h, x, h, w)
    if rotation == 180:
        return (1 - x - w, 1 - y - h, w, h)
    if rotation == 270:
        return (y, 1 - x - w, h, w)
    return box
