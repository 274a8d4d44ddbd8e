"""Follow-up questions made standalone without a model, keeping what the new question asks.

Retrieval reads one question. "and for creative ones?" after "What temperature should I use for factual
tasks?" must become "What temperature should I use for creative tasks?", not the old question's words
glued in front ("temperature use factual tasks: and for creative ones?"), which finds the factual answer
again. The rules, in order:

1. Not a follow-up (see `is_follow_up`): unchanged.
2. An elliptical follow-up ("and for creative ones?", "what about Mars?", "그럼 서울은?", "그럼 창의적인
   작업에는?"): its phrase replaces the contrasted slot of the previous question: the phrase after the same
   preposition ("for factual tasks" -> "for creative tasks", "ones" taking the old head noun), the named
   entity for a capitalised phrase, the noun phrase ending in the same noun; in Korean the word with the same
   noun or particle, else the question's leading topic word (부산의 인구는 -> 서울의 인구는).
3. A follow-up with a pronoun ("How tall is it?", "그것은 언제 지어졌나요?"): the pronoun becomes the previous
   question's topic (its named entity, the term it asked to define, or its longest content phrase).
4. Otherwise the previous question's content words are prepended ("<words>: <question>"), the old rule.
"""

from __future__ import annotations

import re

from rag.answer.questions import DEFINITION, analyse
from rag.core.text import STOPWORDS, content_words, has_cjk, is_hangul, split_particle

_PRONOUN_TEXT = (
    "it its it's they them their theirs that this those these he she him her his one ones there former latter same"
)
_PRONOUNS = frozenset(_PRONOUN_TEXT.split())
_LEADS = ("and ", "but ", "also ", "then ", "so ", "what about", "how about", "or ", "and?", "what else")
_KO_REFERENTS = ("그것", "이것", "저것", "그거", "이거", "저거", "그건", "이건", "거기", "그곳", "그분", "그들")
_KO_WORDS = frozenset(("그", "이", "저", "그럼", "그러면", "그리고", "그래서", "또", "또는", "그건", "그게", "이게"))
SHORT_QUESTION_WORDS = 2
CONTEXT_WORDS = 12

_LEAD_RE = re.compile(r"^(?:and|but|also|then|so|or|ok(?:ay)?|well|now)\b[\s,]*", re.IGNORECASE)
_KO_LEAD_RE = re.compile(r"^(?:그럼|그러면|그리고|그래서|또는|또|그런데|근데)\s*")
_ABOUT_RE = re.compile(r"^(?:what|how)\s+about\s+", re.IGNORECASE)
_WH_RE = re.compile(
    r"\b(?:what|which|who|whom|whose|when|where|why|how|is|are|was|were|do|does|did|can|could|should|will|would|"
    r"has|have)\b",
    re.IGNORECASE,
)
_KO_WH_RE = re.compile(r"무엇|뭐|무슨|어떤|어떻게|언제|얼마|누구|어디|왜|몇|[다요까죠니]\s*[?？]?\s*$")
_PREPOSITION_TEXT = "for in on at with about to from during after before of under between among by"
_PREPOSITIONS = frozenset(_PREPOSITION_TEXT.split())
_PRO_FORMS = frozenset(("one", "ones"))
_KO_PRONOUN_RE = re.compile(r"(그것|이것|저것|그거|이거|저거)(은|는|이|가|을|를|의|에|도)?|(그건|이건|그게|이게)")


def is_follow_up(question: str) -> bool:
    """At most two content words, a referring word (it, they, that, one; 그것, 그럼, ...), a leading "and",
    "but", "what about" or "how about", or an ellipsis."""
    q = question.strip().lower()
    tokens = re.findall(r"[\w']+", q)
    if len(content_words(q)) <= SHORT_QUESTION_WORDS:
        return True
    if q.startswith(_LEADS) or q.rstrip("?!. ").endswith(("...", "…")) or "..." in q or "…" in q:
        return True
    if any(t in _PRONOUNS for t in tokens):
        return True
    return any(t in _KO_WORDS or t.startswith(_KO_REFERENTS) for t in tokens)


