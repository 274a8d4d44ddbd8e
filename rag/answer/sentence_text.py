"""Source sentences fit to quote: display clean-up of PDF text, and whether a span is a real sentence.

PDF text carries layout: tabs, words hyphenated at a line end ("infor-\\nmation"), footnote numbers glued
to words ("Step-back8 prompting", "(CoT) 9 prompting", "(ToT).12 It"), the document's own reference
markers ("[10]", which our citation parser would read as a source number), running headers, page numbers,
headings and figure or table captions that the sentence splitter glues to the next sentence because no
period ends them. The extractive composer quotes sentences, so it strips those lead-in lines, skips spans
that are not sentences (captions, headings, list numbers, table rows, fragments without a verb) and shows
the cleaned text. The offsets of the kept span stay exact, so citations still point into the source.
"""

from __future__ import annotations

import re

from rag.core.text import has_cjk, is_hangul


def _split(words: str) -> list[str]:
    return words.split()


_WS = re.compile(r"\s+")
_HYPHENATED = re.compile(r"\b([a-z]{2,})-\s*\n\s*([a-z]{2,})\b|\b([a-z]{2,})- ([a-z]{3,})\b")
_NOT_JOINED = frozenset(_split("and or nor to but than as"))
_DOC_REFS = re.compile(r"\s?\[\d{1,3}(?:\s*[,–-]\s*\d{1,3})*\](?:\d{1,3}\b)?")  # the document's own "[10]13"
_GLUED_FOOTNOTE = re.compile(r"(?<=[a-z]{3})\d{1,2}(?=\s+[a-z]|[,.;:]\s)")  # Step-back8 prompting, chatbot,1
_AFTER_COMMA_FOOTNOTE = re.compile(r"(?<=[a-z]),\d{1,2}(?=\s)")  # "chatbot,1 you"
_PAREN_FOOTNOTE = re.compile(r"(?<=\)) \d{1,2}(?= [a-z])")  # "(CoT) 9 prompting"
_END_FOOTNOTE = re.compile(r"(?<=[A-Za-z)][.!?])\d{1,3}(?:[,–-]\d{1,3})*(?=\s|$)")  # "(ToT).12 It"
_TRAILING_CITES = re.compile(r"([.!?])\s+\d{1,3}(?:\s*[,–-]\s*\d{1,3})*\s*$")  # "fever. 5, 19, 20"
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?)])(?=\s|$)")


def clean_display(text: str) -> str:
    """Text as a reader should see it: one line, layout artefacts removed, words rejoined."""
    text = _HYPHENATED.sub(_join_hyphen, text)
    text = _DOC_REFS.sub("", text)
    text = _AFTER_COMMA_FOOTNOTE.sub(",", text)
    text = _GLUED_FOOTNOTE.sub("", text)
    text = _PAREN_FOOTNOTE.sub("", text)
    text = _END_FOOTNOTE.sub("", text)
    text = _TRAILING_CITES.sub(r"\1", text)
    text = _WS.sub(" ", text).strip()
    return _SPACE_BEFORE_PUNCT.sub(r"\1", text)


def _join_hyphen(m: re.Match) -> str:
    left, right = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    if right in _NOT_JOINED:
        return m.group(0)
    return left + right


# --- lead-in lines -----------------------------------------------------------------------------------
_TERMINAL = ".!?。！？:;"
_CAPTION = re.compile(
    r"^\s*(?:(?:figure|fig\.|table|tab\.|chart|listing|exhibit|scheme|plate|box|appendix|algorithm|"
    r"그림|표|도표)\s*[0-9IVX]+[a-z]?\b[.:]?|(?:an?|the)\s+(?:example|visualization|visualisation|illustration|"
    r"overview|diagram|screenshot|schematic|sketch|template|snapshot)\s+of\b)",
    re.IGNORECASE,
)
_HEADING_MARK = re.compile(r"^\s*(?:#{1,6}\s|\d{1,2}(?:\.\d{1,2})*\.?\s+[A-Z]|[IVX]{1,4}\.\s)")
_BULLET = re.compile(r"^\s*(?:[-*•▪●◦‣■□➢–—]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)])\s+")
_AUX = frozenset(
    _split("""is are was were be been being am has have had do does did can could will would shall should may might
    must isn't aren't wasn't weren't don't doesn't didn't can't won't""")
)
_VERBS = frozenset(
    _split("""use make help allow provide include show give take get let see find need want work mean refer describe
    define contain consist require lead cause generate produce improve reduce increase decrease combine select
    control determine create return explain try start become seem appear depend follow remain occur result
    affect suggest indicate report found know think say tell ask call keep set put run move turn change
    develop lack reach raise report represent offer apply enable ensure prevent encourage predict perform
    measure compare differ vary exist live die spread infect bind enter cross carry encode express replicate
    trigger induce inhibit block act serve play hold form build add remove limit focus""")
)
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")


