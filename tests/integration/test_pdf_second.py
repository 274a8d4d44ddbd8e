"""The PDFium second reading of PDF pages whose words run together: Think Python (69 flagged pages with
pypdf alone) reads normally, no page loses text, and PDFs without such pages never open PDFium."""

from __future__ import annotations

from collections import Counter

import pypdf
import pytest

from ingest import quality
from ingest.loaders import load_with_pages, normalize_pdf_text, pdf_second
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


def test_pdfs_without_flagged_pages_never_open_pdfium(monkeypatch):
    def refuse(data):
        raise AssertionError("PDFium was opened for a PDF without flagged pages")

    monkeypatch.setattr(pdf_second, "open_document", refuse)
    doc, pages = load_with_pages(SAMPLES / "heat_pumps.pdf")
    assert len(pages) == 3 and "heat pump" in doc.text.lower()
    doc, _ = load_with_pages(shared("pdf", "long_en", "google_prompt_engineering_whitepaper_2024.pdf"))
    assert "\t" not in doc.text and "Reducing the output length of the LLM" in doc.text


def test_the_second_text_is_chosen_only_when_better_and_complete():
    glued = "Thestrangehistoryofthisbookbeginsinjanuary and more words follow here"
    spaced = "The strange history of this book begins in january and more words follow here"
    assert pdf_second.needs_second(glued) and not pdf_second.needs_second(spaced)
    assert pdf_second.choose(glued, spaced)
    assert not pdf_second.choose(spaced, glued)
    assert not pdf_second.choose(glued, "The strange history")  # better, but text would be lost
    assert not pdf_second.choose(glued, "")
