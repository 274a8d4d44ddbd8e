"""Fusion of the retrieval legs: candidates with their scores, the weighted fusions, MMR.

Legs: MiniLM (dense), BM25 (lexical) and, when DOCQA_MULTILINGUAL routes the question there, the
multilingual e5 leg (rag/backends/chroma_multilingual.py). Split from rag/retrieval/hybrid.py, which runs
the legs; benchmarks replay these functions on gathered candidate pools.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from rag.core.text import CJK_CHUNK_SHARE, cjk_share, is_cjk_question
from rag.core.types import Chunk


@dataclass
class Candidate:
    """A chunk found by any leg, with every leg's score (completed for a leg that missed it, where that
    leg holds a vector for the chunk: the e5 leg covers only the chunks the multilingual mode selects)."""

    chunk: Chunk
    dense: float | None = None  # cosine similarity (MiniLM)
    lexical: float | None = None  # BM25 (0.0: no term in common)
    dense_rank: int | None = None  # 1-based rank in the dense leg, None when that leg did not return it
    lexical_rank: int | None = None
    score: float = 0.0
    e5: float | None = None  # cosine similarity in the multilingual leg; None: not run, or no e5 vector
    e5_rank: int | None = None
    loaded: bool = True  # False: only `chunk.id` is known yet (loading.load reads the kept ones)


# multilingual-e5-small's cosines run high: unrelated question/passage pairs score ~0.70-0.72 ("Who won
# the 2018 FIFA World Cup?" against the solar-system guide), an answering passage in another language
# ~0.78 (Korean "금성의 평균 표면 온도는?" against "Venus ... 465 °C"); [0.7, 0.9] is mapped onto [0, 1].
E5_UNRELATED = 0.7
E5_SPAN = 0.2


def best_similarity(c: Candidate) -> float | None:
    """The passage's similarity on MiniLM's scale, shown as `Hit.dense_score` and read by the off-topic
    filter (rag/safety): MiniLM's cosine, or the e5 cosine rescaled from [0.7, 0.9] to [0, 1] when
    that is higher (MiniLM cannot compare a Korean question with an English passage; e5 can). The Korean
    Venus question above gets 0.38, over the off-topic filter's 0.28; the World Cup question 0.11."""
    if c.e5 is None:
        return c.dense
    rescaled = min(1.0, max(0.0, (c.e5 - E5_UNRELATED) / E5_SPAN))
    return rescaled if c.dense is None else max(c.dense, rescaled)


def _minmax(values: Sequence[float | None]) -> list[float]:
    present = [v for v in values if v is not None]
    if not present:
        return [0.0] * len(values)
    lo, hi = min(present), max(present)
    return [0.0 if v is None else ((v - lo) / (hi - lo) if hi > lo else 1.0) for v in values]


def _ranks(values: Sequence[float | None]) -> list[int | None]:
    """1-based rank by descending value; None for missing or non-positive BM25 (no shared term)."""
    order = sorted((i for i, v in enumerate(values) if v is not None), key=lambda i: -values[i])
    ranks: list[int | None] = [None] * len(values)
    for r, i in enumerate(order, 1):
        ranks[i] = r
    return ranks


def fuse(
    cands: Sequence[Candidate],
    mode: str,
    *,
    method: str = "rrf",
    dense_weight: float = 1.0,
    lexical_weight: float = 1.0,
    rrf_k: int = 60,
    e5_weight: float = 0.0,
) -> list[Candidate]:
    """Score the candidates (in place) and return them best first.

    Single-leg modes keep that leg's score ("dense" with an e5 leg: the weighted sum of both dense legs).
    Hybrid, `method`:
    - "rrf": weighted reciprocal rank fusion over the candidate pool, each leg ranking every candidate
      by its completed score, so a passage the other leg missed still gets that leg's (low) rank;
    - "rrf-legs": textbook RRF on the legs' own ranks (a leg that missed a passage adds nothing);
    - "sum": weighted sum of min-max normalised cosine and BM25 (the measured alternative).
    The e5 leg joins each fusion with `e5_weight` (0: not at all).
    """
    use_e5 = e5_weight > 0 and any(c.e5 is not None for c in cands)
    if mode == "dense" and use_e5:
        mode, method, lexical_weight = "hybrid", "sum", 0.0
    if mode == "dense":
        for c in cands:
            c.score = c.dense or 0.0
    elif mode == "lexical":
        for c in cands:
            c.score = c.lexical or 0.0
    elif method == "sum":
        dense, lexical = _minmax([c.dense for c in cands]), _minmax([c.lexical for c in cands])
        e5 = _minmax([c.e5 for c in cands]) if use_e5 else [0.0] * len(cands)
        for c, d, lx, e in zip(cands, dense, lexical, e5, strict=True):
            c.score = dense_weight * d + lexical_weight * lx + e5_weight * e
    else:
        if method == "rrf":
            d_ranks = _ranks([c.dense for c in cands])
            l_ranks = _ranks([c.lexical if c.lexical else None for c in cands])
            e_ranks = _ranks([c.e5 for c in cands])
        else:
            d_ranks, l_ranks = [c.dense_rank for c in cands], [c.lexical_rank for c in cands]
            e_ranks = [c.e5_rank for c in cands]
        for c, dr, lr, er in zip(cands, d_ranks, l_ranks, e_ranks, strict=True):
            c.score = (dense_weight / (rrf_k + dr) if dr else 0.0) + (lexical_weight / (rrf_k + lr) if lr else 0.0)
            if use_e5 and er:
                c.score += e5_weight / (rrf_k + er)
    return sorted(cands, key=lambda c: (-c.score, -(c.dense or 0.0)))


