"""Retrieval metrics over gold answer spans: hit within a word budget, top-1, MRR@k, latency percentiles.

A retrieved passage is (source, start, end) in document-level character offsets (for parent-child: the
parent's span, the text the model reads). An answer counts as retrieved when every non-space character
of its span lies inside the passages: whitespace between two adjacent sentence chunks does not break a
multi-sentence answer, but half of an answer is a miss.

Free-text answers (the PDF sets, rag/eval/pdfsets.py) have no span and no page: their answers were
written by people or a model about the document, so they rarely occur verbatim. What can still be
measured offline, on the passages taken in rank order until the word budget is used:

- doc hit: at least one of those passages comes from a gold document (the right filing or paper). Many
  small passages fit a budget, so this favours small chunks; doc@1 (the first passage comes from a gold
  document) compares strategies on equal terms;
- answer recall@budget: the share of the gold answer's key tokens found among the tokens of those
  passages. Key tokens are numbers (`1,234` -> `1234`, `$` and `%` dropped, decimals kept whole) and
  lowercased words of two or more characters that are not in `STOPWORDS`; each distinct token counts
  once. No stemming: "trained" does not match "training", so recall is a lower bound on what the
  passages support, and a long explanatory answer rarely reaches 1.0. Numbers are the strict part: a
  figure absent from the passages cannot be answered from them;
- answer found: answer recall >= `FOUND_AT` (0.5), as a hit rate.

These say whether the evidence reached the model, not whether an answer is right; with an LLM configured,
`docqa eval` also scores generated answers (faithfulness, token F1 against the gold text).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
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


# --- free-text answers -------------------------------------------------------------------------------
FOUND_AT = 0.5  # answer recall from which an answer counts as found
_STOPWORD_LIST = """
    a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each either et etc few for from further had has
    have having he her here hers him his how however i if in into is it its itself just may me might more most
    much must my no nor not now of off on once only or other our ours out over own per same she should so some
    such than that the their theirs them then there these they this those through thus to too under until up
    upon very via was we were what when where whether which while who whom whose why will with within without
    would yes yet you your
"""
STOPWORDS = frozenset(_STOPWORD_LIST.split())  # English function words: carry no answer content
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_TOKEN = re.compile(r"\d+(?:\.\d+)+|\w+")


def answer_tokens(text: str) -> list[str]:
    """Lowercased tokens with numbers normalised: `$1,234.5` -> `1234.5`, `12%` -> `12`."""
    text = _THOUSANDS.sub("", text.lower().replace("$", " ").replace("%", " "))
    return [t.strip("_") for t in _TOKEN.findall(text) if t.strip("_")]


def key_tokens(answer: str) -> set[str]:
    """The tokens an answer is judged by: numbers, and content words of 2+ characters not in STOPWORDS.

    Deliberately not rag.core.text's content words: this is a published metric, frozen so that figures
    stay comparable across versions and with the baselines; the app's text rules may change, it may not."""
    return {t for t in answer_tokens(answer) if any(c.isdigit() for c in t) or (len(t) > 1 and t not in STOPWORDS)}


def answer_recall(passages: Iterable[Passage], answer: str) -> float:
    """Share of the answer's key tokens present in the passages' text (0.0 for an answer without any)."""
    key = key_tokens(answer)
    if not key:
        return 0.0
    seen = set()
    for p in passages:
        seen.update(answer_tokens(p.text))
    return len(key & seen) / len(key)


def judge_free_text(
    passages: Sequence[Passage], gold_docs: Collection[str], answer: str, budget_words: int = 1000
) -> dict[str, float | bool]:
    """doc hit, answer recall and answer found for one question on the passages within the budget; doc@1."""
    budget = within_budget(passages, budget_words)
    recall = answer_recall(budget, answer)
    return {
        "doc_hit": any(p.source in gold_docs for p in budget),
        "answer_recall": recall,
        "answer_found": recall >= FOUND_AT,
        "doc_top1": bool(passages) and passages[0].source in gold_docs,
    }


# --- generated answers --------------------------------------------------------------------------------
def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", re.sub(r"\[\d+\]", " ", text).lower())


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD-style token F1 (lowercased word tokens; citation markers removed)."""
    p, g = _tokens(prediction), _tokens(gold)
    if not p or not g:
        return float(p == g)
    common = sum((Counter(p) & Counter(g)).values())
    if not common:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)
