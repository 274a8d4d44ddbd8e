"""Retrieval metrics over gold answer spans: hit within a word budget, top-1, MRR@k, latency percentiles.

A retrieved passage is (source, start, end) in document-level character offsets (for parent-child: the
parent's span, the text the model reads). An answer counts as retrieved when every non-space character
of its span lies inside the passages: whitespace between two adjacent sentence chunks does not break a
multi-sentence answer, but half of an answer is a miss.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rag.eval.datasets import AnswerSpan

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Passage:
    source: str
    start: int
    end: int
    text: str
    words: int = -1  # whitespace word count when known (saves recounting in parameter sweeps)

    def word_count(self) -> int:
        return self.words if self.words >= 0 else len(_WORD.findall(self.text))


def words_prefix_end(text: str, n: int) -> int:
    """Character offset just after the first `n` whitespace-separated words of `text`."""
    if n <= 0:
        return 0
    end = 0
    for i, m in enumerate(_WORD.finditer(text), 1):
        end = m.end()
        if i >= n:
            break
    return end


def within_budget(passages: Iterable[Passage], budget_words: int) -> list[Passage]:
    """Passages in rank order until `budget_words` words are used; the last one is cut at the budget."""
    out: list[Passage] = []
    left = budget_words
    for p in passages:
        if left <= 0:
            break
        n = p.word_count()
        if n <= left:
            out.append(p)
            left -= n
        else:
            cut = words_prefix_end(p.text, left)
            out.append(Passage(p.source, p.start, p.start + cut, p.text[:cut]))
            left = 0
    return out


def _merge(intervals: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def covers(passages: Sequence[Passage], source: str, answer: AnswerSpan) -> bool:
    """True when the passages of `source` cover the answer span (gaps of whitespace only are allowed)."""
    s, e = answer.start, answer.end
    pos = s
    for a, b in _merge([(p.start, p.end) for p in passages if p.source == source]):
        if b <= pos:
            continue
        if a >= e:
            break
        if a > pos and answer.text[pos - s : a - s].strip():
            return False
        pos = b
        if pos >= e:
            return True
    return not answer.text[pos - s :].strip()


def contains(passage: Passage, source: str, answer: AnswerSpan) -> bool:
    return covers([passage], source, answer)


def first_relevant_rank(passages: Sequence[Passage], source: str, answers: Sequence[AnswerSpan], k: int) -> int:
    """1-based rank of the first passage (of the top k) that contains an answer; 0 when none does."""
    for rank, p in enumerate(passages[:k], 1):
        if any(contains(p, source, a) for a in answers):
            return rank
    return 0


@dataclass
class QuestionResult:
    hit_budget: bool
    top1: bool
    rank: int  # first relevant rank within the top 10, 0 = none
    seconds: float


def judge_question(
    passages: Sequence[Passage],
    source: str,
    answers: Sequence[AnswerSpan],
    seconds: float,
    budget_words: int = 1000,
    mrr_k: int = 10,
) -> QuestionResult:
    budget = within_budget(passages, budget_words)
    hit = any(covers(budget, source, a) for a in answers)
    rank = first_relevant_rank(passages, source, answers, mrr_k)
    return QuestionResult(hit, rank == 1, rank, seconds)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    idx = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[idx]


def summarize(results: Sequence[QuestionResult]) -> dict[str, float]:
    n = len(results) or 1
    times = [r.seconds for r in results]
    return {
        "questions": len(results),
        "hit_budget": sum(r.hit_budget for r in results) / n,
        "top1": sum(r.top1 for r in results) / n,
        "mrr10": sum(1 / r.rank for r in results if r.rank) / n,
        "p50_ms": 1000 * percentile(times, 50),
        "p95_ms": 1000 * percentile(times, 95),
    }
