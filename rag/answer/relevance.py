"""Answer relevance: does the answer address the question? Scored from the question and the answer alone.

Faithfulness asks whether the answer is backed by the sources; a quoted sentence always is, even when it
is about something else, and the UI showed a green 100 % for such answers. Relevance is the other half,
computed the same way in both modes (extractive and LLM answers), offline and in microseconds:

- coverage: the share of the question's focus words (rag.core.text content words; for "what is X" the
  words of X, else the question's words without its frame such as "mean" or "무엇") found in the answer;
  for Korean also the share of the focus's Hangul bigrams, since answers inflect words differently;
- answer type: when the question expects a definition, a date, a number or a person
  (rag.answer.questions), whether the answer has that shape.

score = (1 - w) * coverage + w * type match, w = 0.45 for a definition, 0.35 for a date or number, 0.25 for
a person (coverage alone when no type is expected). Bands: high from `HIGH_AT`, low below `LOW_AT`; a low
answer carries `LOW_NOTE`, said to the user instead of a bare score (a medium one `MEDIUM_NOTE`).
How well it separates answers holding the gold answer from the others: benchmarks/answers.py (AUROC).
"""

from __future__ import annotations

import re

from rag.answer.prompts import is_refusal, strip_markers
from rag.answer.questions import DATE, DEFINITION, NUMBER, analyse, matches_kind
from rag.core.text import CJK_RUN, cjk_bigrams, content_words, has_cjk
from rag.core.types import Relevance

# Weight of the answer-type match by expected type: a "what is X" answered without a definition of X
# (captions and mentions of X hold all its words) is the case coverage cannot see.
TYPE_WEIGHT = {DEFINITION: 0.45, DATE: 0.35, NUMBER: 0.35}
DEFAULT_TYPE_WEIGHT = 0.25
HIGH_AT = 0.7
LOW_AT = 0.4
LOW_NOTE = "The passages found may not answer this question."
MEDIUM_NOTE = "The answer may only partly address the question."


def _bigrams(text: str) -> set[str]:
    return {g for run in CJK_RUN.findall(text) for g in cjk_bigrams(run)}


def coverage(question: str, answer: str) -> float:
    """Share of the question's focus words (or, for Korean, of its bigrams) that the answer holds."""
    shape = analyse(question)
    focus = set(shape.focus_words) or content_words(question)
    if not focus:
        return 1.0
    found = content_words(answer)
    share = len(focus & found) / len(focus)
    if has_cjk(shape.focus):
        grams = _bigrams(" ".join(sorted(focus)))
        if grams:
            share = max(share, len(grams & _bigrams(answer)) / len(grams))
    return share


def band_for(score: float) -> str:
    return "high" if score >= HIGH_AT else "medium" if score >= LOW_AT else "low"


def relevance_score(question: str, answer: str) -> float:
    """0..1: coverage of the question's focus, and the expected answer type when there is one."""
    text = strip_markers(answer)
    cover = coverage(question, text)
    shape = analyse(question)
    kind = matches_kind(text, shape)
    if kind is None:
        return cover
    weight = TYPE_WEIGHT.get(shape.kind or "", DEFAULT_TYPE_WEIGHT)
    return (1 - weight) * cover + weight * float(kind)


def assess_relevance(question: str, answer: str) -> Relevance | None:
    """The relevance of an answer, or None for a refusal or an empty answer (nothing to rate)."""
    if not answer.strip() or not question.strip() or is_refusal(answer):
        return None
    if not re.search(r"\w", strip_markers(answer)):
        return None
    score = relevance_score(question, answer)
    band = band_for(score)
    return Relevance(score, band, {"low": LOW_NOTE, "medium": MEDIUM_NOTE}.get(band, ""))
