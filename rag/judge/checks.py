"""Checks every judge applies without a model: claims, refusals, numbers and names, and the score.

Why these exist: embedding similarity barely sees "1961" vs "1962", and an LLM judge that reads a
claim next to its source tends to forgive (or silently correct) a wrong number or name. Such errors are
the ones users are hurt by most, and they can be checked exactly: every number, date, amount,
percentage and capitalised name in a claim must occur in the source the claim cites. A claim that fails
gets a readable flag ("number 1962 not in source [1]") and never counts as supported, whatever a judge
said. The checks are deliberately one-sided: they can only take support away, never grant it.

Scoring lives here too, so both judges compute score and band the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rag.answer.citations import parse_markers
from rag.answer.extractive import is_language_note
from rag.answer.prompts import is_refusal
from rag.core.text import drop_apostrophes, fold
from rag.core.types import ClaimVerdict, Faithfulness, Source

# Bands users see next to the score; supported share at or above the bound.
HIGH_BAND = 0.8
MEDIUM_BAND = 0.5

SUPPORTED = "supported"
NOT_SUPPORTED = "not_supported"
CONTRADICTED = "contradicted"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, CONTRADICTED)

REFUSAL_NOTE = "refusal: the answer declines to answer, so it asserts nothing to check"
NO_CLAIMS_NOTE = "refusal: the answer makes no checkable claim"

# Refusal sentences assert nothing about the documents, so they are not claims (English and Korean).
_REFUSAL_RE = re.compile(
    r"\b(?:the\s+)?(?:documents?|sources?|context|passages?|texts?)\s+(?:do|does|did)\s*(?:not|n't)\s+"
    r"(?:say|state|mention|contain|include|specify|provide|give|cover)"
    r"|\bnot\s+(?:mentioned|stated|specified|given|provided|found)\s+in\s+the\s+(?:documents?|sources?|context)"
    r"|\b(?:i|we)\s+(?:cannot|can't|can\s+not|am\s+unable\s+to|are\s+unable\s+to)\s+(?:answer|tell|say|find|determine)"
    r"|\bi\s+(?:don't|do\s+not)\s+know\b"
    r"|\bno\s+(?:relevant\s+)?information\s+(?:about|on|in|regarding)"
    r"|(?:문서|자료|출처)(?:에는|에서는|에서|에)\s*.{0,15}?(?:(?:정보|내용|언급)(?:이|가|은|는)?\s*없"
    r"|나와\s*있지\s*않|언급(?:되어|하고)\s*있지\s*않)",
    re.IGNORECASE,
)

MARKER_RE = re.compile(r"\s*\[\s*\d+(?:\s*[,;\-–]\s*\d+)*\s*\]")
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)
# A number not glued to Latin letters ("G4S") and not the tail of "1,2"; thousands separators allowed.
_NUMBER_RE = re.compile(
    r"(?<![A-Za-z0-9.])(?<!\d,)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?"
    r"(\s*(?:%|percent\b|per\s*cent\b|퍼센트|프로)"
    r"|\s*(?:thousand|million|billion|trillion|bn|mn)\b|\s?(?:만|억|조))?",
    re.IGNORECASE,
)
_SCALES = {"thousand": 1e3, "million": 1e6, "mn": 1e6, "billion": 1e9, "bn": 1e9, "trillion": 1e12}
_SCALES |= {"만": 1e4, "억": 1e8, "조": 1e12}
_CURRENCY_RE = re.compile(r"[$€£¥₩]\s*$|(?:usd|eur|gbp|krw)\s*$", re.IGNORECASE)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        _words(
            "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
            "sixteen seventeen eighteen nineteen twenty"
        )
    )
} | {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100}

# Sentence-initial words that are capitalised by grammar, not because they are names.
OPENERS = frozenset(
    _words(
        """a about above according actually additionally after afterwards again against all also although
    among an and another any anyway around as at based because before being below besides between both
    but by certainly consequently currently despite during each earlier either even eventually every
    finally first firstly for from further furthermore generally given hence here however i if in
    including indeed initially instead it its later lastly like likewise many meanwhile moreover most
    much my nevertheless next no nor not notably now of on once one only or other others otherwise our
    overall per perhaps please previously regarding second secondly several she he similarly since so
    some specifically still subsequently such sure that the their then there therefore these they third
    this those though thus to today together typically under unlike until upon usually we what whatever
    when where whereas whether which while who whom whose why with within without yes yet you your
    answer note source sources document documents in summary"""
    )
)
_MONTH_ABBR = {
    m[:3]: m for m in _words("january february march april may june july august september october november december")
}


@dataclass(frozen=True)
class Claim:
    """One checkable statement with the source numbers its answer sentence cited (empty: none)."""

    text: str
    cited: tuple[int, ...] = ()


@dataclass(frozen=True)
class NumberMention:
    value: float
    surface: str
    kind: str  # "number" | "percentage" | "amount"
    start: int = 0  # offset in the text it was found in


def is_refusal_sentence(text: str) -> bool:
    """The shared refusal phrase (rag.answer.prompts) or a similar 'the documents do not say' sentence."""
    return is_refusal(text) or bool(_REFUSAL_RE.search(text))


def split_claims(answer: str, sources: Sequence[Source]) -> tuple[list[Claim], int]:
    """Answer sentences as claims, [n] markers stripped and kept as cited numbers.

    Markers are parsed by rag.answer.citations, so the judge and the citation panel agree on which sentence
    cites what. Refusal sentences and sentences without words are not claims. Returns (claims,
    refusal sentence count).
    """
    valid = {s.number for s in sources}
    marked, _ = parse_markers(answer, max(valid, default=0))
    claims: list[Claim] = []
    refusals = 0
    for sentence in marked:
        if not _WORD_RE.search(sentence.text) and not re.search(r"\d", sentence.text):
            continue
        if is_refusal_sentence(sentence.text):
            refusals += 1
            continue
        if is_language_note(sentence.text):  # "(source in English)" under a cross-lingual quote
            continue
        claims.append(Claim(sentence.text, tuple(n for n in sentence.markers if n in valid)))
    return claims, refusals


# --- numbers -----------------------------------------------------------------------------------------


def extract_numbers(text: str) -> list[NumberMention]:
    """Numbers, dates' digits, amounts and percentages, as values ('1,000' == '1000', '25 percent' == '25%')."""
    out: list[NumberMention] = []
    for m in _NUMBER_RE.finditer(text):
        value = float(m.group(1).replace(",", "") + (m.group(2) or ""))
        suffix = (m.group(3) or "").strip().lower()
        kind = "number"
        if suffix in _SCALES or re.sub(r"\s+", "", suffix) in _SCALES:
            value *= _SCALES[re.sub(r"\s+", "", suffix)]
        elif suffix:
            kind = "percentage"
        if _CURRENCY_RE.search(text[max(0, m.start() - 4) : m.start()]):
            kind = "amount"
        out.append(NumberMention(round(value, 6), m.group(0).strip(), kind, m.start()))
    return out