# --- the previous question's topic ------------------------------------------------------------------------
_ENTITY_RE = re.compile(r"(?:\b[Tt]he\s+)?(?:[A-Z][\w'-]*|[A-Z]{2,})(?:\s+(?:of\s+|de\s+)?(?:[A-Z][\w'-]*|\d+))*")


def topic_of(question: str) -> str:
    """What a question is about: its named entity, the term it asks to define, or its longest content run."""
    q = question.strip().rstrip("?？!. ")
    if has_cjk(q):
        for token in q.split():
            base, _ = split_particle(token)
            if content_words(base) and not _KO_WH_RE.search(base):
                return base
        return q
    for m in _ENTITY_RE.finditer(q):
        if m.start() == 0 and " " not in m.group().strip():
            continue  # the capitalised first word of the question
        return m.group().strip()
    shape = analyse(question)
    if shape.kind == DEFINITION and shape.focus:
        return shape.focus
    runs: list[list[str]] = [[]]
    for word in q.split():
        if word.lower() in STOPWORDS or _WH_RE.fullmatch(word):
            runs.append([])
        else:
            runs[-1].append(word)
    best = max(runs, key=len)
    return " ".join(best) or q


# --- pronouns ---------------------------------------------------------------------------------------------
def _with_topic_particle(topic: str, particle: str) -> str:
    last = topic[-1:]
    if not (particle and is_hangul(last)):
        return topic + particle
    batchim = (ord(last) - 0xAC00) % 28 != 0 if "가" <= last <= "힣" else False
    pairs = {"은": "는", "이": "가", "을": "를"}
    if particle in pairs or particle in pairs.values():
        with_b = next((k for k, v in pairs.items() if particle in (k, v)), particle)
        return topic + (with_b if batchim else pairs[with_b])
    return topic + particle


def substitute_pronouns(question: str, topic: str) -> str:
    """Pronouns replaced by the topic: it/they/them -> topic, its/their -> topic's, a final that/this ->
    topic; Korean 그것은 -> <topic>은/는 (the particle fits the topic's last syllable)."""
    if has_cjk(question):

        def ko(m: re.Match) -> str:
            if m.group(3):
                particle = {"그건": "은", "이건": "은", "그게": "이", "이게": "이"}[m.group(3)]
                return _with_topic_particle(topic, particle)
            return _with_topic_particle(topic, m.group(2) or "")

        return _KO_PRONOUN_RE.sub(ko, question)
    out = re.sub(r"\b(?:its|their)\b", f"{topic}'s", question, flags=re.IGNORECASE)
    out = re.sub(r"\b(?:it|they|them)\b", topic, out, flags=re.IGNORECASE)
    return re.sub(r"\b(?:that|this)(?=\s*[?.!]*\s*$)", topic, out, flags=re.IGNORECASE)


# --- slots ------------------------------------------------------------------------------------------------
def _words_and_end(text: str) -> tuple[list[str], str]:
    text = text.strip()
    end = re.search(r"[?？!.]*$", text).group()
    return text[: len(text) - len(end)].split(), end or "?"


