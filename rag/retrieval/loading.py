"""Reading candidates from the store as late and as little as retrieval allows (issue 14, query latency).

Each Chroma read costs ~5 ms at 100k chunks however few records it returns, and text with metadata costs
twice the vectors (Chroma keeps metadata as one row per key; benchmarks/query.py). A hybrid question
scores ~80 passages only BM25 found, but keeps k of them, so:
- the BM25 leg runs in a worker thread while the question is embedded and the dense leg searches, and
  reads its passages' vectors only (`LexicalPrefetch`);
- those passages stay "unloaded" (id and scores) through fusion; `load` and `first_parents` read the text
  and metadata of the few that retrieval keeps.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from rag.core.protocols import ChunkIndex, LexicalIndex
from rag.core.types import Chunk
from rag.retrieval.fusion import Candidate, first_per_parent


def unloaded(chunk_id: str, strategy: str) -> Chunk:
    """The stand-in chunk of an unloaded candidate: its id only."""
    return Chunk(id=chunk_id, doc_id="", strategy=strategy, index=-1, text="", start=0, end=0, source="", title="")


def load(store: ChunkIndex, strategy: str, cands: list[Candidate], allowed: set[str]) -> list[Candidate]:
    """`cands` with the unloaded ones given their text and metadata (one store read), in order; one
    removed meanwhile, or of a document not allowed, is left out."""
    lacking = [c.chunk.id for c in cands if not c.loaded]
    if not lacking:
        return cands
    found = {c.id: c for c in store.get_chunks(strategy, lacking)}
    kept = []
    for c in cands:
        if not c.loaded:
            chunk = found.get(c.chunk.id)
            if chunk is None or chunk.doc_id not in allowed:
                continue
            c.chunk, c.loaded = chunk, True
        kept.append(c)
    return kept


def first_parents(
    store: ChunkIndex, strategy: str, ranked: list[Candidate], k: int, allowed: set[str]
) -> list[Candidate]:
    """first_per_parent over `ranked`, loading only as deep as it reads (2k first, then doubling): the
    top k parents are the same as over the whole list once k of them are found in a prefix."""
    depth = 2 * k
    while True:
        head = load(store, strategy, ranked[:depth], allowed)
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
