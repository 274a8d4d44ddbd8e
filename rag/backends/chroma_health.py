"""Vector reachability: prove each stored chunk is found by its own vector, and rebuild a collection that is not.

Why this exists: Chroma 1.5.x can leave live records that get() returns but no query() finds, not even
with their own stored vector (chroma-core/chroma#7758: after deletes and upserts in one HNSW index).
Nothing raises; answers just never cite those passages. docqa met it after kill -9 and recovery (38
sentence chunks re-added by the rerun). A self-query is the only way to see it, and since Chroma still
holds the vectors, texts and metadata, a fresh HNSW graph built from them fixes it without re-embedding.
A write that leaves only a few chunks unreachable does not rebuild: they go on the collection's orphan list,
which every query searches exactly (chroma_orphans.py); only a list past its limit means a rebuild.

Repair is a copy, not an in-place rewrite: deleting and re-adding ids in the same index is the pattern
that breaks it. Chroma has no transactions, so the swap is a small protocol with a marker in the registry
(`repair:<kind>`), finished or rolled back by ChunkStore.recover() after a kill:
1. phase "copy": build `<name>__rebuild` from pages of the live collection (ids, vectors, texts,
   metadata, fingerprint). A kill here leaves the live collection untouched; recovery drops the copy.
2. phase "swap" (written once the copy is complete and counted): delete the live collection, rename the
   copy to the live name. From here the copy is the only complete one, so recovery finishes the swap.
3. marker removed, generation bumped: the new collection id and generation make the BM25 index and every
   other process's cached collection handle follow.
A concurrent writer in another process is detected by the live count changing during the copy (the repair
is abandoned and says so); run repairs while nothing else ingests.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from rag.core.types import Strategy, base_strategy, multilingual_kind

REBUILD_SUFFIX = "__rebuild"
CHECK_K = 10  # a chunk is reachable when its own vector finds it among this many results
DEFAULT_SAMPLE = 200  # chunks self-queried per collection by a default (sampled) check
PROBE = 32  # older chunks self-queried after each write, besides the chunks written
QUERY_BATCH = 1000  # vectors per Chroma query call (1,000: a fifth less time per check than 100)
PAGE = 500  # records per get()/add() while copying
ID_PAGE = 5000  # ids per get() when listing a collection
TIE = 1e-5  # cosine distance under which two vectors count as the same vector


class IndexChanged(RuntimeError):
    """Another process wrote to the collection while it was being rebuilt; nothing was swapped."""


@dataclass
class ReachabilityReport:
    """One collection's self-query check."""

    kind: str
    collection: str
    total: int  # records in the collection
    checked: int  # records self-queried (all of them, or a sample)
    unreachable: list[str] = field(default_factory=list)
    seconds: float = 0.0
    orphans: list[str] = field(default_factory=list)  # checked ids HNSW misses, found by exact search

    @property
    def ok(self) -> bool:
        return not self.unreachable

    @property
    def full(self) -> bool:
        return self.checked >= self.total

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok, "full": self.full}


@dataclass
class RepairReport:
    """One collection's repair: what the full check found before, whether it was rebuilt, what is left."""

    kind: str
    collection: str
    records: int
    unreachable_before: list[str]
    rebuilt: bool
    unreachable_after: list[str]
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.unreachable_after

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def all_ids(col) -> list[str]:
    ids: list[str] = []
    while True:
        got = col.get(limit=ID_PAGE, offset=len(ids), include=[])
        if not got["ids"]:
            return ids
        ids.extend(got["ids"])