def parent_key(c: Candidate) -> str:
    """What a returned passage is: the parent of a child, else the chunk itself."""
    return c.chunk.parent_id or c.chunk.id


def first_per_parent(ranked: Sequence[Candidate], k: int, skip: Collection[str] = ()) -> list[Candidate]:
    """The first `k` candidates, counting each parent once (its best-ranked child), leaving out `skip`."""
    out: list[Candidate] = []
    seen = set(skip)
    for c in ranked:
        if len(out) >= k:
            break
        if parent_key(c) not in seen:
            seen.add(parent_key(c))
            out.append(c)
    return out


def other_language(c: Candidate, question_cjk: bool) -> bool:
    """The candidate's passage is in the other script family than the question (CJK vs the rest)."""
    return (cjk_share(c.chunk.text) >= CJK_CHUNK_SHARE) != question_cjk


def reserve_other_language(ranked: list[Candidate], query: str, k: int, slots: int) -> list[Candidate]:
    """Cross-lingual mode: keep up to `slots` of the first `k` passages (each parent once) for the best
    passages in the other language, by their e5 cosine, when e5 finds one that is not unrelated.

    In a library holding both languages, same-language passages win every leg: BM25 needs shared words,
    and even e5 scores a same-language passage above an answering one in the other language (crosslingual
    benchmark, Korean questions over the mixed library: hit@6 0.15 fused, 0.60 e5 alone, 1.00 e5 over the
    English documents only). The user turned cross-lingual on to be shown those passages, so they get
    places instead of competing for them. Scores are raised (not just the order) so MMR keeps them too."""
    if slots <= 0 or not ranked:
        return ranked
    question_cjk = is_cjk_question(query)
    top = first_per_parent(ranked, k)
    have = {parent_key(c) for c in top if other_language(c, question_cjk)}
    if len(have) >= slots:
        return ranked
    pool = sorted(
        (c for c in ranked if c.e5 is not None and c.e5 >= E5_UNRELATED and other_language(c, question_cjk)),
        key=lambda c: -(c.e5 or 0.0),
    )
    chosen = first_per_parent(pool, slots - len(have), skip=have)
    if not chosen:
        return ranked
    # They take the places of the last same-language passages of the top k.
    cut = max(0, min(len(top), k) - len(chosen) - 1)
    floor = top[cut].score if top else 0.0
    for i, c in enumerate(chosen):
        c.score = floor - (i + 1) * 1e-9
    return sorted(ranked, key=lambda c: (-c.score, -(c.dense or 0.0)))


def dense_weight_for(query: str, dense_weight: float, cjk_dense_weight: float) -> float:
    """MiniLM's weight for this question: `cjk_dense_weight` when most of its letters are Hangul, Han or
    Kana, because MiniLM is English-only and its ranking of such text is mostly noise (KorQuAD dense
    hit@1,000 words 0.21 against 0.99 lexical); the e5 leg carries such questions instead."""
    return cjk_dense_weight if is_cjk_question(query) else dense_weight


def e5_weight_for(query: str, mode: str, cjk_weight: float, other_weight: float) -> float:
    """The e5 leg's weight for this question under DOCQA_MULTILINGUAL `mode` (0: the leg does not run):
    CJK questions in auto and cross-lingual, every question in cross-lingual."""
    if mode == "off":
        return 0.0
    if is_cjk_question(query):
        return cjk_weight
    return other_weight if mode == "cross-lingual" else 0.0


def mmr_select(relevance: np.ndarray, vectors: np.ndarray, keys: Sequence[str], k: int, lam: float) -> list[int]:
    """Maximal marginal relevance; picking one candidate removes the others with the same key (parent)."""
    chosen: list[int] = []
    used: set[str] = set()
    sim = vectors @ vectors.T if len(vectors) else np.zeros((0, 0))
    best_sim = np.full(len(relevance), -np.inf)
    while len(chosen) < k:
        redundancy = np.where(np.isfinite(best_sim), best_sim, 0.0)
        score = lam * relevance - (1 - lam) * redundancy
        for i in range(len(relevance)):
            if i in chosen or keys[i] in used:
                score[i] = -np.inf
        i = int(np.argmax(score)) if len(score) else -1
        if i < 0 or not np.isfinite(score[i]):
            break
        chosen.append(i)
        used.add(keys[i])
        best_sim = np.maximum(best_sim, sim[i])
    return chosen