def _number_values(text: str) -> frozenset[float]:
    """Values a source supports: each number as written, scaled ('1.5 million') and spelled-out words."""
    values: set[float] = set()
    for m in _NUMBER_RE.finditer(text):
        values.add(round(float(m.group(1).replace(",", "") + (m.group(2) or "")), 6))
    values.update(n.value for n in extract_numbers(text))
    values.update(float(_NUMBER_WORDS[w]) for w in re.findall(r"[a-z]+", text.lower()) if w in _NUMBER_WORDS)
    return frozenset(values)


# --- names -------------------------------------------------------------------------------------------


def _name_key(word: str) -> str:
    """Case-, accent- and apostrophe-insensitive: "O’Neill's" and "O'Neill" name the same person."""
    return drop_apostrophes(fold(word))


def extract_names(text: str) -> list[str]:
    """Capitalised words and acronyms (proper nouns, months) that a source must contain.

    The first word of a sentence is checked only when it is not a common sentence opener, since
    grammar capitalises it. Scripts without case (Korean, Chinese) yield no names.
    """
    names: list[str] = []
    tokens = list(_WORD_RE.finditer(text))
    for i, m in enumerate(tokens):
        word = m.group(0)
        if not word[0].isupper() or len(word) < 2:
            continue
        before = text[tokens[i - 1].end() : m.start()] if i else ""
        sentence_start = i == 0 or bool(re.search(r"[.!?:;]\s*[\"'“‘(]?\s*$", before))
        if sentence_start and fold(word) in OPENERS:
            continue
        names.append(word)
    return list(dict.fromkeys(names))