def unreachable_ids(col, ids: list[str], k: int = CHECK_K, vectors: np.ndarray | None = None) -> list[str]:
    """The ids among `ids` that a query with their own stored vector does not return in the top k.

    Exact duplicates (the same sentence in two documents) tie at distance 0 and may crowd a chunk out of
    its own top k; such a chunk is asked again with more room, and when even that is all twins its vector
    is evidently found (a twin carries the same text), so it is not counted as lost.
    """
    bad: list[str] = []
    for i in range(0, len(ids), QUERY_BATCH):
        part = ids[i : i + QUERY_BATCH]
        if vectors is None:
            got = col.get(ids=part, include=["embeddings"])
            part, batch = got["ids"], np.asarray(got["embeddings"], dtype=np.float32)
        else:
            batch = np.asarray(vectors[i : i + QUERY_BATCH], dtype=np.float32)
        if not part:
            continue
        res = col.query(query_embeddings=batch, n_results=k, include=["distances"])
        for cid, vec, found, dist in zip(part, batch, res["ids"], res["distances"], strict=True):
            if cid in found:
                continue
            if dist and dist[-1] <= TIE:  # k twins at distance 0: look further
                more = col.query(query_embeddings=[vec], n_results=max(10 * k, 200), include=["distances"])
                if cid in more["ids"][0] or more["distances"][0][-1] <= TIE:
                    continue
            bad.append(cid)
    return bad


def copy_records(src, dst, ids: list[str]) -> int:
    """Add `ids` from src to dst in pages, vectors as stored (never re-embedded); returns records copied."""
    copied = 0
    for i in range(0, len(ids), PAGE):
        got = src.get(ids=ids[i : i + PAGE], include=["embeddings", "documents", "metadatas"])
        if not got["ids"]:
            continue
        dst.add(
            ids=got["ids"],
            embeddings=np.asarray(got["embeddings"], dtype=np.float32),
            documents=got["documents"],
            metadatas=got["metadatas"],
        )
        copied += len(got["ids"])
    return copied


