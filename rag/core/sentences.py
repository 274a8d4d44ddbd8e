"""Offline multilingual sentence splitting: character spans, linear time, no downloads.

Chosen by measurement (`benchmarks/sentences.py`, all of COVID-QA and KorQuAD): pysbd, spaCy's
sentencizer, blingfire, syntok, NLTK Punkt (untrained: its data cannot be downloaded), kss and a naive
regex. None covered docqa's needs: pysbd splits at every PDF line wrap (5.5 % of single-sentence COVID-QA
answers cut) and takes ~13 s per 1M characters (super-linear); blingfire is fast and good in English but
never splits "다. 2010년" (89 % recall of clear Korean ends, 11/30 on a hand-judged Korean sample); kss
runs at ~100 characters per second. So this is a small rule-based splitter with no dependency: 0.08 %
single-sentence answers cut, no KorQuAD answer cut, 100 % clear-boundary recall in both languages, 29/30
on the Korean sample, 0.06 s per 1M characters.

How it decides, in two independent linear passes whose boundaries are merged:
1. Terminal punctuation (. ! ? … and CJK 。！？), with closing quotes/brackets and [n] citation markers
   kept on the sentence they end. A period ends a sentence only when the next word does not start in
   lowercase and the word before it is not an abbreviation (titles, "e.g.", "Fig." before a number,
   initials and "U.S." unless a typical sentence starter follows) and not a list number at a line start.
   Without a following space only CJK full stops, Korean ends ("갔다.그래서") and lost spaces
   ("end.The") split, so "3.14", "v2.0", "U.S." and '"안녕."라고' stay whole.
2. Lines: a blank line always ends a sentence; a single newline (a PDF line wrap) does not, unless the
   next line starts a list item or heading, or the line before looks like a heading.
"""

from __future__ import annotations

import re
from itertools import pairwise

from rag.core.text import is_hangul

Span = tuple[int, int]

_CLOSERS = "\"'”’)]}」』》〉»"
_OPENERS = "\"'“‘([{「『《〈«"
# Terminal punctuation, then closers, then [n] / [n, m] / [n-m] citation markers (bounded: no backtracking).
_END = re.compile(r"[.!?…。！？‼⁇]+[" + re.escape(_CLOSERS) + r"]*(?:[ \t]?\[\d{1,4}(?:[,;\-–] ?\d{1,4}){0,8}\])*")
_WS = re.compile(r"\s*")
_LINE = re.compile(r"[^\n]*\n?")
_LIST_ITEM = re.compile(r"(?:[-*•▪●◦‣■□➢–—]\s|\(?(?:\d{1,3}|[a-zA-Z]|[ivxIVX]{1,4})[.)]\s|#{1,6}\s)")
# A numbered heading: "2.1 Methods", "3. Results", "제2장 결과"; not "0.86. The" or "1.5 mg of".
_SECTION = re.compile(
    r"(?:[1-9]\d?(?:\.\d{1,2})+\.?|[1-9]\d?\.|[IVX]{1,4}\.)\s+(?![a-z])\S|제\s?\d{1,3}\s?[장절조항편]"
)
_DOTTED = re.compile(r"(?:[A-Za-z]{1,3}\.)+[A-Za-z]{1,3}")  # U.S, e.g, Ph.D, U.S.A
# A list or section number at a line start ("1.", "2.1.", "a)", "IV."), not a decimal like "0.86".
_NUMBERISH = re.compile(r"\(?(?:\d{1,3}|[1-9]\d?(?:\.\d{1,2})+|[a-zA-Z]|[ivxIVX]{1,4})\)?")
# Inline enumeration after a sentence end: "... is 0.5. b) There ...".
_ENUM = re.compile(r"\(?(?:[a-z]|[ivx]{1,4})\)\s")
# Superscript-style citation numbers after a sentence end ("fever. 5, 19, 20 Fever and ..."): they
# belong to the sentence they follow.
_CITE_NUMS = re.compile(r"\d{1,3}(?:[,–-] ?\d{1,3}){0,20}[ \t]+(?=[A-Z])")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+\b")


