"""PDFium (pypdfium2): the PDF loader's page text, and the check that decides when pypdf reads a page again.

PDFium reads a page in ~7 ms where pypdf takes ~60-100 (long_en, 872 pages: 2.2 s against 49 s), and keeps
the spaces between words that pypdf drops on some LaTeX PDFs ("Thestrangehistoryofthisbook": 69 pages of
Think Python; pypdf's layout mode still glued 63 of them and lost characters). A page whose PDFium text
still has run-together words or glued footnote digits is read by pypdf too, and pypdf's text replaces it
only when it scores better and keeps at least `KEEP_SHARE` of the page's letters and digits, so no page
loses text. TABs are no trigger: they become spaces (pdf_text.py).

PDFium marks a hyphen at a line end with U+0002 and drops the line break; it becomes "-\\n" again, the way
pypdf reports it (ingest/loaders/pdf.py says why line-break hyphens are not joined).
"""

from __future__ import annotations

import re
from collections import Counter

from ingest import quality
from ingest.loaders.pdf_text import normalize_pdf_text

KEEP_SHARE = 0.97  # the second text must keep this share of the first one's letters and digits
STRAY_DIGITS_MIN = 3  # words with a glued footnote digit ("model1 ") on a page before a second look
# A lower-case word with one or two digits glued on: a superscript footnote mark read inline. Identifiers
# (utf8, x86, python3) match too, which only costs a second extraction that then is not chosen.
_STRAY_DIGIT = re.compile(r"\b[a-z]{3,}\d{1,2}(?=[\s.,;:)]|$)")


def needs_second(text: str) -> bool:
    """Whether a page's text deserves a second extraction by the other reader (cheap checks on text already
    in hand): one run-together word is enough (the page warning needs two, or 1 % of the words), or a few
    glued digits."""
    return bool(quality.run_together_words(text.split())) or len(_STRAY_DIGIT.findall(text)) >= STRAY_DIGITS_MIN


def open_document(data: bytes):
    """The PDFium document over the file's bytes (imported here: only files with a flagged page pay)."""
    import pypdfium2 as pdfium

    return pdfium.PdfDocument(data)


def page_text(document, index: int) -> str:
    page = document[index]
    try:
        textpage = page.get_textpage()
        try:
            raw = textpage.get_text_bounded()
        finally:
            textpage.close()
    finally:
        page.close()
    return normalize_pdf_text(raw.replace("\x02", "-\n"))


def _score(text: str) -> int:
    """Lower is better: run-together words weigh most, then glued digits."""
    return 10 * len(quality.run_together_words(text.split())) + len(_STRAY_DIGIT.findall(text))


def _alnum(text: str) -> Counter:
    return Counter(c for c in text if c.isalnum())


def choose(first: str, second: str) -> bool:
    """True when `second` (the other reader's text) reads better than `first` and keeps (nearly) all of its
    characters."""
    if not second.strip() or _score(second) >= _score(first):
        return False
    have = _alnum(first)
    total = sum(have.values())
    return not total or sum((have & _alnum(second)).values()) >= KEEP_SHARE * total
