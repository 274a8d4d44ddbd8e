"""Orphans: the few chunks HNSW's graph cannot reach, kept on a list that every dense query searches exactly.

Why: a fresh HNSW insert occasionally leaves a node that no other node links to. On long_en (15,000
parent-child chunks, cosine, ef 200) one or two chunks per ingest are like that: their own vector does not
find them, before or after the store is reopened, although exact search ranks them first. Rebuilding the
whole collection for each of them (chroma_health.py's repair) cost 24-36 s per lost chunk, grew with the
library and made ingest twice its embedding time; a rebuilt graph can orphan another node just the same.

So a lost chunk found after a write is adopted instead: its id goes on the collection's orphan list (one
registry record, `orphans:<kind>`, written before the document's commit), and `merge_orphans` scores those
vectors against every dense query and merges them into Chroma's results. A handful of vectors costs
microseconds, and the chunk is found like any other. Only when the list would pass ORPHAN_SHARE of the
collection (the damage of chroma-core/chroma#7758, where deletes and re-adds strand many records) is the
collection rebuilt, which also empties its list.

The list may name chunks since deleted (a document removed or replaced): they simply no longer load, and the
next adoption drops them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

ORPHAN_MIN = 64  # a collection may always keep this many orphans ...
ORPHAN_SHARE = 0.005  # ... or this share of its chunks, whichever is more; beyond that: rebuild


def orphan_limit(count: int) -> int:
    return max(ORPHAN_MIN, int(count * ORPHAN_SHARE))


@dataclass
class Orphans:
    """The live orphans of one collection, as loaded for queries (vectors unit-length)."""

    ids: list[str]
    vectors: np.ndarray
    documents: list[str]
    metadatas: list[dict]


def merge_orphans(res: dict, orphans: Orphans, vector: np.ndarray, k: int, doc_ids, include: list) -> dict:
    """Chroma's query result for one vector with the orphans' exact cosine distances merged in (top k)."""
    q = np.asarray(vector, dtype=np.float32)
    q = q / (np.linalg.norm(q) or 1.0)
    dist = 1.0 - orphans.vectors @ q
    allowed = set(doc_ids) if doc_ids else None
    found = set(res["ids"][0])
    extra = [i for i, cid in enumerate(orphans.ids)
             if cid not in found and (allowed is None or orphans.metadatas[i].get("doc_id") in allowed)]  # fmt: skip
    if not extra:
        return res
    fields = [f for f in ("documents", "metadatas") if f in include]
    rows = [(d, cid, *(res[f][0][j] for f in fields))
            for j, (cid, d) in enumerate(zip(res["ids"][0], res["distances"][0], strict=True))]  # fmt: skip
    own = {"documents": orphans.documents, "metadatas": orphans.metadatas}
    rows += [(float(dist[i]), orphans.ids[i], *(own[f][i] for f in fields)) for i in extra]
    rows = sorted(rows, key=lambda r: r[0])[:k]
    out: dict[str, Any] = {"ids": [[r[1] for r in rows]], "distances": [[r[0] for r in rows]]}
    for n, f in enumerate(fields):
        out[f] = [[r[2 + n] for r in rows]]
    return out


class OrphanMixin:
    """The orphan lists of ChunkStore; relies on its `_lock`, `collection()`, `_registry()` and
    `_documents` (the generation stamp list_documents last saw, which tells when another process changed
    the store)."""

    _lock: Any
    _documents: Any
    _orphan_memo: dict  # kind -> (generation stamp, Orphans or None)

    def orphan_ids(self, kind: str) -> list[str]:
        """The ids on a collection's orphan list (some may name chunks deleted since)."""
        got = self._registry().get(ids=[f"orphans:{kind}"], include=["metadatas"])
        return json.loads(got["metadatas"][0]["ids"]) if got["ids"] else []

    def _orphans(self, kind: str) -> Orphans | None:
        """The orphans a query merges in; loaded once per generation stamp seen by list_documents (every
        question reads it), and again after this process changes a list."""
        memo = self._orphan_memo
        stamp = self._documents[0] if self._documents is not None else None
        hit = memo.get(kind)
        if hit is not None and stamp is not None and hit[0] == stamp:
            return hit[1]
        ids = self.orphan_ids(kind)
        loaded = None
        if ids:
            got = self.collection(kind).get(ids=ids, include=["embeddings", "documents", "metadatas"])
            if got["ids"]:
                vectors = np.asarray(got["embeddings"], dtype=np.float32)
                vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
                loaded = Orphans(list(got["ids"]), vectors, list(got["documents"]), list(got["metadatas"]))
        memo[kind] = (stamp, loaded)
        return loaded

    def _forget_orphans(self) -> None:
        self._orphan_memo = {}

    def adopt_orphans(self, kind: str, lost: list[str]) -> bool:
        """Put `lost` on the orphan list unless the list would outgrow orphan_limit; False: rebuild."""
        with self._lock:
            col = self.collection(kind)
            listed = self.orphan_ids(kind)
            live = set(col.get(ids=listed, include=[])["ids"]) if listed else set()
            ids = sorted(live | set(lost))
            if len(ids) > orphan_limit(col.count()):
                return False
            self._registry().upsert(
                ids=[f"orphans:{kind}"],
                embeddings=[[1.0]],
                metadatas=[{"kind": "orphans", "strategy": kind, "ids": json.dumps(ids)}],
                documents=[""],
            )
            self._forget_orphans()
        log.info("%s: %d chunk(s) HNSW cannot reach are searched exactly instead", kind, len(lost))
        return True

    def clear_orphans(self, kind: str) -> None:
        """A rebuilt or dropped collection starts without orphans."""
        self._registry().delete(ids=[f"orphans:{kind}"])
        self._forget_orphans()
