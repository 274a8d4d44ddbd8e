"""The extractive composer as it was before issue 16, kept callable for benchmarks/answers.py only.

The app answers offline with rag.answer.extractive.ExtractiveComposer. This copy lets the benchmark
compare old and new on the same sources in one run; nothing in rag/ or ui/ imports it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import numpy as np

from rag.answer.citations import overlap, sentence_spans, support_score, unit_rows
from rag.answer.extractive import with_marker
from rag.answer.prompts import REFUSAL
from rag.core.protocols import Embedder
from rag.core.text import content_words
from rag.core.types import HistoryItem, Source


class OldExtractiveGenerator:
    """Offline answers: the best-matching source sentences, verbatim, each followed by its [n].

    Each sentence of each source is scored 0.7 * cosine(question, sentence) + 0.3 * share of the
    question's content words it contains. The best sentence is kept when it scores at least `floor`;
    up to `max_sentences - 1` more join it when they score at least `floor` and `relative` times the best,
    while the answer stays within `max_words`. Kept sentences appear in source order. Deterministic.
    """

    mode = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        floor: float = 0.35,
        relative: float = 0.85,
        max_sentences: int = 3,
        max_words: int = 80,
    ) -> None:
        self.embedder = embedder
        self.name = "extractive"
        self.floor = floor
        self.relative = relative
        self.max_sentences = max_sentences
        self.max_words = max_words

    def select(self, question: str, sources: Sequence[Source]) -> list[tuple[Source, int, int, float]]:
        """The chosen sentences as (source, start, end, score), in source order."""
        candidates: list[tuple[Source, int, int]] = []
        previous: list[int | None] = []  # index of the sentence before, in the same source
        for s in sources:
            for k, (a, b) in enumerate(sentence_spans(s.chunk.text)):
                previous.append(len(candidates) - 1 if k else None)
                candidates.append((s, a, b))
        if not candidates or not question.strip():
            return []
        texts = [s.chunk.text[a:b] for s, a, b in candidates]
        # "It is 330 m tall." means little alone: a sentence that opens with a referring word scores the
        # mean of itself and of itself read with the sentence before (a cheap stand-in for coreference).
        windows = {
            i: f"{texts[p]} {texts[i]}"
            for i, p in enumerate(previous)
            if p is not None and _opens_with_reference(texts[i])
        }
        vectors = unit_rows(np.asarray(self.embedder.embed([question, *texts, *windows.values()]), dtype=np.float32))
        cosine = vectors[1:] @ vectors[0]
        words = content_words(question)
        scores = [support_score(float(cosine[i]), overlap(words, content_words(t))) for i, t in enumerate(texts)]
        for k, (i, window) in enumerate(windows.items()):
            in_context = support_score(float(cosine[len(texts) + k]), overlap(words, content_words(window)))
            scores[i] = (scores[i] + in_context) / 2
        order = sorted(range(len(candidates)), key=lambda i: (-scores[i], i))
        best = scores[order[0]]
        if best < self.floor:
            return []
        chosen: list[int] = []
        seen: set[str] = set()
        n_words = 0
        for i in order:
            if len(chosen) >= self.max_sentences or scores[i] < max(self.floor, self.relative * best):
                break
            key = " ".join(texts[i].lower().split())
            length = len(texts[i].split())
            if key in seen or (chosen and n_words + length > self.max_words):
                continue
            chosen.append(i)
            seen.add(key)
            n_words += length
            p = previous[i]
            if p is not None and i in windows and p not in chosen:
                # Keep the antecedent so the quoted sentence still says what "it" is.
                extra = len(texts[p].split())
                if len(chosen) < self.max_sentences and n_words + extra <= self.max_words:
                    chosen.append(p)
                    seen.add(" ".join(texts[p].lower().split()))
                    n_words += extra
        chosen.sort(key=lambda i: (candidates[i][0].number, candidates[i][1]))
        return [(*candidates[i], scores[i]) for i in chosen]

    def generate(self, question: str, sources: Sequence[Source], history: Sequence[HistoryItem] | None = None) -> str:
        chosen = self.select(question, sources)
        if not chosen:
            return REFUSAL
        return " ".join(with_marker(" ".join(s.chunk.text[a:b].split()), s.number) for s, a, b, _ in chosen)

    def stream(
        self, question: str, sources: Sequence[Source], history: Sequence[HistoryItem] | None = None
    ) -> Iterator[str]:
        text = self.generate(question, sources, history)
        yield from re.findall(r"\S+\s*", text)


_OPENER_TEXT = "it its they their them this these that those he she his her such there"
_REFERRING_OPENERS = frozenset(_OPENER_TEXT.split())


def _opens_with_reference(sentence: str) -> bool:
    first = re.match(r"\W*(\w+)", sentence)
    return bool(first) and first.group(1).lower() in _REFERRING_OPENERS
