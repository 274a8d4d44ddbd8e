"""Offline answers that answer: up to three real source sentences of the asked-for shape, each cited.

Without a language model the answer is quoted. Quoting the sentences most similar to the question is not
enough: in a PDF the most similar spans are often captions ("Table 12. An example of chain of thought
prompting"), headings glued to the next line, list items and table rows, which mention the question's
words without saying anything about them. So each candidate is
- trimmed of its lead-in lines (running headers, page numbers, headings, captions: rag.answer.sentence_text),
- scored as before (0.7 * cosine(question, sentence) + 0.3 * share of the question's content words it
  holds; a sentence opening with "it/this/they..." is also read with the sentence before it),
- ranked with the share of the question's rare words it holds added (idf_overlap: a word weighs its
  inverse frequency among the candidate sentences; weighed more for Korean, which MiniLM cannot read),
- then moved by what the question asks for (rag.answer.questions): a definition of the focus term for
  "what is X" / "X란 무엇", a date for "when" / "언제", a number for "how many" / "얼마" get a bonus, and
  a span that is not a real sentence (caption, heading, list number, table row, fragment) a penalty.

The best sentence must reach `floor` on the plain score (else the refusal phrase), others join when their
adjusted score is within `relative` of the best; a sentence that ends in ":" or is followed by one that
refers back to it ("This helps ...") brings its continuation. At most `max_sentences` sentences and
`max_words` words, in document order, display text cleaned, each followed by its [n]. Deterministic.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer.citations import overlap, sentence_spans, support_score, unit_rows
from rag.answer.prompts import REFUSAL
from rag.answer.questions import DATE, DEFINITION, NUMBER, QuestionShape, analyse, defines, has_date, has_number
from rag.answer.sentence_text import clean_display, is_sentence, trim_lead_in
from rag.core.errors import ModelNotAvailable
from rag.core.protocols import Embedder
from rag.core.text import content_words, language_name
from rag.core.types import HistoryItem, Source


def _split(words: str) -> list[str]:
    return words.split()


DEFINITION_BONUS = 0.25
DATE_BONUS = 0.08
NUMBER_BONUS = 0.06
FRAGMENT_PENALTY = 0.2
LONG_WORDS = 60  # sentences longer than this are usually run-together PDF text
LONG_PENALTY = 0.05
# e5-small cosines run high: ~0.70-0.72 for an unrelated sentence, ~0.78 for the English sentence that
# answers a Korean question; [0.7, 0.8] maps onto [0, 1] (no word can overlap across languages, so the
# cosine alone must clear the floor).
E5_UNRELATED = 0.7
E5_SPAN = 0.1
# Ranking also weighs the question's rarer words (idf_overlap). Chosen on dev splits disjoint from the
# benchmark's test questions (python benchmarks/composer_tuning.py): for English the top-3 rate is flat
# from 0.5 to 2, and the smallest such weight keeps the question-shape bonuses in charge; MiniLM cannot
# read Hangul, so for CJK questions the words must carry the ranking (dev top-3 rises up to ~3).
IDF_WEIGHT = 0.5
IDF_WEIGHT_CJK = 3.0
CJK_LANGUAGES = frozenset({"Korean", "Japanese", "Chinese"})

_REFERRING_OPENERS = frozenset(
    _split("it its they their them this these that those he she his her such there here both")
)


@dataclass(frozen=True)
class Candidate:
    source: Source
    start: int  # offsets into source.chunk.text, lead-in lines excluded
    end: int
    display: str
    real: bool
    previous: int | None  # index of the candidate before, in the same source
    words: int


_LANGUAGE_NOTE = re.compile(r"^\s*\(source in [A-Z][a-z]+(?: and [A-Z][a-z]+)*\)\s*$")


def is_language_note(sentence: str) -> bool:
    """The note `other_language_note` adds: it says where the quote comes from, it is not a claim."""
    return bool(_LANGUAGE_NOTE.match(sentence))


def other_language_note(question: str, sources: Sequence[Source]) -> str:
    """ " (source in English)" when the quoted sources are in another language than the question."""
    asked = language_name(question)
    langs = sorted({language_name(s.chunk.text) for s in sources} - {asked, ""})
    return f" (source in {' and '.join(langs)})" if asked and langs else ""


def idf_overlap(question: set[str], sentences: Sequence[set[str]]) -> list[float]:
    """The share of the question's word weight each sentence holds, a word weighing its inverse document
    frequency among these sentences. Plain overlap counts "virus" in a COVID paper as much as "incubation";
    here the word that picks one sentence out of the sources counts most. Learned rankers over ~40
    features found this the strongest single signal (COVID-QA and KorQuAD dev splits)."""
    df: dict[str, int] = {}
    for words in sentences:
        for w in words:
            df[w] = df.get(w, 0) + 1
    n = len(sentences)
    weight = {w: math.log((n + 1) / (df.get(w, 0) + 1)) + 1.0 for w in question}
    total = sum(weight.values()) or 1.0
    return [sum(weight[w] for w in question & words) / total for words in sentences]


def opens_with_reference(sentence: str) -> bool:
    first = re.match(r"\W*(\w+)", sentence)
    return bool(first) and first.group(1).lower() in _REFERRING_OPENERS


def with_marker(sentence: str, number: int) -> str:
    """'Paris is big.' -> 'Paris is big [1].' (the marker stays inside the sentence it supports)."""
    if sentence and sentence[-1] in ".!?。":
        return f"{sentence[:-1]} [{number}]{sentence[-1]}"
    return f"{sentence} [{number}]"


def candidates(sources: Sequence[Source]) -> list[Candidate]:
    """Every sentence of every source, trimmed of lead-in lines and cleaned for display."""
    out: list[Candidate] = []
    for s in sources:
        text = s.chunk.text
        spans = sentence_spans(text)
        first = len(out)
        for k, (a, b) in enumerate(spans):
            a = trim_lead_in(text, a, b)
            display = clean_display(text[a:b])
            if not display:
                continue
            truncated = k == len(spans) - 1 and text[b - 1 : b] not in '.!?。"”’)' and len(spans) > 1
            real = is_sentence(display, text[a:b], truncated)
            prev = len(out) - 1 if len(out) > first else None
            out.append(Candidate(s, a, b, display, real, prev, len(display.split())))
    return out


class ExtractiveComposer:
    """The offline `Generator`: quotes, cites and refuses (see the module docstring for the rules)."""

    mode = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        floor: float = 0.35,
        relative: float = 0.85,
        max_sentences: int = 3,
        max_words: int = 90,
        multilingual: Embedder | None = None,
        idf_weight: float = IDF_WEIGHT,
        idf_weight_cjk: float = IDF_WEIGHT_CJK,
    ) -> None:
        self.embedder = embedder
        self.multilingual = multilingual  # e5: scores sentences in another language than the question
        self.name = "extractive"
        self.floor = floor
        self.relative = relative
        self.max_sentences = max_sentences
        self.max_words = max_words
        self.idf_weight = idf_weight
        self.idf_weight_cjk = idf_weight_cjk

    def scores(self, question: str, cands: Sequence[Candidate]) -> tuple[list[float], list[float]]:
        """(plain support score, score adjusted for the question's shape) of every candidate."""
        texts = [c.display for c in cands]
        windows = {
            i: f"{texts[c.previous]} {texts[i]}"
            for i, c in enumerate(cands)
            if c.previous is not None and opens_with_reference(texts[i])
        }
        sources = list({c.source.number: c.source for c in cands}.values())  # language_name reads each once
        cosine = self._cosines(question, [*texts, *windows.values()], sources)
        words = content_words(question)
        sentence_words = [content_words(t) for t in texts]
        plain = [support_score(float(cosine[i]), overlap(words, w)) for i, w in enumerate(sentence_words)]
        for k, (i, window) in enumerate(windows.items()):
            in_context = support_score(float(cosine[len(texts) + k]), overlap(words, content_words(window)))
            plain[i] = (plain[i] + in_context) / 2
        shape = analyse(question)
        weight = self.idf_weight_cjk if language_name(question) in CJK_LANGUAGES else self.idf_weight
        rare = idf_overlap(words, sentence_words)
        adjusted = [p + weight * r + self._shape_bonus(c, shape) for p, r, c in zip(plain, rare, cands, strict=True)]
        return plain, adjusted

    def _cosines(self, question: str, texts: list[str], sources: Sequence[Source]) -> np.ndarray:
        """Question-to-sentence cosines: MiniLM, or e5 when a source is in another language than the
        question (MiniLM cannot match across languages). e5 cosines run higher than MiniLM's (~0.7 for
        unrelated text), so they are rescaled onto MiniLM's range before the floor applies."""
        lang = language_name(question)
        other = {language_name(s.chunk.text) for s in sources} - {lang, ""}
        if self.multilingual is not None and lang and other:
            try:
                q = np.asarray(self.multilingual.embed_query(question), dtype=np.float32)
                rows = unit_rows(np.asarray(self.multilingual.embed(texts), dtype=np.float32))
                return np.clip((rows @ q - E5_UNRELATED) / E5_SPAN, 0.0, 1.0)
            except ModelNotAvailable:
                pass  # the retriever already says why; MiniLM scores what it can
        vectors = unit_rows(np.asarray(self.embedder.embed([question, *texts]), dtype=np.float32))
        return vectors[1:] @ vectors[0]

    @staticmethod
    def _shape_bonus(c: Candidate, shape: QuestionShape) -> float:
        bonus = 0.0 if c.real else -FRAGMENT_PENALTY
        if c.words > LONG_WORDS:
            bonus -= LONG_PENALTY
        if shape.kind == DEFINITION and c.real and defines(c.display, shape):
            bonus += DEFINITION_BONUS
        elif shape.kind == DATE and has_date(c.display):
            bonus += DATE_BONUS
        elif shape.kind == NUMBER and has_number(c.display):
            bonus += NUMBER_BONUS
        return bonus

    def select(self, question: str, sources: Sequence[Source]) -> list[tuple[Source, int, int, float]]:
        """The chosen sentences as (source, start, end, score), in source order."""
        cands = candidates(sources)
        if not cands or not question.strip():
            return []
        plain, adjusted = self.scores(question, cands)
        order = sorted(range(len(cands)), key=lambda i: (-adjusted[i], i))
        best = order[0]
        if plain[best] < self.floor and max(plain) < self.floor:
            return []
        chosen: list[int] = []
        seen: set[str] = set()
        n_words = 0

        def take(i: int) -> bool:
            nonlocal n_words
            key = " ".join(cands[i].display.lower().split())
            if i in chosen or key in seen or len(chosen) >= self.max_sentences:
                return False
            if chosen and n_words + cands[i].words > self.max_words:
                return False
            chosen.append(i)
            seen.add(key)
            n_words += cands[i].words
            return True

        for i in order:
            if len(chosen) >= self.max_sentences or adjusted[i] < max(self.floor, self.relative * adjusted[best]):
                break
            if plain[i] < self.floor or not take(i):
                continue
            c = cands[i]
            p = c.previous
            if p is not None and opens_with_reference(c.display) and cands[p].real:
                take(p)  # keep the antecedent so the quoted sentence still says what "it" is
            nxt = i + 1
            runs_on = c.display.endswith(":") or (nxt < len(cands) and opens_with_reference(cands[nxt].display))
            if runs_on and nxt < len(cands) and cands[nxt].previous == i and cands[nxt].real:
                take(nxt)  # the sentence runs on
        chosen.sort(key=lambda i: (cands[i].source.number, cands[i].start))
        return [(cands[i].source, cands[i].start, cands[i].end, adjusted[i]) for i in chosen]

    def compose(self, question: str, sources: Sequence[Source]) -> str:
        chosen = self.select(question, sources)
        if not chosen:
            return REFUSAL
        text = " ".join(with_marker(clean_display(s.chunk.text[a:b]), s.number) for s, a, b, _ in chosen)
        return text + other_language_note(question, [s for s, *_ in chosen])

    def generate(self, question: str, sources: Sequence[Source], history: Sequence[HistoryItem] | None = None) -> str:
        return self.compose(question, sources)

    def stream(
        self, question: str, sources: Sequence[Source], history: Sequence[HistoryItem] | None = None
    ) -> Iterator[str]:
        yield from re.findall(r"\S+\s*", self.compose(question, sources))