def _english_slot(previous: str, payload: str) -> str | None:
    prev, end = _words_and_end(previous)
    new, _ = _words_and_end(payload)
    if not prev or not new:
        return None
    lower = [w.lower().strip(",;") for w in prev]
    if new[0].lower() in _PREPOSITIONS and new[0].lower() in lower:
        i = len(lower) - 1 - lower[::-1].index(new[0].lower())
        j = i + 1
        while j < len(prev) and lower[j] not in _PREPOSITIONS and not prev[j - 1].endswith(","):
            j += 1
        old = prev[i + 1 : j]
        phrase = [old[-1] if w.lower() in _PRO_FORMS and old else w for w in new[1:]]
        return " ".join([*prev[: i + 1], *phrase, *prev[j:]]) + end
    if any(w.lower() in _PRO_FORMS for w in new):
        # "creative ones": the head noun stays, its modifiers change
        k = next((i for i in range(len(prev) - 1, -1, -1) if content_words(prev[i])), None)
        if k is None:
            return None
        a = k
        while a > 0 and content_words(prev[a - 1]) and lower[a - 1] not in _PREPOSITIONS:
            a -= 1
        phrase = [prev[k] if w.lower() in _PRO_FORMS else w for w in new]
        return " ".join([*prev[:a], *phrase, *prev[k + 1 :]]) + end
    entity = next((m for m in _ENTITY_RE.finditer(" ".join(prev)) if m.start() > 0), None)
    if new[0][:1].isupper() and entity is not None:
        joined = " ".join(prev)
        name = re.sub(r"^[Tt]he\s+", "", entity.group())
        a = entity.start() + entity.group().index(name)
        return joined[:a] + " ".join(new) + joined[a + len(name) :] + end
    shared = content_words(new[-1]) & content_words(" ".join(prev))
    if shared:
        k = next(i for i in range(len(prev) - 1, -1, -1) if content_words(prev[i]) & shared)
        a = k
        while a > 0 and content_words(prev[a - 1]) and lower[a - 1] not in _PREPOSITIONS:
            a -= 1
        return " ".join([*prev[:a], *new, *prev[k + 1 :]]) + end
    return None


def _korean_slot(previous: str, payload: str) -> str | None:
    prev, end = _words_and_end(previous)
    new, _ = _words_and_end(payload)
    if not prev or not new:
        return None
    head, particle = split_particle(new[-1])
    bases = [split_particle(w) for w in prev]
    k = next((i for i, (b, _) in enumerate(bases) if b == head), None)
    if k is None and particle not in ("은", "는", "이", "가"):
        k = next((i for i, (_, p) in enumerate(bases) if p == particle and particle), None)
    if k is not None:
        a = max(0, k - len(new) + 1)
        return " ".join([*prev[:a], *new, *prev[k + 1 :]]) + end
    # "그럼 서울은?" after "부산의 인구는 얼마인가요?": the leading topic word takes the new noun
    first_base, first_particle = bases[0]
    if _KO_WH_RE.search(first_base):
        return None
    return " ".join([head + first_particle, *prev[1:]]) + end


# --- the rewrite ------------------------------------------------------------------------------------------
def _strip_leads(question: str) -> str:
    q = question.strip()
    while True:
        stripped = _KO_LEAD_RE.sub("", _LEAD_RE.sub("", q)).strip()
        if stripped == q:
            return q
        q = stripped


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:] if text and not has_cjk(text[:1]) else text


def rewrite(question: str, previous: str | None) -> str:
    """`question` made standalone against the (standalone) previous user question."""
    question = question.strip()
    if previous is None or not is_follow_up(question):
        return question
    topic = topic_of(previous)
    rest = _strip_leads(question)
    about = _ABOUT_RE.match(rest)
    korean = has_cjk(rest)
    elliptical = bool(about) or (
        bool(rest.strip(" ?？")) and not (_KO_WH_RE.search(rest) if korean else _WH_RE.search(rest))
    )
    if elliptical:
        payload = rest[about.end() :] if about else rest
        substituted = substitute_pronouns(payload, topic)
        if substituted != payload:  # "what about its weight?": the follow-up keeps its own frame
            return _capitalised(substitute_pronouns(rest, topic))
        slot = _korean_slot(previous, payload) if korean else _english_slot(previous, payload)
        if slot:
            return _capitalised(slot)
    else:
        substituted = substitute_pronouns(rest, topic)
        if substituted != rest:
            return _capitalised(substituted)
        shape = analyse(rest)
        if shape.kind == DEFINITION or re.search(r"\b[A-Z]", rest[1:]):
            return question  # short but complete: "What is ReAct?"
    return _prepend_context(question, previous)


def _prepend_context(question: str, previous: str) -> str:
    present = content_words(question)
    context: list[str] = []
    for word in re.findall(r"[\w'-]+", previous):
        folded = content_words(word)
        if folded and not folded & present and word.lower() not in (w.lower() for w in context):
            context.append(word)
    if not context:
        return question
    return f"{' '.join(context[:CONTEXT_WORDS])}: {question}"
