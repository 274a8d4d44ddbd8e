"""PDFium reads PDF text, pypdf opens the file and reads again a page PDFium reads badly: Think Python (69
flagged pages with pypdf alone) reads normally, no page loses text, and a file or page PDFium refuses is
read by pypdf."""

from __future__ import annotations

from collections import Counter

import pypdf
import pytest

from ingest import quality
from ingest.loaders import load_with_pages, normalize_pdf_text, pdf_pdfium
from tests.conftest import SAMPLES, shared


def alnum(text: str) -> Counter:
    return Counter(c for c in text if c.isalnum())


@pytest.mark.slow
def test_think_python_reads_with_spaces_and_keeps_every_page_text():
    path = shared("pdf", "long_en", "thinkpython2.pdf")
    first = [normalize_pdf_text(p.extract_text() or "") for p in pypdf.PdfReader(path).pages]
    flagged_before = sum(
        any(i.kind == quality.MISSING_SPACES for i in quality.check_text(t)) for t in first if t.strip()
    )
    assert flagged_before >= 60  # the problem is still there in pypdf: this test measures the fix
    doc, pages = load_with_pages(path)
    flagged = [p.number for p in pages if any(quality.MISSING_SPACES in w for w in p.warnings)]
    assert len(flagged) < 5, flagged
    assert not any(quality.MISSING_SPACES in w for w in doc.warnings)
    assert "The strange history of this book" in doc.text
    for before, page in zip(first, pages, strict=True):
        have = alnum(before)
        kept = sum((have & alnum(page.text)).values())
        assert kept >= 0.97 * sum(have.values()), page.number
    assert "math-\nematicians" in doc.text  # PDFium's line-end hyphen comes back as pypdf writes it


def test_pypdf_reads_what_pdfium_refuses_and_gives_the_same_text(monkeypatch):
    path = shared("pdf", "long_en", "google_prompt_engineering_whitepaper_2024.pdf")
    fast, _ = load_with_pages(path)

    def refuse(data):
        raise RuntimeError("PDFium cannot open this file")

    monkeypatch.setattr(pdf_pdfium, "open_document", refuse)
    slow, pages = load_with_pages(path)
    assert len(pages) == 60 and "\t" not in slow.text and "Reducing the output length of the LLM" in slow.text
    assert "\t" not in fast.text and "Reducing the output length of the LLM" in fast.text
    have, got = alnum(slow.text), alnum(fast.text)
    assert sum((have & got).values()) >= 0.99 * sum(have.values())  # the two readers agree on the characters


def test_a_page_pdfium_fails_on_is_read_by_pypdf(monkeypatch):
    real = pdf_pdfium.page_text

    def flaky(document, index):
        if index == 1:
            raise RuntimeError("PDFium failed on this page")
        return real(document, index)

    monkeypatch.setattr(pdf_pdfium, "page_text", flaky)
    _, pages = load_with_pages(SAMPLES / "heat_pumps.pdf")
    assert len(pages) == 3 and all(p.text.strip() for p in pages)
    assert not any("failed" in w for p in pages for w in p.warnings)


def test_the_second_text_is_chosen_only_when_better_and_complete():
    glued = "Thestrangehistoryofthisbookbeginsinjanuary and more words follow here"
    spaced = "The strange history of this book begins in january and more words follow here"
    assert pdf_pdfium.needs_second(glued) and not pdf_pdfium.needs_second(spaced)
    assert pdf_pdfium.choose(glued, spaced)
    assert not pdf_pdfium.choose(spaced, glued)
    assert not pdf_pdfium.choose(glued, "The strange history")  # better, but text would be lost
    assert not pdf_pdfium.choose(glued, "")