@lru_cache(maxsize=4096)
def source_facts(text: str) -> tuple[frozenset[float], frozenset[str]]:
    """(number values, folded words and acronyms) of a source text; cached since sources repeat."""
    words = {_name_key(w) for w in _WORD_RE.findall(text)}
    runs = re.findall(r"(?:[A-Z][\w'’-]*\s+(?:(?:of|the|and|for|de|du|von)\s+)*)+[A-Z][\w'’-]*", text)
    for run in runs:
        initials = "".join(w[0] for w in run.split() if w[0].isupper())
        words.add(fold(initials))
    return _number_values(text), frozenset(words)


def _name_found(name: str, words: frozenset[str]) -> bool:
    key = _name_key(name)
    if key in words or (key.endswith("s") and key[:-1] in words) or key + "s" in words:
        return True
    month = _MONTH_ABBR.get(key[:3])
    if month and key in (key[:3], month):  # "Mar" and "March" stand for each other
        return key[:3] in words or month in words
    return False


# --- the check ---------------------------------------------------------------------------------------


def where(cited: Iterable[int]) -> str:
    """'source [2]', 'sources [1][3]' or 'any source' for flag texts."""
    nums = sorted(set(cited))
    if not nums:
        return "any source"
    return ("source " if len(nums) == 1 else "sources ") + "".join(f"[{n}]" for n in nums)


def check_claim(claim: Claim, source_texts: Mapping[int, str], question: str = "") -> list[str]:
    """Flags for numbers and names in the claim that its cited sources (all when none cited) lack.

    Names and numbers that occur in the question are exempt: an answer may repeat what was asked about
    ("Apollo 11", "the 2016 season") even when the passage says "the mission". Such a premise still
    counts against the heuristic's coverage, and the LLM judge still reads it.
    """
    cited = [n for n in claim.cited if n in source_texts] or sorted(source_texts)
    values: set[float] = set()
    words: set[str] = set()
    for n in cited:
        v, w = source_facts(source_texts[n])
        values |= v
        words |= w
    label = where(cited if claim.cited else ())
    text = MARKER_RE.sub("", claim.text)  # "[1]" is a citation, not a number
    flags: list[str] = []
    asked_values, asked = source_facts(question) if question else (frozenset(), frozenset())
    for mention in extract_numbers(text):
        if mention.value not in values and mention.value not in asked_values:
            flags.append(f"{mention.kind} {mention.surface} not in {label}")
    for name in extract_names(text):
        if not _name_found(name, frozenset(words)) and not _name_found(name, asked):
            flags.append(f"name {name} not in {label}")
    return list(dict.fromkeys(flags))


def apply_flags(verdict: ClaimVerdict, flags: Sequence[str]) -> ClaimVerdict:
    """Attach flags; a flagged 'supported' verdict becomes 'not_supported' and says why."""
    new = [f for f in flags if f not in verdict.flags]
    if not new:
        return verdict
    verdict.flags.extend(new)
    if verdict.verdict == SUPPORTED:
        verdict.verdict = NOT_SUPPORTED
        verdict.reason = f"overridden by fact check ({'; '.join(new)}); judge said: {verdict.reason}".strip()
    return verdict


def fact_key(flag: str) -> str:
    """'number 1962 not in source [1]' -> 'number 1962' (to tell whether a fact is already flagged)."""
    return flag.split(" not in ", 1)[0]


# --- scoring -----------------------------------------------------------------------------------------


def is_supported(verdict: ClaimVerdict) -> bool:
    """Counted as supported: the judge said so and no fact check failed."""
    return verdict.verdict == SUPPORTED and not verdict.flags


def band_for(score: float) -> str:
    return "high" if score >= HIGH_BAND else "medium" if score >= MEDIUM_BAND else "low"


def score_verdicts(verdicts: Sequence[ClaimVerdict], judge: str, note: str = "") -> Faithfulness:
    """Score = supported claims / claims; no claims at all is a refusal, scored 1.0 (never NaN)."""
    if not verdicts:
        return Faithfulness(1.0, band_for(1.0), [], judge, note or NO_CLAIMS_NOTE)
    score = sum(is_supported(v) for v in verdicts) / len(verdicts)
    return Faithfulness(score, band_for(score), list(verdicts), judge, note)


def refusal_faithfulness(judge: str, refusals: int) -> Faithfulness:
    """What an answer without claims gets: faithful, since it asserts nothing the sources lack."""
    return Faithfulness(1.0, band_for(1.0), [], judge, REFUSAL_NOTE if refusals else NO_CLAIMS_NOTE)
