"""Retrieval: dense and BM25 legs, weighted reciprocal-rank fusion, threshold, MMR, parents, budget.

One question, one strategy collection:
1. dense leg: the `fetch_k` nearest chunks by cosine (Chroma), ids and cosines only;
2. lexical leg: the `fetch_k` best BM25 chunks (rag/backends/bm25.py), kept fresh against the store,
   run in a worker thread beside steps 1 and the query embedding (rag/retrieval/loading.py);
3. every candidate gets its dense cosine (fetched vectors for lexical-only ones), so the relevance
   threshold means the same in every mode, and in hybrid its BM25 score too; text and metadata are
   read after fusion for the candidates kept, and a passage of a document not committed yet (an
   ingest in flight) makes the question be searched again with everything read up front;
4. fusion (hybrid), DOCQA_FUSION: "sum" (default) = dense_weight * minmax(cosine) + lexical_weight *
   minmax(BM25) over the candidate pool; "rrf" = weighted reciprocal rank fusion of the two rankings.
   The dense weight drops to cjk_dense_weight for questions mostly in Hangul/Han/Kana, since the bundled
   embedder is English-only. benchmarks/retrieval.py --tune measured 48 settings on COVID-QA and KorQuAD:
   the normalised sum gave the best hit@1,000 words and MRR@10 on English, and with the CJK weight at
   0.25 it matches or beats BM25 alone on Korean (the README's retrieval table).
   Multilingual leg (DOCQA_MULTILINGUAL): CJK questions (auto) or every question (cross-lingual) also
   query the strategy's e5 side collection with a multilingual-e5 query vector; its cosine joins the sum
   with DOCQA_E5_WEIGHT (DOCQA_E5_ENGLISH_WEIGHT for other questions). Without the engine the leg is
   skipped and the first such question carries a notice saying why (BM25 still covers Korean).
   When no candidate passes the relevance threshold, `closest` still carries the best few;
5. optional MMR over the fused candidates (relevance = normalised fused score, redundancy = cosine);
6. parent-child: parents ranked by their best child, each parent once (`Hit.chunk` = the parent the
   model reads, `Hit.matched` = the child the citation points at);
7. top `k`, then the context budget in embedder tokens: sources in rank order until it is used.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.core.errors import ModelNotAvailable
from rag.core.protocols import ChunkIndex, Embedder, LexicalIndex
from rag.core.types import Chunk, Hit, Strategy, multilingual_kind
from rag.retrieval.fusion import (
    Candidate,
    dense_weight_for,
    e5_weight_for,
    fuse,
    mmr_select,
    parent_key,
    reserve_other_language,
)
from rag.retrieval.loading import LexicalPrefetch, first_parents, hits_of, load, unloaded, within_tokens

log = logging.getLogger(__name__)

__all__ = ["CLOSEST", "MODES", "Candidate", "Retrieval", "Retriever", "dense_weight_for", "fuse", "mmr_select"]

MODES = ("hybrid", "dense", "lexical")
CLOSEST = 3  # passages shown instead of an answer when nothing passes the threshold


@dataclass
class _Ask:
    """One question's resolved retrieval arguments (retrieve() fills the defaults from Settings)."""

    query: str
    strategy: str
    k: int
    mode: str
    mmr: bool
    threshold: float
    fetch_k: int
    allowed: set[str]  # committed documents the question may search (after doc_filter)
    filtered: bool  # doc_filter was given
    budget_tokens: int | None


@dataclass
class Retrieval:
    hits: list[Hit] = field(default_factory=list)
    closest: list[Hit] = field(default_factory=list)  # filled only when no hit passed the threshold
    notice: str = ""
    timings: dict[str, float] = field(default_factory=dict)


