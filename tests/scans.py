"""Scanned PDFs made from text PDFs, for the OCR tests and the OCR benchmark: each page rendered by PDFium
and written back as a page that is one greyscale image (no text layer), as a scanner would."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path


def scanned_pdf(source: str | Path, pages: Sequence[int] | None = None, *, dpi: int = 200) -> bytes:
    """An image-only PDF of the 1-based `pages` of `source` (all by default) at `dpi`."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(source))
    numbers = list(pages) if pages is not None else list(range(1, len(document) + 1))
    images = [document[n - 1].render(scale=dpi / 72, grayscale=True).to_pil().convert("L") for n in numbers]
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return out.getvalue()


def mixed_pdf(text_pdf: str | Path, text_page: int, scanned: bytes) -> bytes:
    """A PDF whose first page has a text layer (page `text_page` of `text_pdf`) and whose other pages are
    the image-only pages of `scanned`."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.add_page(PdfReader(str(text_pdf)).pages[text_page - 1])
    for page in PdfReader(io.BytesIO(scanned)).pages:
        writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
