"""What a question asks for, read without a model: its answer type and its focus term.

The extractive composer prefers sentences of the asked-for shape (a definition for "what is X", a number
for "how many", a date for "when"), and the relevance score checks that an answer has that shape. Both
read the question the same way, here. English and Korean patterns; any other question has no type and its
focus is all of its content words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.core.text import content_words, has_cjk

DEFINITION = "definition"
NUMBER = "number"
DATE = "date"
PERSON = "person"

_EN_DEFINITION = re.compile(
    r"^\s*(?:so\s+|and\s+|then\s+)?(?:what|who)(?:'s|\s+is|\s+are|\s+was|\s+were)\s+(?:an?\s+|the\s+)?(?P<x>.+?)"
    r"\s*(?:\bexactly\b|\bmean\b|\bused for\b)?\s*[?.!]*\s*$"
    r"|^\s*(?:define|explain|describe)\s+(?:the\s+term\s+)?(?P<y>.+?)\s*[?.!]*\s*$"
    r"|^\s*what\s+(?:does|do)\s+(?:the\s+term\s+)?(?P<z>.+?)\s+mean\s*[?.!]*\s*$"
    r"|^\s*what\s+is\s+meant\s+by\s+(?P<w>.+?)\s*[?.!]*\s*$",
    re.IGNORECASE,
)
# "X란 무엇인가", "X이란?", "X은 무엇인가요", "X는 뭐야", "X의 정의는"
_KO_DEFINITION = re.compile(
    r"^\s*(?:그럼\s+|그러면\s+)?(?P<x>.+?)\s*(?:이란|란|은|는|이|가)\s*(?:무엇|뭐|무슨\s*뜻|어떤\s*것|어떤\s*개념)"
    r"|^\s*(?P<y>.+?)(?:이란|란)\s*[?？]?\s*$"
    r"|^\s*(?P<z>.+?)의\s*(?:정의|뜻|의미)(?:는|은|가)?\s*(?:무엇|뭐)?"
)
_EN_NUMBER = re.compile(
    r"\bhow\s+(?:many|much|long|old|far|big|large|tall|high|fast|often|heavy|deep|wide)\b"
    r"|\bwhat\s+(?:is\s+the\s+|are\s+the\s+)?(?:number|percentage|percent|proportion|rate|ratio|amount|size|"
    r"value|temperature|price|cost|dose|dosage|length|duration|speed|share|count|total)\b"
    r"|\bwhat\s+(?:\w+\s+){0,3}(?:temperature|percentage|rate|ratio|value|number)\b",
    re.IGNORECASE,
)
_EN_DATE = re.compile(
    r"^\s*(?:and\s+)?when\b|\bwhat\s+(?:year|date|day|month|time|century|decade)\b|\bin\s+which\s+year\b", re.I
)
_EN_PERSON = re.compile(r"^\s*(?:and\s+)?(?:who|whom|whose)\b", re.IGNORECASE)
_KO_NUMBER = re.compile(
    r"얼마|몇\s*(?:명|개|번|배|퍼센트|%|km|킬로|미터|살|세|시간|분|초|층|위|회|곳|종|가지|권|대|마리)|몇\b"
)
_KO_DATE = re.compile(r"언제|몇\s*년|몇\s*월|몇\s*일|연도|년도|날짜|날은|날이|시기|해는|년은|일은")
_KO_PERSON = re.compile(r"누구|인물|사람은|사람이|사람의|이름은")

# Words that make up a question's frame rather than its topic.
_FRAME = frozenset(
    content_words(
        "mean meaning define definition explain describe exactly called term tell know give list "
        "무엇 무엇인가 무엇인가요 무엇입니까 뭐야 뭔가요 어떤 어떻게 얼마 얼마인가 얼마인가요 인가 인가요 입니까 "
        "언제 누구 누구인가 어디 어디인가 왜 몇"
    )
)


@dataclass(frozen=True)
class QuestionShape:
    """The answer type a question expects (None: any) and its focus: the term a definition must define,
    or the question's content words."""

    kind: str | None
    focus: str
    focus_words: frozenset[str]