class Retriever:
    """Retrieval over a ChunkIndex; defaults come from Settings, per-call arguments override them."""

    def __init__(
        self,
        store: ChunkIndex,
        embedder,
        counter,
        settings,
        lexical_factory: Callable[[ChunkIndex, str, Path], LexicalIndex],
        lexical_folder: str | Path | None = None,
        multilingual: Embedder | None = None,
    ):
        self.store = store
        self.embedder = embedder
        self.counter = counter
        self.settings = settings
        self.lexical_factory = lexical_factory  # (store, strategy, folder) -> index; BM25 in the app
        self.lexical_folder = Path(lexical_folder or settings.resolved_index_dir / "lexical")
        self._lexical: dict[str, LexicalIndex] = {}
        self._lock = threading.Lock()
        self.multilingual = multilingual  # the e5 embedder (None: DOCQA_MULTILINGUAL=off)
        self.multilingual_notice = ""  # why the e5 leg is off, once it failed to load
        self._told = False  # the notice goes out with one answer, not every answer
        self.prefetch = LexicalPrefetch()  # the BM25 leg beside the embedding and the dense search

    def lexical(self, strategy: str | Strategy) -> LexicalIndex:
        strategy = Strategy(strategy).value
        with self._lock:
            if strategy not in self._lexical:
                self._lexical[strategy] = self.lexical_factory(self.store, strategy, self.lexical_folder)
            return self._lexical[strategy]

    def refresh(self, strategies: Sequence[str | Strategy]) -> None:
        """Bring the lexical indexes of these strategies up to date (after an ingest batch)."""
        for strategy in strategies:
            self.lexical(strategy).refresh()

    # --- the pipeline ----------------------------------------------------------------------------
    def retrieve(
        self,
        query: str,
        *,
        strategy: str | Strategy | None = None,
        k: int | None = None,
        mode: str | None = None,
        mmr: bool | None = None,
        threshold: float | None = None,
        doc_filter: Sequence[str] | None = None,
        budget_tokens: int | None = None,
        fetch_k: int | None = None,
    ) -> Retrieval:
        """Ranked hits for `query`. Arguments left as None take the settings' values, except
        `budget_tokens` (None: no token budget, only `k`) and `doc_filter` (None: every document;
        otherwise document sources or doc ids)."""
        s = self.settings
        strategy = Strategy(strategy or s.strategy).value
        k = k or s.top_k
        mode = mode or s.retrieval_mode
        mmr = s.mmr if mmr is None else mmr
        threshold = s.relevance_threshold if threshold is None else threshold
        fetch_k = max(fetch_k or s.fetch_k, k)
        if mode not in MODES:
            raise ValueError(f"unknown retrieval mode {mode!r}; choose {', '.join(MODES)}")
        out = Retrieval()
        t0 = time.perf_counter()
        if not query.strip():
            out.notice = "The question is empty."
            return out
        records = self.store.list_documents()
        committed = {r.doc_id for r in records if strategy in r.chunks}
        allowed = committed
        if doc_filter:
            wanted = set(doc_filter)
            allowed = {r.doc_id for r in records if r.source in wanted or r.doc_id in wanted} & committed
        if not allowed:
            out.notice = (
                "None of the selected documents is indexed with this strategy."
                if doc_filter and committed
                else f"No documents are indexed with the {strategy} strategy yet."
            )
            return out

        a = _Ask(query, strategy, k, mode, mmr, threshold, fetch_k, allowed, bool(doc_filter), budget_tokens)
        foreign = self._search(a, out, t0, lazy=True)
        if foreign:  # an ingest in flight: the lazy dense leg met its passages; the eager one filters them
            log.debug("an ingest is in flight (%d passages not committed): searching again eagerly", len(foreign))
            out = Retrieval(notice=out.notice if out.notice == self.multilingual_notice else "")  # said once
            self._search(a, out, t0, lazy=False)
        return out

    def _search(self, a: _Ask, out: Retrieval, t0: float, lazy: bool) -> list[str]:
        """Fill `out`. `lazy` (rag/retrieval/loading.py): candidates are read after fusion; returns the ids
        of passages met that belong to no committed document (an ingest in flight; never returned)."""
        foreign: list[str] = []
        s = self.settings
        prefetched = None
        if a.mode == "hybrid":
            index, only = self.lexical(a.strategy), a.allowed if a.filtered else None
            prefetched = self.prefetch.submit(self.store, index, a.strategy, a.query, a.fetch_k, only)
        qvec = np.asarray(self.embedder.embed_query(a.query), dtype=np.float32)
        out.timings["embed"] = time.perf_counter() - t0
        e5_weight = self.e5_weight(a.query) if a.mode != "lexical" else 0.0
        e5vec = self.e5_query(a.query, a.strategy, out) if e5_weight > 0 else None
        cands, vectors = self.gather(
            a.query,
            qvec,
            a.strategy,
            a.mode,
            a.fetch_k,
            a.allowed,
            a.filtered,
            with_vectors=a.mmr,
            timings=out.timings,
            e5vec=e5vec,
            lazy=lazy,
            prefetched=prefetched,
        )
        t = time.perf_counter()
        ranked = fuse(
            cands,
            a.mode,
            method=s.fusion,
            dense_weight=dense_weight_for(a.query, s.dense_weight, s.cjk_dense_weight),
            lexical_weight=s.lexical_weight,
            rrf_k=s.rrf_k,
            e5_weight=e5_weight if e5vec is not None else 0.0,
        )
        if e5vec is not None and s.multilingual == "cross-lingual":  # reads every candidate's language
            ranked = load(self.store, a.strategy, ranked, a.allowed, foreign)
            ranked = reserve_other_language(ranked, a.query, a.k, s.cross_lingual_slots)
        passed = [c for c in ranked if a.threshold <= 0 or (c.dense or 0.0) >= a.threshold]
        if not passed:
            best = max((c.dense or 0.0) for c in ranked) if ranked else 0.0
            closest = first_parents(self.store, a.strategy, ranked, min(a.k, CLOSEST), a.allowed, foreign)
            out.closest = hits_of(self.store, a.strategy, closest)
            out.notice = (
                f"No passage reached the relevance threshold {a.threshold:.2f} (best similarity {best:.2f}); "
                "showing the closest passages instead of answering."
                if ranked
                else "Nothing in the documents matches this question."
            )
            out.timings["fuse"] = time.perf_counter() - t
            out.timings["total"] = time.perf_counter() - t0
            return foreign
        if a.mmr:
            passed = [c for c in load(self.store, a.strategy, passed, a.allowed, foreign) if c.chunk.id in vectors]
            relevance = np.array([c.score for c in passed], dtype=np.float32)
            span = float(relevance.max() - relevance.min())
            relevance = (relevance - relevance.min()) / span if span > 0 else np.ones_like(relevance)
            keys = [parent_key(c) for c in passed]
            matrix = np.stack([vectors[c.chunk.id] for c in passed])
            selected = [passed[i] for i in mmr_select(relevance, matrix, keys, a.k, s.mmr_lambda)]
        else:
            selected = first_parents(self.store, a.strategy, passed, a.k, a.allowed, foreign)
        out.hits = within_tokens(self.counter, hits_of(self.store, a.strategy, selected), a.budget_tokens)
        out.timings["fuse"] = time.perf_counter() - t
        out.timings["total"] = time.perf_counter() - t0
        return foreign

    # --- steps -----------------------------------------------------------------------------------
    def e5_weight(self, query: str) -> float:
        """The multilingual leg's weight for this question (0: it does not run)."""
        if self.multilingual is None:
            return 0.0
        s = self.settings
        return e5_weight_for(query, s.multilingual, s.e5_weight, s.e5_english_weight)

    def e5_query(self, query: str, strategy: str, out: Retrieval | None = None) -> np.ndarray | None:
        """The e5 query vector, or None when the leg cannot run: the engine does not load (the first such
        question's `out.notice` says why) or the strategy has no e5 side collection yet."""
        t = time.perf_counter()
        try:
            vector = np.asarray(self.multilingual.embed_query(query), dtype=np.float32)
        except ModelNotAvailable as exc:
            self.multilingual_notice = (
                f"Multilingual search is off: {exc}. Keyword search (BM25) still finds Korean, Chinese and "
                "Japanese text; questions in one language do not find passages in another."
            )
            if out is not None and not self._told:
                self._told = True
                out.notice = self.multilingual_notice
            return None
        finally:
            if out is not None:
                out.timings["embed_e5"] = time.perf_counter() - t
        if multilingual_kind(strategy) not in self.store.searchable_kinds():
            return None
        return vector

    def _dense(
        self, strategy: str, qvec: np.ndarray, n: int, allowed: set[str], filtered: bool, lazy: bool = False
    ) -> list[tuple[Chunk, float]]:
        """Nearest chunks of allowed documents. Unfiltered first (cheapest); chunks of documents not
        committed (an ingest in flight) are dropped, and if any were, the search is redone filtered.
        `lazy`: ids and cosines only (a third of the cost: loading.py), as unloaded chunks; an uncommitted
        one is then met when loaded, and retrieve() searches again eagerly."""
        if lazy:
            found = self.store.query_ids(strategy, qvec, n, doc_ids=sorted(allowed) if filtered else None)
            return [(unloaded(cid, strategy), cos) for cid, cos in found]
        if not filtered:
            found = self.store.query(strategy, qvec, n)
            kept = [(c, cos) for c, cos in found if c.doc_id in allowed]
            if len(kept) == len(found):
                return kept
        return self.store.query(strategy, qvec, n, doc_ids=sorted(allowed))

    def gather(
        self,
        query: str,
        qvec: np.ndarray,
        strategy: str,
        mode: str,
        fetch_k: int,
        allowed: set[str],
        filtered: bool,
        with_vectors: bool = False,
        timings: dict[str, float] | None = None,
        e5vec: np.ndarray | None = None,
        lazy: bool = False,
        prefetched: Future | None = None,
    ) -> tuple[list[Candidate], dict[str, np.ndarray]]:
        """Run the legs of `mode` (and the e5 leg when `e5vec` is given) and complete every candidate's
        cosine, its e5 cosine where it has an e5 vector, and in hybrid its BM25. `lazy`: the dense leg's and
        BM25's passages come back unloaded (scores and id only; loading.load reads the ones retrieval keeps).
        `prefetched`: the BM25 leg already running (loading.LexicalPrefetch), with its passages' vectors."""
        timings = {} if timings is None else timings
        cands: dict[str, Candidate] = {}
        if mode != "lexical":
            t = time.perf_counter()
            for rank, (chunk, cos) in enumerate(self._dense(strategy, qvec, fetch_k, allowed, filtered, lazy), 1):
                cands[chunk.id] = Candidate(chunk, dense=cos, dense_rank=rank, loaded=not lazy)
            timings["dense"] = time.perf_counter() - t
        if e5vec is not None:
            t = time.perf_counter()
            side = multilingual_kind(strategy)
            for rank, (chunk, cos) in enumerate(self._dense(side, e5vec, fetch_k, allowed, filtered), 1):
                cand = cands.setdefault(chunk.id, Candidate(chunk))
                if not cand.loaded:  # the lazy dense leg's stand-in: the e5 leg read the chunk already
                    cand.chunk, cand.loaded = chunk, True
                cand.e5, cand.e5_rank = cos, rank
            timings["e5"] = time.perf_counter() - t
        if mode == "dense" and not with_vectors and e5vec is None:
            return list(cands.values()), {}
        t = time.perf_counter()
        index = self.lexical(strategy)
        fetched: dict[str, np.ndarray] = {}
        if prefetched is not None:
            lexical_hits, fetched = prefetched.result()
        elif mode != "dense":
            lexical_hits = index.search(query, fetch_k, doc_ids=allowed if filtered else None)
        else:
            lexical_hits = []
        for rank, (cid, score) in enumerate(lexical_hits, 1):
            if cid in cands:
                cands[cid].lexical, cands[cid].lexical_rank = score, rank
        if mode == "hybrid":  # BM25 of the passages only the dense leg found
            missing = [cid for cid, c in cands.items() if c.lexical is None]
            for cid, score in index.scores_for(query, missing).items():
                cands[cid].lexical = score
        timings["lexical"] = time.perf_counter() - t
        new = [(rank, cid, score) for rank, (cid, score) in enumerate(lexical_hits, 1) if cid not in cands]
        known = list(cands) if with_vectors else [cid for cid, c in cands.items() if c.dense is None]
        need = known + [cid for _, cid, _ in new]
        e5_scores = self._complete_e5(cands, [cid for _, cid, _ in new], strategy, e5vec) if e5vec is not None else {}
        if not need:
            return list(cands.values()), {}
        if lazy:  # vectors only; text and metadata of the few kept are loaded after fusion (loading.load)
            vectors = {cid: fetched[cid] for cid in need if cid in fetched}
            vectors.update(self.store.get_vectors(strategy, [cid for cid in need if cid not in fetched]))
            for rank, cid, score in new:
                if cid in vectors:  # else removed since the index was built
                    cands[cid] = Candidate(unloaded(cid, strategy), lexical=score, lexical_rank=rank,
                                           e5=e5_scores.get(cid), loaded=False)  # fmt: skip
        else:
            chunks, matrix = self.store.get_chunks(strategy, need, with_embeddings=True)
            vectors = {c.id: v for c, v in zip(chunks, matrix, strict=True)}
            by_id = {c.id: c for c in chunks}
            for rank, cid, score in new:
                chunk = by_id.get(cid)
                if chunk is not None and chunk.doc_id in allowed:  # else removed since the index was built
                    cands[cid] = Candidate(chunk, lexical=score, lexical_rank=rank, e5=e5_scores.get(cid))
        for cid, c in cands.items():
            if c.dense is None and cid in vectors:
                c.dense = float(vectors[cid] @ qvec)
        return list(cands.values()), vectors

    def _complete_e5(
        self, cands: dict[str, Candidate], new: list[str], strategy: str, e5vec: np.ndarray
    ) -> dict[str, float]:
        """e5 cosines of the candidates the e5 leg did not return (and of `new` ids), from their stored e5
        vectors; a chunk the mode left out of the side collection keeps None (fusion: the lowest)."""
        lacking = [cid for cid, c in cands.items() if c.e5 is None] + new
        if not lacking:
            return {}
        vectors = self.store.get_vectors(multilingual_kind(strategy), lacking)
        scores = {cid: float(v @ e5vec) for cid, v in vectors.items()}
        for cid, c in cands.items():
            if c.e5 is None and cid in scores:
                c.e5 = scores[cid]
        return scores