def _words(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Never end a sentence (a name or a clause follows).
_ALWAYS = _words(
    "mr mrs ms mx dr prof sr jr st mt gen col capt lt sgt rev hon gov sen rep pres messrs mme mlle "
    "e.g i.e eg ie cf viz vs resp esp incl"
)
# Not a sentence end before a number or a bracket: "Fig. 3", "pp. 12", "no. MN975262", "approx. 5 mL".
_BEFORE_NUMBER = _words(
    "fig figs eq eqs no nos vol vols p pp ch chap sec secs tab tabs ref refs art approx ca ed eds ver op par para suppl"
)
# Ambiguous: initials ("J. Smith"), "U.S.", "et al.": an end only when a typical sentence starter follows.
_STARTERS = _words(
    "the this that these those it its in on at for from we they he she our their a an however but and "
    "thus therefore moreover furthermore also as to if when while there here then finally although after "
    "because since such some many most all each one both i during despite with by similarly overall "
    "notably importantly "
    # Korean text keeps Latin initials in names ("존 F. 케네디"), so only clear sentence openers count.
    "그리고 그러나 하지만 또한 그래서 따라서 이후 이는 이에 그는 그녀는 이것은 한편 특히 즉"
)
_TERMINAL_CHARS = ".!?…。！？‼⁇:;" + _CLOSERS


def _word_before(text: str, i: int) -> tuple[str, int]:
    """The token ending at i (bounded look-back: linear time), without leading openers, and its start."""
    j = i
    while j > 0 and i - j < 40 and not text[j - 1].isspace():
        j -= 1
    while j < i and text[j] in _OPENERS:
        j += 1
    return text[j:i], j


def _word_after(text: str, k: int) -> str:
    j = k
    while j < len(text) and j - k < 40 and not text[j].isspace():
        j += 1
    return text[k:j]


def _at_line_start(text: str, j: int) -> bool:
    while j > 0 and text[j - 1] in " \t":
        j -= 1
    return j == 0 or text[j - 1] == "\n"


def _period_ends(text: str, start: int, nxt: int) -> bool:
    """Does the single '.' at `start`, followed by whitespace and the word at `nxt`, end a sentence?"""
    word, wstart = _word_before(text, start)
    low = word.lower()
    following = _word_after(text, nxt)
    if low in _ALWAYS:
        return False
    if low in _BEFORE_NUMBER and (following[:1] in "([" or any(c.isdigit() for c in following)):
        return False
    if _NUMBERISH.fullmatch(word) and _at_line_start(text, wstart):
        return False  # "1. First item", "a) ...": a list marker, not a sentence
    ambiguous = (
        low == "al" or (len(word) == 1 and word.isascii() and word.isalpha()) or _DOTTED.fullmatch(word) is not None
    )
    if ambiguous:
        head = following.rstrip(",;:").lower()
        return head in _STARTERS and not (len(following) == 2 and following[1] == ".")
    return True


def _punctuation_starts(text: str) -> list[int]:
    starts: list[int] = []
    n = len(text)
    for m in _END.finditer(text):
        start, end = m.span()
        k = _WS.match(text, end).end()
        if k >= n:
            continue
        nxt = text[k]
        punct = text[start : start + 1]
        if k == end:  # no space after: CJK full stops, Korean "갔다.그래서", lost spaces "end.The"
            closed = text[end - 1] in _CLOSERS
            prev = text[start - 1] if start else ""
            if punct in "。！？" or (
                not closed
                and (
                    (punct in ".?!" and is_hangul(prev) and (is_hangul(nxt) or nxt in _OPENERS))
                    or (
                        m.group() == "."
                        and prev.islower()
                        and text[start - 2 : start - 1].islower()
                        and nxt.isupper()
                        and text[k + 1 : k + 2].islower()
                    )
                )
            ):
                starts.append(k)
            continue
        if nxt.islower() and not _ENUM.match(text, k):
            continue
        if not (nxt.isalnum() or nxt in _OPENERS or _LIST_ITEM.match(text, k)):
            continue
        run = text[start:end].rstrip(_CLOSERS + " \t[]0123456789,;-–")
        if run == "." and not _period_ends(text, start, k):
            continue
        cite = _CITE_NUMS.match(text, k) if nxt.isdigit() and not is_hangul(text[start - 1 : start]) else None
        if cite and _THOUSANDS.match(cite.group()):
            cite = None  # "4,500,000 Hz" is a number, not citations
        starts.append(cite.end() if cite else k)
    return starts


def _is_section(line: str) -> bool:
    """A numbered heading: "2.1 Methods", "1. 서론", "제3장 결과" (short, no sentence punctuation)."""
    return _SECTION.match(line) is not None and len(line.split()) <= 10 and line[-1] not in ".!?…。！？:;,"


def _looks_like_heading(line: str, starts_sentence: bool, following: str) -> bool:
    """Markdown, numbered or all-caps headings anywhere; a short title-like line at a sentence start.

    A short line counts only in Title Case, at most three words, or under half the length of the
    line after it: two-column PDFs wrap lines of five or six words, and "In this study we used" before
    "Vero cells for culture" must stay one sentence, while "Putting it all together" before a full
    paragraph line is a heading.
    """
    if line.startswith("#") or _is_section(line):
        return len(line) <= 80 and line.count("(") <= line.count(")")
    if len(line) > 80 or line[-1] in _TERMINAL_CHARS + ",-–—(" or line.count("(") > line.count(")"):
        return False
    letters = [c for c in line if c.isalpha()]
    if line.isascii() and len(letters) >= 2 and all(c.isupper() for c in letters):
        return True  # "ABSTRACT", "METHODS AND RESULTS"
    words = line.split()
    if not starts_sentence or len(words) > 8 or "," in line or not (line[0].isupper() or line[0].isdigit()):
        return False
    capitalised = sum(1 for w in words if w[0].isupper() or w[0].isdigit())
    return len(words) <= 3 or 2 * capitalised >= len(words) or 2 * len(line) <= len(following)


def _line_starts(text: str) -> list[int]:
    """Sentence starts from the line structure: blank lines, list items, headings."""
    starts: list[int] = []
    prev: str | None = None  # stripped previous line in this paragraph (None after a blank line)
    prev_starts_sentence = True
    for m in _LINE.finditer(text):
        raw = m.group()
        if not raw:
            break
        line = raw.strip()
        if not line:
            prev = None
            continue
        offset = m.start() + len(raw) - len(raw.lstrip())
        if prev is None:
            starts.append(offset)  # first line of a paragraph
            starts_sentence = True
        else:
            boundary = (
                _LIST_ITEM.match(line) is not None
                or _is_section(line)
                or (not line[0].islower() and _looks_like_heading(prev, prev_starts_sentence, line))
            )
            if boundary:
                starts.append(offset)
            starts_sentence = boundary or prev[-1] in ".!?…。！？:" or prev[-1] in _CLOSERS
        prev, prev_starts_sentence = line, starts_sentence
    return starts


def split_sentences(text: str) -> list[Span]:
    """Sentence spans [start, end) in order, stripped, non-overlapping, covering all non-space text."""
    bounds = sorted({0, *_punctuation_starts(text), *_line_starts(text), len(text)})
    spans: list[Span] = []
    for a, b in pairwise(bounds):
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            spans.append((a, b))
    return spans


class RuleSentenceSplitter:
    """Callable object form of `split_sentences` (fits `ingest.chunkers.SentenceSplitter`)."""

    def __call__(self, text: str) -> list[Span]:
        return split_sentences(text)

    def sentences(self, text: str) -> list[str]:
        return [text[a:b] for a, b in split_sentences(text)]
