"""Reading candidates from the store as late and as little as retrieval allows (issue 14, query latency).

Each Chroma read costs ~5 ms at 100k chunks however few records it returns, and text with metadata is
most of a read's cost (Chroma keeps metadata as one row per key): a dense search of 80 results takes
~13 ms with them and ~4 ms with ids and distances only (benchmarks/query.py, 100k chunks). A hybrid
question scores ~160 passages but keeps k of them, so:
- the dense leg asks for ids and distances only;
- the BM25 leg runs in a worker thread while the question is embedded and the dense leg searches, and
  reads its passages' vectors only (`LexicalPrefetch`);
- candidates stay "unloaded" (id and scores) through fusion; `load` and `first_parents` read the text and
  metadata of the few that retrieval keeps, in one read.
Without metadata the dense leg cannot drop the passages of a document still being ingested before
fusion; `load` reports them (`foreign`) and the Retriever then searches again the eager way.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from rag.core.protocols import ChunkIndex, LexicalIndex, TokenCounter
from rag.core.types import PARENTS, Chunk, Hit, Strategy
from rag.retrieval.fusion import Candidate, best_similarity, first_per_parent


def unloaded(chunk_id: str, strategy: str) -> Chunk:
    """The stand-in chunk of an unloaded candidate: its id only."""
    return Chunk(id=chunk_id, doc_id="", strategy=strategy, index=-1, text="", start=0, end=0, source="", title="")


def load(
    store: ChunkIndex, strategy: str, cands: list[Candidate], allowed: set[str], foreign: list[str] | None = None
) -> list[Candidate]:
    """`cands` with the unloaded ones given their text and metadata (one store read), in order; one
    removed meanwhile, or of a document not allowed, is left out (the latter's id added to `foreign`)."""
    lacking = [c.chunk.id for c in cands if not c.loaded]
    if not lacking:
        return cands
    found = {c.id: c for c in store.get_chunks(strategy, lacking)}
    kept = []
    for c in cands:
        if not c.loaded:
            chunk = found.get(c.chunk.id)
            if chunk is None or chunk.doc_id not in allowed:
                if chunk is not None and foreign is not None:
                    foreign.append(chunk.id)
                continue
            c.chunk, c.loaded = chunk, True
        kept.append(c)
    return kept


def first_parents(
    store: ChunkIndex,
    strategy: str,
    ranked: list[Candidate],
    k: int,
    allowed: set[str],
    foreign: list[str] | None = None,
) -> list[Candidate]:
    """first_per_parent over `ranked`, loading only as deep as it reads (2k first, then doubling): the
    top k parents are the same as over the whole list once k of them are found in a prefix."""
    depth = 2 * k
    while True:
        head = load(store, strategy, ranked[:depth], allowed, foreign)
        chosen = first_per_parent(head, k)
        if len(chosen) >= k or depth >= len(ranked):
            return chosen
        ranked = head + ranked[depth:]
        depth = min(len(ranked), depth * 2)


class LexicalPrefetch:
    """Runs the BM25 leg, and reads its passages' vectors, in one worker thread per retriever (made on the
    first hybrid question), so it overlaps the query embedding and the dense search."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(
        self, store: ChunkIndex, index: LexicalIndex, strategy: str, query: str, k: int, doc_ids: set[str] | None
    ) -> Future:
        """A future of (BM25 hits [(chunk id, score)], {chunk id: vector} of those hits)."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="docqa-bm25")
            pool = self._pool
        return pool.submit(_lexical_leg, store, index, strategy, query, k, doc_ids)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)


def _lexical_leg(store: ChunkIndex, index: LexicalIndex, strategy: str, query: str, k: int, doc_ids) -> tuple:
    hits = index.search(query, k, doc_ids=doc_ids)
    vectors: dict[str, Any] = store.get_vectors(strategy, [cid for cid, _ in hits]) if hits else {}
    return hits, vectors


def hits_of(store: ChunkIndex, strategy: str, selected: Sequence[Candidate]) -> list[Hit]:
    """The selected candidates as ranked hits; a parent-child child shown as its parent (one read)."""
    parents: dict[str, Chunk] = {}
    parent_ids = [c.chunk.parent_id for c in selected if c.chunk.parent_id]
    if strategy == Strategy.PARENT_CHILD.value and parent_ids:
        parents = {p.id: p for p in store.get_chunks(PARENTS, parent_ids)}
    hits = []
    for rank, c in enumerate(selected, 1):
        parent = parents.get(c.chunk.parent_id or "")
        hits.append(
            Hit(
                chunk=parent or c.chunk,
                score=float(c.score),
                dense_score=best_similarity(c),
                lexical_score=c.lexical,
                rank=rank,
                matched=c.chunk if parent else None,
            )
        )
    return hits


def within_tokens(counter: TokenCounter, hits: list[Hit], budget_tokens: int | None) -> list[Hit]:
    """Sources in rank order while they fit in `budget_tokens` embedder tokens (at least one)."""
    if not budget_tokens or len(hits) <= 1:
        return hits
    counts = counter.count([h.chunk.text for h in hits])
    kept, used = [], 0
    for hit, n in zip(hits, counts, strict=True):
        if kept and used + n > budget_tokens:
            break
        kept.append(hit)
        used += n
    return kept