def verbish(text: str) -> bool:
    """Does the text look like it holds a finite verb? (English closed lists and -ed forms; Korean
    predicate endings; other scripts: yes.)"""
    if has_cjk(text):
        return re.search(r"(?:다|요|까|죠|니다|음|함|됨|임)[.!?。]?\s*(?:\"|'|”|’|\))?\s*$", text) is not None or bool(
            re.search(r"(?:이다|한다|된다|있다|없다|했다|였다|었다|았다)\b", text)
        )
    for raw in _LATIN_WORD.findall(text):
        w = raw.lower().strip("'’-")
        if w in _AUX:
            return True
        base = re.sub(r"(?:ied|ies)$", "y", w)
        base = re.sub(r"(?:es|s|ed|d)$", "", base) if base == w else base
        if w in _VERBS or base in _VERBS or (w + "e") in _VERBS or (len(w) >= 5 and w.endswith("ed")):
            return True
    # a script these lists do not cover (not digits or punctuation alone)
    return any(ch.isalpha() for ch in text) and not any(ch.isascii() and ch.isalpha() for ch in text)


def _is_lead_in(line: str, next_line: str) -> bool:
    """A line the splitter glued in front of a sentence: a heading, running header, page number or caption
    (short, no sentence end, and the next line starts a new capitalised text)."""
    stripped = line.strip()
    if not stripped:
        return True
    if _HEADING_MARK.match(stripped) and not stripped.endswith("."):
        return True
    head = next_line.lstrip()[:1]
    if not (head.isupper() or head.isdigit() or head in "\"“('‘•-*#" or is_hangul(head)):
        return False
    if stripped[-1] in _TERMINAL:
        return False
    if _CAPTION.match(stripped):
        return True
    return len(stripped.split()) <= 12 and not verbish(stripped)


def trim_lead_in(text: str, start: int, end: int) -> int:
    """New start of the span text[start:end] past its lead-in lines (headers, headings, captions)."""
    while True:
        nl = text.find("\n", start, end)
        if nl < 0:
            return start
        rest = text[nl + 1 : end]
        if not rest.strip() or not _is_lead_in(text[start:nl], rest):
            return start
        start = nl + 1
        while start < end and text[start].isspace():
            start += 1


# --- real sentences ----------------------------------------------------------------------------------
_LIST_NUMBER = re.compile(r"^\s*\(?(?:\d{1,3}|[a-zA-Z]|[ivxIVX]{1,4})[.)]?\s*$")


def is_table_like(raw: str) -> bool:
    """Rows of a table or a code block: several short lines (PDF prose wraps at ~70-100 characters)."""
    lines = [line for line in raw.splitlines() if line.strip()]
    if len(lines) < 3:
        return False
    return sum(len(line) for line in lines) / len(lines) < 40


def is_sentence(display: str, raw: str = "", truncated: bool = False) -> bool:
    """A span worth quoting: not a caption, heading, list number, table row or a fragment without a verb."""
    text = display.strip()
    if not text or _LIST_NUMBER.match(text) or not any(ch.isalpha() for ch in text):
        return False
    if _CAPTION.match(text) or (raw and is_table_like(raw)):
        return False
    body = _BULLET.sub("", text)
    if has_cjk(body):
        return len(body) >= 12 and (verbish(body) or body[-1] in ".!?。") and not truncated
    n_words = len(body.split())
    if n_words < 4 or not verbish(body):
        return False
    ends = body[-1] in '.!?。"”’)' or body.endswith(":")
    return (ends or n_words >= 6) and not (truncated and not ends)
