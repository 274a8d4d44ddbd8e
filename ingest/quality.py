"""Cheap text-quality checks for loaded pages, and their compact document-level summary.

Every check is a handful of regular-expression passes over one page's text, so they cost nothing next
to PDF text extraction. A check never changes text; it only reports an `Issue`. Issues become page
warnings ("page 5: words run together (missing spaces?), e.g. 'Thestrangehistoryofthisbook'") and,
merged over consecutive pages, document warnings ("pages 3–5: no text layer (scanned?)").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Issue kinds: the document-level label, shared by every page that has the issue.
NO_TEXT_LAYER = "no text layer (scanned?)"
EMPTY_PAGE = "empty page (no text)"
LITTLE_TEXT = "almost no text, mostly images (scanned?)"
GARBLED_CID = "garbled text (unmapped font glyphs '(cid:N)')"
GARBLED_REPLACEMENT = "garbled text (undecodable characters '\ufffd')"
GARBLED_SYMBOLS = "garbled text (few letters or digits)"
MISSING_SPACES = "words run together (missing spaces?)"
EXTRACTION_FAILED = "text extraction failed"
OCR = "OCR"  # not a problem but a fact users must see: the text was read from the page image
OCR_FAILED = "OCR failed"
OCR_NO_TEXT = "image only (OCR found no text)"

LITTLE_TEXT_CHARS = 20  # non-space characters below which an image page counts as "almost no text"
LONG_WORD_LETTERS = 26  # a run of this many letters is not a word in an alphabetic script
MISSING_SPACES_MIN_WORDS = 2  # flag a page with this many run-together words ...
MISSING_SPACES_SHARE = 0.01  # ... or with this share of its tokens run together (pages of 20+ tokens)
SYMBOLS_MIN_CHARS = 80  # the letter-ratio check needs at least this much text
SYMBOLS_MAX_RATIO = 0.4  # letters + digits below this share of non-space characters -> garbled
CID_MIN = 3
REPLACEMENT_MIN = 3

_CID = re.compile(r"\(cid:\d+\)")
# Dot leaders and rules ("Chapter 1 ........ 5", "-----") are layout, not garbage.
_LEADERS = re.compile(r"([.·…_\-=*~])\1{2,}|(?:\. ){3,}")
# URLs, paths, e-mail, code and formulas legitimately hold long letter runs.
_CODEISH = re.compile(r"://|www\.|[/\\_@()\[\]{}=<>|#$%^*+~`]")
# Letter runs in scripts that separate words with spaces (Latin, Greek, Cyrillic); CJK text has no
# spaces by design and Hangul runs are short, so neither is checked.
_LONG_RUN = re.compile(rf"[A-Za-zÀ-ɏͰ-ϿЀ-ӿ'’]{{{LONG_WORD_LETTERS},}}")


@dataclass(frozen=True)
class Issue:
    kind: str  # one of the kinds above: the label used when pages are merged
    detail: str = ""  # page-level extra, e.g. an example of a run-together word

    def message(self) -> str:
        if self.kind == OCR:
            return f"OCR ({self.detail})"  # 'OCR (confidence 91%)'
        return f"{self.kind}, {self.detail}" if self.detail else self.kind


def ocr_issue(confidence: float) -> Issue:
    return Issue(OCR, f"confidence {confidence:.0%}")


def check_text(text: str) -> list[Issue]:
    """Issues of one page (or one text file) that has some text. Empty pages are judged by the caller."""
    issues: list[Issue] = []
    cids = len(_CID.findall(text)) if "(cid:" in text else 0
    if cids >= CID_MIN:
        issues.append(Issue(GARBLED_CID, f"{cids} glyph codes"))
    bad = text.count("\ufffd")
    if bad >= REPLACEMENT_MIN or (bad and bad >= len(text) * 0.01):
        issues.append(Issue(GARBLED_REPLACEMENT, f"{bad} characters"))
    body = _LEADERS.sub("", text) if any(c * 3 in text for c in ".·…_-=*~") or ". . ." in text else text
    non_space = len(body) - sum(body.count(c) for c in " \n\t\r\f\v")
    if non_space >= SYMBOLS_MIN_CHARS:
        good = sum(1 for c in body if c.isalnum())
        if good < non_space * SYMBOLS_MAX_RATIO:
            issues.append(Issue(GARBLED_SYMBOLS, f"{good / non_space:.0%} letters or digits"))
    tokens = text.split()
    long_words = run_together_words(tokens)
    if long_words and (
        len(long_words) >= MISSING_SPACES_MIN_WORDS
        or (len(tokens) >= 20 and len(long_words) >= len(tokens) * MISSING_SPACES_SHARE)
    ):
        example = long_words[0] if len(long_words[0]) <= 40 else long_words[0][:40] + "…"
        issues.append(Issue(MISSING_SPACES, f"e.g. '{example}'"))
    return issues


def run_together_words(tokens: Iterable[str]) -> list[str]:
    """The tokens that are letter runs too long to be one word of a spaced script (not URLs or code)."""
    return [t for t in tokens if len(t) >= LONG_WORD_LETTERS and _LONG_RUN.search(t) and not _CODEISH.search(t)]


def check_empty_page(has_images: bool) -> Issue:
    return Issue(NO_TEXT_LAYER if has_images else EMPTY_PAGE)


def page_label(number: int | None) -> str:
    return "" if number is None else f"page {number}: "


def page_warnings(number: int | None, issues: Iterable[Issue]) -> tuple[str, ...]:
    """Page-level warning strings: 'page 3: no text layer (scanned?)' (no prefix for text files)."""
    return tuple(page_label(number) + issue.message() for issue in issues)


def _ranges(numbers: Sequence[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for n in sorted(set(numbers)):
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def format_pages(numbers: Sequence[int], max_ranges: int = 8) -> str:
    """[3, 4, 5, 9] -> 'pages 3–5, 9'; long lists are cut: 'pages 5, 22, 27, … (37 pages)'."""
    ranges = _ranges(numbers)
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return f"page {ranges[0][0]}"
    parts = [str(a) if a == b else f"{a}–{b}" for a, b in ranges[:max_ranges]]
    text = "pages " + ", ".join(parts)
    if len(ranges) > max_ranges:
        text += f", … ({len(set(numbers))} pages)"
    return text


def summarize(page_issues: Iterable[tuple[int | None, Sequence[Issue]]]) -> list[str]:
    """One document warning per issue kind, naming the pages that have it, merged into ranges; OCR'd pages
    also give their range of confidences ('pages 1–3: OCR (confidence 85–93%)')."""
    by_kind: dict[str, list[tuple[int | None, str]]] = {}
    for number, issues in page_issues:
        for issue in issues:
            by_kind.setdefault(issue.kind, []).append((number, issue.detail))
    out = []
    for kind, found in by_kind.items():
        pages = [n for n, _ in found if n is not None]
        label = kind
        if kind == OCR:
            values = sorted({int(m.group()) for _, d in found if (m := re.search(r"\d+", d))})
            span = f"{values[0]}%" if len(values) == 1 else f"{values[0]}–{values[-1]}%"
            label = f"OCR (confidence {span})" if values else kind
        out.append(f"{format_pages(pages)}: {label}" if pages else label)
    return out
