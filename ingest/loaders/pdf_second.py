"""A second text extraction, with PDFium (pypdfium2), for the PDF pages pypdf reads badly.

pypdf drops the spaces between words on some LaTeX PDFs ("Thestrangehistoryofthisbook": 69 pages of
Think Python) and writes TABs between words on others; BM25 cannot find a glued word by its parts. Measured
on ../shared/data/pdf/long_en (README, "Formats and OCR"): pypdf's layout mode still glued 63 of those 69
pages and lost characters, while PDFium's text extraction glued none and kept every character, at ~7 ms a
page (pypdf takes ~100). pypdf stays the first reader (its repairs, limits and error reasons are the
ones users know); PDFium reads again only a page that the quality check flags (words run together), that
has stray footnote digits glued to words, and its text replaces pypdf's only when it scores better and
keeps at least `KEEP_SHARE` of the page's letters and digits, so no page loses text. TABs are no trigger:
the whitepaper's 58 TAB pages read the same words in PDFium once TABs become spaces (pdf_text.py does),
so reading them again cost 8 % of that file's time and changed no page.

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
    """Whether a page's first text deserves a second extraction (cheap checks on text already in hand): one
    run-together word is enough (the page warning needs two, or 1 % of the words), or a few glued digits."""
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
    """True when `second` reads better than `first` and keeps (nearly) all of its characters."""
    if not second.strip() or _score(second) >= _score(first):
        return False
    have = _alnum(first)
    total = sum(have.values())
    return not total or sum((have & _alnum(second)).values()) >= KEEP_SHARE * total
