"""The chunk store: Chroma collections (embedded or server) with all-or-nothing documents.

Layout, one Chroma database, base name B (DOCQA_COLLECTION):
- `B__sentence`, `B__overlap`, `B__parent_child`: one searchable collection per strategy, so each
  carries its own fingerprint (embedder + chunker parameters) and a strategy's search never has to
  filter out the others' chunks.
- `B__parents`: parent passages of the parent-child strategy (returned, never searched).
- `B__registry`: one record per document (the commit point), pending markers, and a generation counter
  that derived indexes (BM25) compare against to know they are stale.
Keeping the registry inside Chroma (rather than a local SQLite) means server mode shares it too.

Chroma has no transactions, so a document becomes visible through a two-phase protocol: a pending marker
is written, then the chunks, then the registry record (a single upsert, the commit), then old chunks are
deleted and the marker removed. `recover()` finishes or rolls back whatever a kill interrupted, and
readers only trust chunks whose doc_id the registry has committed for that strategy.

Chroma 1.5.x can also leave chunks that no query finds (chroma-core/chroma#7758), so every write is
verified by self-querying the chunks just written, and the affected collection is rebuilt from its stored
vectors when one is lost; chroma_health.py holds that check and the crash-safe rebuild.

Opening the database (make_client) lives in chroma_client.py; the chunk metadata and fingerprints written
into Chroma in chroma_records.py. Callers know this class only as rag.core.protocols.ChunkIndex.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from rag.backends.chroma_health import REBUILD_SUFFIX, ReachabilityMixin
from rag.backends.chroma_multilingual import MultilingualMixin
from rag.backends.chroma_orphans import OrphanMixin, merge_orphans
from rag.backends.chroma_records import check_fingerprint, chunk_from_record, chunk_to_metadata, collection_fingerprint
from rag.backends.e5_embedder import E5_DIMENSION, E5_NAME
from rag.core.text import text_key
from rag.core.types import PARENTS, REGISTRY, Chunk, DocumentRecord, base_strategy, multilingual_kind

_UNIT = [1.0]  # placeholder vector for collections that are never searched
_HNSW = {"hnsw": {"space": "cosine", "ef_search": 200, "ef_construction": 200}}
DOCUMENTS_MEMO_S = 5.0  # list_documents() re-reads the registry at least this often


class ChunkStore(ReachabilityMixin, OrphanMixin, MultilingualMixin):
    """Chroma-backed storage for documents and their chunks, one collection per strategy (and its e5
    side collection, rag/backends/chroma_multilingual.py)."""

    def __init__(
        self,
        client,
        base: str,
        embedder_name: str,
        dimension: int,
        params: dict[str, dict],
        multilingual=None,
        multilingual_mode: str = "off",
    ) -> None:
        self._client = client
        self.base = base
        self.embedder_name = embedder_name
        self.dimension = dimension
        self.params = params  # strategy value -> chunker parameters, part of the fingerprint
        self._collections: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._documents: tuple[tuple, list[DocumentRecord]] | None = None  # (generation stamp, records)
        self._orphan_memo: dict = {}  # chroma_orphans.py: chunks searched exactly, per collection
        self.verify_writes = True  # self-query what replace_document wrote (chroma_health.py)
        self.multilingual = multilingual  # the e5 embedder of the side collections (None: mode off)
        self.multilingual_mode = multilingual_mode

    # --- collections ---------------------------------------------------------------------------

    def close(self) -> None:
        """Release the client's files and connections (Chroma >= 1.5 counts clients per path and stops
        the shared system with the last one)."""
        close = getattr(self._client, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):
                close()

    def collection_name(self, kind: str) -> str:
        return f"{self.base}__{kind.replace('-', '_')}"

    def _fingerprint(self, kind: str) -> dict[str, Any]:
        strategy = base_strategy(kind)
        if strategy != kind:  # an e5 side collection
            return collection_fingerprint(E5_NAME, E5_DIMENSION, self.params.get(strategy, {}))
        return collection_fingerprint(self.embedder_name, self.dimension, self.params.get(strategy, {}))

    def collection(self, kind: str):
        """Open (or create) a collection; strategy collections are checked against the fingerprint."""
        with self._lock:
            if kind in self._collections:
                return self._collections[kind]
            name = self.collection_name(kind)
            searchable = kind not in (PARENTS, REGISTRY)
            fingerprint = self._fingerprint(kind) if searchable else {"docqa_role": kind}
            col = self._open_collection(name, fingerprint)
            if searchable:
                check_fingerprint(name, col.metadata or {}, fingerprint)
            self._collections[kind] = col
            return col

    def _open_collection(self, name: str, metadata: dict[str, Any]):
        return self._client.get_or_create_collection(
            name=name, embedding_function=None, metadata=metadata, configuration=_HNSW
        )

    def drop(self, kinds: Sequence[str]) -> None:
        """Delete collections outright (re-index after a fingerprint change)."""
        with self._lock:
            self._documents = None
            if REGISTRY not in kinds:  # (dropping the registry drops the orphan lists with it)
                for kind in set(kinds) & set(self.searchable_kinds()):
                    self.clear_orphans(kind)
            for kind in kinds:
                self._collections.pop(kind, None)
                for name in (self.collection_name(kind), self.collection_name(kind) + REBUILD_SUFFIX):
                    with contextlib.suppress(Exception):  # an absent collection is fine
                        self._client.delete_collection(name)

    # --- registry --------------------------------------------------------------------------------
    def _registry(self):
        return self.collection(REGISTRY)

    def get_document(self, source: str) -> DocumentRecord | None:
        got = self._registry().get(ids=[f"doc:{source}"], include=["metadatas"])
        if not got["ids"]:
            return None
        return DocumentRecord.from_metadata(got["metadatas"][0])

    def list_documents(self) -> list[DocumentRecord]:
        """Committed documents by name; treat the records as read-only.

        Retrieval reads this on every question, and reading the whole registry costs ~70 ms at 500
        documents, so the list is kept until the generation stamp (one record, ~1 ms) changes. Every
        commit, removal and recovery bumps it, in this process or any other sharing the store; a process
        killed between a commit and its bump is covered by re-reading at least every DOCUMENTS_MEMO_S.
        """
        stamp = (*self._generation_stamp(), int(time.monotonic() // DOCUMENTS_MEMO_S))
        memo = self._documents
        if memo is not None and memo[0] == stamp:
            return list(memo[1])
        if memo is not None and memo[0][:2] != stamp[:2]:  # a repair elsewhere may have replaced collections
            with self._lock:
                self._collections = {k: v for k, v in self._collections.items() if k == REGISTRY}
        got = self._registry().get(where={"kind": "doc"}, include=["metadatas"])
        records = sorted((DocumentRecord.from_metadata(m) for m in got["metadatas"]), key=lambda r: r.source.lower())
        self._documents = (stamp, records)
        return list(records)

    def _generation_stamp(self) -> tuple:
        """(generation, time of the bump): the time tells a rebuilt registry's generation 1 from the old one."""
        got = self._registry().get(ids=["meta:generation"], include=["metadatas"])
        if not got["ids"]:
            return (0, 0.0)
        meta = got["metadatas"][0]
        return (int(meta["value"]), float(meta.get("at", 0.0)))

    def find_by_doc_id(self, doc_id: str) -> DocumentRecord | None:
        got = self._registry().get(where={"$and": [{"kind": "doc"}, {"doc_id": doc_id}]}, include=["metadatas"])
        return DocumentRecord.from_metadata(got["metadatas"][0]) if got["ids"] else None

    def committed_doc_ids(self, strategy: str) -> set[str]:
        return {r.doc_id for r in self.list_documents() if strategy in r.chunks}

    def generation(self) -> int:
        """Bumped on every commit and removal; derived indexes compare it to detect staleness (a hybrid
        question reads it in the BM25 worker thread, beside the query embedding)."""
        return self._generation_stamp()[0]

    def _bump_generation(self) -> None:
        self._registry().upsert(
            ids=["meta:generation"],
            embeddings=[_UNIT],
            metadatas=[{"kind": "meta", "value": self.generation() + 1, "at": time.time()}],
            documents=[""],
        )

    # --- writing -------------------------------------------------------------------------------
    def replace_document(
        self,
        record: DocumentRecord,
        chunks: dict[str, list[Chunk]],
        embeddings: dict[str, np.ndarray],
        parents: Sequence[Chunk] = (),
        batch_size: int = 256,
    ) -> None:
        """Make `record` the committed version of its source, all or nothing.

        `chunks` holds the searchable chunks per strategy to write (strategies already stored for the
        same doc_id may be omitted: they are kept); `embeddings[chunk.id]` are their vectors.
        """
        with self._lock:
            old = self.get_document(record.source)
            old_id = old.doc_id if old else None
            adding = sorted(chunks)
            marker = f"pending:{record.source}"
            self._registry().upsert(
                ids=[marker],
                embeddings=[_UNIT],
                metadatas=[
                    {
                        "kind": "pending",
                        "source": record.source,
                        "doc_id": record.doc_id,
                        "old_doc_id": old_id or "",
                        "adding": json.dumps(adding),
                    }
                ],
                documents=[""],
            )
            for strategy, items in chunks.items():
                col = self.collection(strategy)
                for i in range(0, len(items), batch_size):
                    part = items[i : i + batch_size]
                    col.upsert(
                        ids=[c.id for c in part],
                        embeddings=np.stack([embeddings[c.id] for c in part]),
                        metadatas=[chunk_to_metadata(c) for c in part],
                        documents=[c.text for c in part],
                    )
                if self.verify_writes and items:  # before the commit: a document is visible only when findable
                    self.verify_written(strategy, [c.id for c in items], np.stack([embeddings[c.id] for c in items]))
            self.write_multilingual(chunks, batch_size)  # e5 side vectors, also before the commit
            if parents:
                col = self.collection(PARENTS)
                for i in range(0, len(parents), batch_size):
                    part = parents[i : i + batch_size]
                    col.upsert(
                        ids=[c.id for c in part],
                        embeddings=[_UNIT] * len(part),
                        metadatas=[chunk_to_metadata(c) for c in part],
                        documents=[c.text for c in part],
                    )
            if old is not None and old.doc_id == record.doc_id:
                record.chunks = {**old.chunks, **record.chunks}
            record.ingested_at = record.ingested_at or time.time()
            # The commit point: one upsert of one record.
            self._registry().upsert(
                ids=[f"doc:{record.source}"], embeddings=[_UNIT], metadatas=[record.to_metadata()], documents=[""]
            )
            if old_id and old_id != record.doc_id:
                self._delete_doc_chunks(old_id)
            self._registry().delete(ids=[marker])
            self._bump_generation()

    def remove_document(self, source: str) -> bool:
        with self._lock:
            record = self.get_document(source)
            if record is None:
                return False
            self._registry().delete(ids=[f"doc:{source}"])  # invisible from here on
            self._delete_doc_chunks(record.doc_id)
            self._bump_generation()
            return True

    def _delete_doc_chunks(self, doc_id: str) -> None:
        kinds = [*self.searchable_kinds(), PARENTS]
        for kind in kinds:
            self.collection(kind).delete(where={"doc_id": doc_id})
        self._forget_orphans()

    def recover(self) -> int:
        """Finish or roll back documents whose ingest was interrupted; returns how many were repaired.

        After a crash the strategy collections are also sampled for unreachable chunks (a kill can
        interrupt Chroma's own index writes) and rebuilt when one is found.
        """
        with self._lock:
            crashed = self._finish_repairs() > 0
            got = self._registry().get(where={"kind": "pending"}, include=["metadatas"])
            for marker, meta in zip(got["ids"], got["metadatas"], strict=True):
                committed = self.get_document(meta["source"])
                new_id, old_id = meta["doc_id"], meta.get("old_doc_id") or None
                adding = json.loads(meta.get("adding", "[]"))
                done = committed is not None and committed.doc_id == new_id and set(adding) <= set(committed.chunks)
                if done:
                    if old_id and old_id != new_id:
                        self._delete_doc_chunks(old_id)
                elif committed is not None and committed.doc_id == new_id:
                    kinds = self.searchable_kinds()
                    for strategy in adding:  # an added strategy that never committed (and its e5 side)
                        if strategy not in committed.chunks:
                            for kind in (strategy, multilingual_kind(strategy)):
                                if kind in kinds:
                                    self.collection(kind).delete(where={"doc_id": new_id})
                else:
                    self._delete_doc_chunks(new_id)
                self._registry().delete(ids=[marker])
            if got["ids"]:
                self._bump_generation()
            if crashed or got["ids"]:
                for kind in self.searchable_kinds():
                    if not self.check_reachability(kind).ok:
                        self.repair(kind)
            return len(got["ids"])

    # --- reading -------------------------------------------------------------------------------
    def count(self, kind: str) -> int:
        return self.collection(kind).count()

    def get_chunks(self, kind: str, ids: Sequence[str], with_embeddings: bool = False) -> list[Chunk] | tuple:
        """Chunks by id, in the order asked (missing ids are skipped)."""
        if not ids:
            return ([], np.zeros((0, self.dimension), dtype=np.float32)) if with_embeddings else []
        include = ["metadatas", "documents"] + (["embeddings"] if with_embeddings else [])
        got = self.collection(kind).get(ids=list(ids), include=include)
        by_id = {
            cid: (chunk_from_record(cid, doc, meta), i)
            for i, (cid, doc, meta) in enumerate(zip(got["ids"], got["documents"], got["metadatas"], strict=True))
        }
        ordered = [by_id[i] for i in ids if i in by_id]
        chunks = [c for c, _ in ordered]
        if not with_embeddings:
            return chunks
        vectors = np.asarray(got["embeddings"], dtype=np.float32)
        return chunks, (vectors[[i for _, i in ordered]] if ordered else vectors[:0])

    def get_vectors(self, kind: str, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors by id (missing ids left out). Chroma keeps metadata as one row per key, so scoring the
        80 passages only BM25 found costs ~6 ms this way against ~15 ms with their text and metadata
        (10k chunks; benchmarks/query.py): retrieval loads those only for the few it keeps."""
        if not ids:
            return {}
        got = self.collection(kind).get(ids=list(ids), include=["embeddings"])
        vectors = np.asarray(got["embeddings"], dtype=np.float32)
        return dict(zip(got["ids"], vectors, strict=True))

    def query(
        self, strategy: str, vector: np.ndarray, k: int, doc_ids: Sequence[str] | None = None
    ) -> list[tuple[Chunk, float]]:
        """Dense nearest neighbours with cosine similarity (1 - cosine distance).

        No count() first: Chroma >= 1.5 returns fewer results when k exceeds the collection, and the
        count cost ~10 ms at 100k chunks, half of a dense search (benchmarks/query.py).
        """
        res = self._nearest(strategy, vector, k, doc_ids, ["metadatas", "documents", "distances"])
        return [
            (chunk_from_record(cid, doc, meta), 1.0 - float(dist))
            for cid, doc, meta, dist in zip(
                res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0], strict=True
            )
        ]

    def query_ids(
        self, strategy: str, vector: np.ndarray, k: int, doc_ids: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        """query() without text and metadata: (id, cosine). ~4 ms instead of ~13 ms for 80 results at
        100k chunks (Chroma reads metadata one row per key); retrieval reads the few it keeps."""
        res = self._nearest(strategy, vector, k, doc_ids, ["distances"])
        return [(cid, 1.0 - float(dist)) for cid, dist in zip(res["ids"][0], res["distances"][0], strict=True)]

    def _nearest(self, strategy: str, vector: np.ndarray, k: int, doc_ids: Sequence[str] | None, include: list):
        where = {"doc_id": {"$in": list(doc_ids)}} if doc_ids else None
        res = self.collection(strategy).query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=k, where=where, include=include
        )
        orphans = self._orphans(strategy)
        return res if orphans is None else merge_orphans(res, orphans, vector, k, doc_ids, include)

    def iter_chunks(self, kind: str, page: int = 2000) -> Iterator[Chunk]:
        """Every chunk of a collection, paged (for rebuilding derived indexes)."""
        col = self.collection(kind)
        offset = 0
        while True:
            got = col.get(limit=page, offset=offset, include=["metadatas", "documents"])
            if not got["ids"]:
                return
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                yield chunk_from_record(cid, doc, meta)
            offset += len(got["ids"])

    # --- reading one document (issue 14: on-demand strategies, the incremental lexical index) -----
    def chunks_of(self, kind: str, doc_id: str) -> list[Chunk]:
        """Every stored chunk of one document in a collection (committed or not: the caller checks)."""
        got = self.collection(kind).get(where={"doc_id": doc_id}, include=["metadatas", "documents"])
        return [
            chunk_from_record(cid, doc, meta)
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]

    def vectors_by_text(self, doc_id: str) -> dict[str, np.ndarray]:
        """The stored MiniLM vectors of a document's searchable chunks, by text_key of their text: a strategy
        built later reuses them instead of embedding the same text again."""
        kinds = set(self.searchable_kinds())
        out: dict[str, np.ndarray] = {}
        for kind in (s for s in self.params if s in kinds):
            got = self.collection(kind).get(where={"doc_id": doc_id}, include=["documents", "embeddings"])
            for text, vector in zip(got["documents"], got["embeddings"], strict=True):
                out.setdefault(text_key(text), np.asarray(vector, dtype=np.float32))
        return out