def analyse(question: str) -> QuestionShape:
    """The answer type and focus of `question` (deterministic, pattern-based)."""
    q = " ".join(question.split())
    focus = ""
    kind: str | None = None
    m = _EN_DEFINITION.match(q)
    if m and not _EN_NUMBER.search(q):
        focus = next(g for g in m.groups() if g)
        # "what is the temperature for ..." asks for a value; "what is X used for" for a purpose
        if len(focus.split()) <= 8:
            kind = DEFINITION
    elif has_cjk(q) and (km := _KO_DEFINITION.match(q)):
        focus = next(g for g in km.groups() if g)
        kind = DEFINITION
    if kind is None:
        if _EN_DATE.search(q) or (has_cjk(q) and _KO_DATE.search(q)):
            kind = DATE
        elif _EN_NUMBER.search(q) or (has_cjk(q) and _KO_NUMBER.search(q)):
            kind = NUMBER
        elif _EN_PERSON.search(q) or (has_cjk(q) and _KO_PERSON.search(q)):
            kind = PERSON
        focus = q
    words = frozenset(content_words(focus) - _FRAME) or frozenset(content_words(focus))
    return QuestionShape(kind, focus.strip(" ?？.!"), words)


# --- answer shapes ------------------------------------------------------------------------------------
_YEAR = r"(?:1[5-9]\d\d|20\d\d)"
_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_DATE_RE = re.compile(
    rf"\b{_YEAR}s?\b|\b(?:{_MONTHS})\.?\s+\d{{1,2}}\b|\b\d{{1,2}}\s+(?:{_MONTHS})\b|\d+\s*(?:년|월|일)|"
    r"\b(?:yesterday|today|century|decade)\b",
    re.IGNORECASE,
)
_NUMBER_RE = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|billion|half|dozen|zero)\b|[일이삼사오육칠팔구십백천만억]+\s*(?:명|개|배)",
    re.IGNORECASE,
)
_COPULA = re.compile(
    r"\b(?:is|are|was|were|refers?\s+to|means?|describes?|denotes?|stands?\s+for|is\s+defined\s+as|"
    r"is\s+called|represents?)\b",
    re.IGNORECASE,
)
_KO_DEFINING_END = re.compile(
    r"(?:이다|이며|이고|말한다|뜻한다|의미한다|일컫는다|가리킨다|부른다|한다|된다|이었다|였다)[.。]?\s*$"
)


def has_date(text: str) -> bool:
    return _DATE_RE.search(text) is not None


def has_number(text: str) -> bool:
    return _NUMBER_RE.search(text) is not None


def defines(sentence: str, shape: QuestionShape) -> bool:
    """Does `sentence` read as a definition of the question's focus ("X is/are/refers to ...",
    Korean "X은/는 ...이다")? The words before the verb must name (most of) the focus term."""
    if not shape.focus_words:
        return False
    if has_cjk(sentence) and has_cjk(shape.focus):
        head = sentence[: max(len(shape.focus) + 12, 20)]
        return _covers(shape.focus_words, content_words(head), 0.6) and _KO_DEFINING_END.search(sentence) is not None
    m = _COPULA.search(sentence)
    if m is None:
        return False
    head = re.sub(r"\([^)]*\)", " ", sentence[: m.start()]).strip()
    head_words, focus_words = head.split(), shape.focus.split()
    starts = bool(head_words) and head_words[0].lower().strip("\"'“‘") == focus_words[0].lower()
    short = len(head_words) <= len(focus_words) + 4 and "," not in head
    if not (starts or short) or len(head_words) > 2 * len(focus_words) + 8:
        return False
    return _covers(shape.focus_words, content_words(head), 0.6)


def _covers(wanted: frozenset[str], found: set[str], share: float) -> bool:
    return bool(wanted) and len(wanted & found) / len(wanted) >= share


def matches_kind(text: str, shape: QuestionShape) -> bool | None:
    """Whether an answer text has the expected shape; None when the question expects none."""
    if shape.kind == DEFINITION:
        return defines(text, shape) or any(defines(s, shape) for s in re.split(r"(?<=[.!?。])\s+", text))
    if shape.kind == DATE:
        return has_date(text)
    if shape.kind == NUMBER:
        return has_number(text)
    if shape.kind == PERSON:
        return re.search(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+", text) is not None or has_cjk(text)
    return None