class ReachabilityMixin:
    """check_reachability / repair / the repair half of recover(), for ChunkStore (rag/backends/chroma_store.py).

    Relies on the store's `_client`, `_lock`, `_collections` cache, `collection()`, `collection_name()`,
    `_open_collection()`, `_registry()`, `_bump_generation()` and its orphan list (chroma_orphans.py).
    """

    _client: Any
    _collections: dict[str, Any]
    _lock: Any

    # --- checking --------------------------------------------------------------------------------
    def searchable_kinds(self) -> list[str]:
        """Strategies that have a collection in this store, and their e5 side collections (the ones a check
        or repair can cover, and a removal deletes from)."""
        names = {c if isinstance(c, str) else c.name for c in self._client.list_collections()}
        kinds = [k for s in Strategy for k in (s.value, multilingual_kind(s))]
        return [k for k in kinds if self.collection_name(k) in names]

    def check_reachability(
        self, kind: str, sample: int | None = DEFAULT_SAMPLE, *, k: int = CHECK_K, seed: int | None = None
    ) -> ReachabilityReport:
        """Self-query `sample` random chunks of a strategy collection (all of them when sample is None)."""
        Strategy(base_strategy(kind))  # only searchable collections: parents and the registry are never queried
        t0 = time.perf_counter()
        col = self.collection(kind)
        ids = all_ids(col)
        chosen = ids if sample is None or sample >= len(ids) else random.Random(seed).sample(ids, sample)
        bad = unreachable_ids(col, chosen, k) if chosen else []
        adopted = set(self.orphan_ids(kind)) if bad else set()
        return ReachabilityReport(
            kind,
            self.collection_name(kind),
            len(ids),
            len(chosen),
            sorted(set(bad) - adopted),
            time.perf_counter() - t0,
            sorted(set(bad) & adopted),
        )

    def verify_written(self, kind: str, ids: list[str], vectors: np.ndarray) -> bool:
        """After a write: are these chunks reachable, and a run of PROBE older ones? Those that are not go
        on the orphan list (chroma_orphans.py), or, past its limit, the collection is rebuilt. True when it
        was rebuilt.

        The older run is there because a write also strands records it did not touch: HNSW prunes their
        incoming links as new nodes arrive, and #7758's deletes and upserts rewire the graph around them.
        Each write probes a different random run.
        """
        col = self.collection(kind)
        lost = unreachable_ids(col, ids, CHECK_K, vectors) if ids else []
        others = col.count() - len(ids)
        if not lost and others > 0:
            run = col.get(limit=PROBE, offset=random.randrange(max(1, others - PROBE + 1)), include=[])["ids"]
            written = set(ids)
            lost = unreachable_ids(col, [i for i in run if i not in written], CHECK_K)
            lost = sorted(set(lost) - set(self.orphan_ids(kind))) if lost else []
        if not lost or self.adopt_orphans(kind, lost):
            return False
        self.repair(kind, lost=lost)
        return True

    # --- repairing -------------------------------------------------------------------------------
    def repair(self, kind: str, *, force: bool = False, lost: list[str] | None = None) -> RepairReport:
        """Rebuild a strategy collection from its stored vectors when a full check finds unreachable
        chunks (always with force); the new collection is checked in full again. `lost`: unreachable ids a
        self-query just found (after a write), so the full check before the rebuild is skipped: it costs a
        third of a repair (long_en: one lost chunk in 12,000 made a 28 s repair)."""
        Strategy(base_strategy(kind))
        t0 = time.perf_counter()
        with self._lock:
            self._finish_repairs()  # never start over a swap a kill interrupted: its copy is the only one
            if lost:
                col = self.collection(kind)
                before = ReachabilityReport(kind, self.collection_name(kind), col.count(), len(lost), sorted(lost))
            else:
                before = self.check_reachability(kind, None)
            rebuilt = bool(before.unreachable) or force
            if rebuilt:
                self._rebuild(kind)
            after = self.check_reachability(kind, None) if rebuilt else before
            if after.unreachable and self.adopt_orphans(kind, after.unreachable):  # the new graph's own
                after = replace(after, unreachable=[], orphans=sorted({*after.orphans, *after.unreachable}))
        return RepairReport(
            kind,
            self.collection_name(kind),
            after.total,
            before.unreachable,
            rebuilt,
            after.unreachable,
            time.perf_counter() - t0,
        )

    def _rebuild(self, kind: str) -> None:
        name = self.collection_name(kind)
        live = self.collection(kind)
        ids = all_ids(live)
        self._set_repair_marker(kind, "copy", len(ids))
        self._delete_collection(name + REBUILD_SUFFIX)  # a copy left by an interrupted repair
        copy = self._open_collection(name + REBUILD_SUFFIX, dict(live.metadata or {}))
        copied = copy_records(live, copy, ids)
        if copied != len(ids) or live.count() != len(ids) or copy.count() != len(ids):
            self._delete_collection(name + REBUILD_SUFFIX)
            self._registry().delete(ids=[f"repair:{kind}"])
            raise IndexChanged(f"{name} changed while it was being rebuilt (another process writing?); run it again")
        self._set_repair_marker(kind, "swap", len(ids))
        self._swap(kind)

    def _swap(self, kind: str) -> None:
        """Replace the live collection by its complete copy, then drop the marker (phase "swap")."""
        name = self.collection_name(kind)
        self._collections.pop(kind, None)
        if name + REBUILD_SUFFIX in self._collection_names():
            self._delete_collection(name)
            copy = self._client.get_collection(name + REBUILD_SUFFIX)
            try:
                copy.modify(name=name)
            except Exception:  # a reader in another process re-created an empty live collection meanwhile
                if self._client.get_collection(name).count():
                    raise
                self._client.delete_collection(name)
                copy.modify(name=name)
        self.clear_orphans(kind)  # a new graph: the old one's orphans may be reachable now
        self._registry().delete(ids=[f"repair:{kind}"])
        self._bump_generation()

    def _finish_repairs(self) -> int:
        """recover()'s part: roll back a repair killed while copying, finish one killed while swapping."""
        got = self._registry().get(where={"kind": "repair"}, include=["metadatas"])
        for meta in got["metadatas"]:
            kind = meta["strategy"]
            if meta["phase"] == "swap":
                self._swap(kind)
            else:
                self._delete_collection(self.collection_name(kind) + REBUILD_SUFFIX)
                self._registry().delete(ids=[f"repair:{kind}"])
        return len(got["ids"])

    def _set_repair_marker(self, kind: str, phase: str, records: int) -> None:
        self._registry().upsert(
            ids=[f"repair:{kind}"],
            embeddings=[[1.0]],
            metadatas=[{"kind": "repair", "strategy": kind, "phase": phase, "records": records}],
            documents=[""],
        )

    def _collection_names(self) -> set[str]:
        return {c if isinstance(c, str) else c.name for c in self._client.list_collections()}

    def _delete_collection(self, name: str) -> None:
        if name in self._collection_names():
            self._client.delete_collection(name)
