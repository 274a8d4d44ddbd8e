"""The persisted BM25 index of one strategy, updated per document instead of rebuilt.

Rebuilding bm25s's index for a 100k-chunk library took 23-35 s after every added or removed file, because
bm25s bakes the corpus statistics (document frequencies, average length) into every stored score. Here
the index keeps raw term frequencies instead, and computes BM25 at query time from them:

    score(q, d) = sum over query terms t of idf(t) * tf(t, d) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))
    idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))

(bm25s's default "lucene" variant, k1 = 1.5, b = 0.75), so adding a document appends its chunks' term
counts and removing one marks its rows dead; N, df and avgdl follow exactly, and the result equals a full
rebuild over the same chunks (tests/integration/test_lexical_incremental.py).

On disk, under `folder/<collection>__<strategy>/`: segment files (`seg-*.npz`: chunk ids, doc ids, lengths,
the segment's terms and its term-frequency matrix by column) and `current.json`, the manifest naming the
live segments, the dead documents, the store generation and the committed documents it matches. A change
writes its new segment completely, then replaces the manifest atomically: a process killed at any point
leaves the previous manifest (and at worst an unreferenced segment, deleted later), and the next refresh
compares the manifest's documents with the store's committed ones and applies the difference. When there
are many segments or many dead rows, the live rows are merged into one segment (no re-tokenising).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.backends.lexical_segments import FORMAT, Segment, SegmentFiles
from rag.core.activity import Activity
from rag.core.protocols import ChunkIndex
from rag.core.types import REGISTRY

log = logging.getLogger(__name__)

K1, B = 1.5, 0.75
MAX_SEGMENTS = 16
MAX_DEAD_SHARE = 0.3


@dataclass
class Snapshot:
    """A published index: never modified; a change builds the next one from it (searches never see half)."""

    segments: list[Segment]
    vocab: dict[str, int]  # grows only; ids past a segment's columns are simply absent from it
    dead: frozenset[str]  # doc ids whose rows no longer count
    meta: dict
    offsets: list[int] = field(default_factory=list)  # first global row of each segment
    chunk_ids: list[str] = field(default_factory=list)
    doc_codes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    doc_names: list[str] = field(default_factory=list)
    alive: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    norm: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # k1 * (1 - b + b * dl / avgdl)
    df: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    n_alive: int = 0
    rows_map: dict[str, int] | None = None
    columns: dict[int, tuple] = field(default_factory=dict)  # term id -> (rows, scores), filled on use

    def __post_init__(self) -> None:
        self.offsets, start = [], 0
        for seg in self.segments:
            self.offsets.append(start)
            start += len(seg.chunk_ids)
        self.chunk_ids = [c for seg in self.segments for c in seg.chunk_ids]
        doc_ids = np.array([d for seg in self.segments for d in seg.doc_ids], dtype=str)
        names, codes = np.unique(doc_ids, return_inverse=True) if len(doc_ids) else (doc_ids, np.zeros(0, int))
        self.doc_names = names.tolist()
        code = {d: i for i, d in enumerate(self.doc_names)}
        self.doc_codes = codes.astype(np.int32)
        dead_codes = [code[d] for d in self.dead if d in code]
        self.alive = ~np.isin(self.doc_codes, np.asarray(dead_codes, np.int32))
        lengths = np.concatenate([s.lengths for s in self.segments]) if self.segments else np.zeros(0, np.float32)
        self.n_alive = int(self.alive.sum())
        avgdl = float(lengths[self.alive].mean()) if self.n_alive else 1.0
        self.norm = (K1 * (1 - B + B * lengths / max(avgdl, 1e-9))).astype(np.float32)
        self.df = np.zeros(len(self.vocab), np.float32)
        for seg, off in zip(self.segments, self.offsets, strict=True):
            self.df += seg.df(self.alive[off : off + len(seg.chunk_ids)], len(self.vocab))

    @property
    def size(self) -> int:
        return self.n_alive

    def doc_ids(self) -> list[str]:
        """The documents whose chunks count (dead ones left out)."""
        live = set(self.doc_codes[self.alive].tolist())
        return sorted(self.doc_names[i] for i in live)

    def scores(self, tokens: list[str]) -> np.ndarray | None:
        """BM25 of every row (0 for dead rows), or None when no query token is in the vocabulary."""
        ids = [self.vocab[t] for t in tokens if t in self.vocab]
        if not ids or not self.n_alive:
            return None
        out = np.zeros(len(self.chunk_ids), np.float32)
        for tid in ids:
            rows, values = self._column(tid)
            out[rows] += values
        out[~self.alive] = 0.0
        return out

    def _column(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        """(global rows, BM25 contribution) of one term, computed on first use and kept with this snapshot
        (what bm25s stores for every term up front), so a frequent term costs one gather per question."""
        got = self.columns.get(tid)
        if got is not None:
            return got
        df = self.df[tid] if tid < len(self.df) else 0.0
        parts_rows, parts_values = [np.zeros(0, np.int64)], [np.zeros(0, np.float32)]
        if df > 0:
            idf = np.log1p((self.n_alive - df + 0.5) / (df + 0.5))
            for seg, off in zip(self.segments, self.offsets, strict=True):
                rows, tf = seg.column(tid)
                if len(rows):
                    g = rows.astype(np.int64) + off
                    parts_rows.append(g)
                    parts_values.append((idf * tf / (tf + self.norm[g])).astype(np.float32))
        got = (np.concatenate(parts_rows), np.concatenate(parts_values))
        self.columns[tid] = got
        return got

    def positions(self) -> dict[str, int]:
        if self.rows_map is None:
            self.rows_map = {cid: i for i, cid in enumerate(self.chunk_ids) if self.alive[i]}
        return self.rows_map

    def mask(self, doc_ids) -> np.ndarray:
        wanted = set(doc_ids)
        codes = [i for i, d in enumerate(self.doc_names) if d in wanted]
        return np.isin(self.doc_codes, np.asarray(codes, dtype=np.int32))

    def compacted(self) -> Snapshot:
        """The live rows merged into one segment (term ids kept)."""
        cols, rows, tfs, ids, docs, lens = [], [], [], [], [], []
        base = 0
        for seg, off in zip(self.segments, self.offsets, strict=True):
            keep_rows = self.alive[off : off + len(seg.chunk_ids)]
            new_index = np.cumsum(keep_rows) - 1 + base
            c, r, t = seg.coo()
            sel = keep_rows[r]
            cols.append(c[sel])
            rows.append(new_index[r[sel]].astype(np.int32))
            tfs.append(t[sel])
            ids += [x for x, k in zip(seg.chunk_ids, keep_rows, strict=True) if k]
            docs += [x for x, k in zip(seg.doc_ids, keep_rows, strict=True) if k]
            lens.append(seg.lengths[keep_rows])
            base += int(keep_rows.sum())
        empty = [np.zeros(0, np.int64)], [np.zeros(0, np.int32)], [np.zeros(0, np.float32)], [np.zeros(0, np.float32)]
        cols, rows, tfs, lens = (x or e for x, e in zip((cols, rows, tfs, lens), empty, strict=True))
        seg = Segment.from_coo(ids, docs, np.concatenate(lens), np.concatenate(cols), np.concatenate(rows),
                               np.concatenate(tfs), len(self.vocab))  # fmt: skip
        return Snapshot([seg] if ids else [], self.vocab, frozenset(), dict(self.meta))


class IncrementalLexicalIndex:
    """BM25 over the committed chunks of one strategy, updated per document (see the module docstring)."""

    def __init__(
        self, store: ChunkIndex, strategy: str, folder: str | Path, tokenizer, text_of, activity: Activity | None = None
    ) -> None:
        self.store = store
        self.activity = activity or Activity()  # a full build is a long step with a progress bar
        self.strategy = strategy
        self.folder = Path(folder) / f"{store.base}__{strategy.replace('-', '_')}"
        self.files = SegmentFiles(self.folder)
        self.tokenizer = tokenizer
        self.text_of = text_of  # chunk -> the text indexed for it (title and heading included)
        self._snapshot: Snapshot | None = None
        self._lock = threading.RLock()
        self._last: tuple[tuple, np.ndarray | None] | None = None  # (query tokens, scores) of the last search
        self.builds = 0  # full rebuilds from the store (tests, logs)
        self.loads = 0  # loads of a persisted index
        self.updates = 0  # incremental updates
        self.last_update_s = 0.0  # seconds of BM25 work in the last incremental update

    def _identity(self) -> dict:
        ids = {kind: str(getattr(self.store.collection(kind), "id", "")) for kind in (self.strategy, REGISTRY)}
        return {"collections": ids, "tokenizer": self.tokenizer.params(), "k1": K1, "b": B}

    def is_fresh(self) -> bool:
        snap = self._snapshot
        return snap is not None and snap.meta["generation"] == self.store.generation()

    def refresh(self) -> bool:
        """Make the index current: load it, apply the documents committed or removed since, or build it.
        Costs one registry lookup when nothing changed. True when it changed."""
        generation = self.store.generation()
        snap = self._snapshot
        if snap is not None and snap.meta["generation"] == generation:
            return False
        with self._lock:
            snap = self._snapshot
            if snap is not None and snap.meta["generation"] == generation:
                return False
            identity = self._identity()
            if snap is None or snap.meta["identity"] != identity:
                snap = self._load(identity)
            committed = self.store.committed_doc_ids(self.strategy)
            snap = self._build(committed, identity) if snap is None else self._apply(snap, committed)
            snap.meta["generation"] = generation if self.store.generation() == generation else -1
            self._publish(snap)
            return True

    def _publish(self, snap: Snapshot) -> None:
        self._snapshot, self._last = snap, None
        meta = {**snap.meta, "format": FORMAT, "segments": [s.name for s in snap.segments],
                "dead": sorted(snap.dead), "doc_ids": snap.doc_ids(), "chunks": snap.size}  # fmt: skip
        snap.meta = meta
        try:
            self.files.write_manifest(meta)
            self.files.sweep(set(meta["segments"]))
        except OSError as exc:  # a read-only disk costs speed, not correctness
            log.warning("cannot persist the lexical index in %s: %s", self.folder, exc)

    def _load(self, identity: dict) -> Snapshot | None:
        meta = self.files.read_manifest()
        if meta is None or meta.get("identity") != identity:
            return None
        vocab: dict[str, int] = {}
        try:
            segments = [self.files.read_segment(name, vocab) for name in meta["segments"]]
        except (OSError, ValueError, KeyError) as exc:
            log.info("lexical index %s not loaded (%s): rebuilding", self.folder.name, exc)
            return None
        snap = Snapshot(segments, vocab, frozenset(meta.get("dead", [])), meta)
        if snap.size != meta.get("chunks"):
            return None
        self.loads += 1
        return snap

    def _rows_of(self, doc_ids: set[str]) -> tuple[list[str], list[str], list[list[str]]]:
        ids, docs, tokens = [], [], []
        for doc_id in sorted(doc_ids):
            for chunk in self.store.chunks_of(self.strategy, doc_id):
                ids.append(chunk.id)
                docs.append(chunk.doc_id)
                tokens.append(self.tokenizer(self.text_of(chunk)))
        return ids, docs, tokens

    def _build(self, committed: set[str], identity: dict) -> Snapshot:
        ids, docs, tokens = [], [], []
        total = self.store.count(self.strategy)
        with self.activity.step(f"building the keyword index ({self.strategy})", total or None, "chunks") as step:
            for seen, chunk in enumerate(self.store.iter_chunks(self.strategy), 1):
                if chunk.doc_id in committed:
                    ids.append(chunk.id)
                    docs.append(chunk.doc_id)
                    tokens.append(self.tokenizer(self.text_of(chunk)))
                if seen % 1000 == 0 and seen < total:
                    step.advance(1000)  # the last stretch is counted once the index is written
            vocab: dict[str, int] = {}
            segments = [Segment.build(ids, docs, tokens, vocab)] if ids else []
            self._save_segments(segments, vocab)
            step.advance(max(0, total - step.done))
        self.builds += 1
        log.info("lexical index %s built: %d chunks", self.folder.name, len(ids))
        return Snapshot(segments, vocab, frozenset(), {"identity": identity, "version": uuid.uuid4().hex})

    def _apply(self, snap: Snapshot, committed: set[str]) -> Snapshot:
        have = set(snap.doc_ids())
        added, removed = committed - have, have - committed
        if not added and not removed:
            return Snapshot(snap.segments, snap.vocab, snap.dead, dict(snap.meta))
        t0 = time.perf_counter()
        ids, docs, tokens = self._rows_of(added)  # store reads and tokenising: the BM25 work of one file
        vocab = dict(snap.vocab)
        dead = set(snap.dead) | removed
        dead -= added  # a document removed and added back: its old rows stay dead under the same id
        segments = list(snap.segments)
        if added & snap.dead or added & set(snap.doc_names):  # rows of a re-added id: drop the old ones first
            snap = Snapshot(segments, vocab, frozenset(snap.dead | (added & set(snap.doc_names))), snap.meta)
            snap = snap.compacted()
            segments, dead = list(snap.segments), set(removed)
            self._save_segments(segments, vocab)
        if ids:
            seg = Segment.build(ids, docs, tokens, vocab)
            self._save_segments([seg], vocab)
            segments.append(seg)
        out = Snapshot(segments, vocab, frozenset(dead), dict(snap.meta))
        if len(out.segments) > MAX_SEGMENTS or (out.chunk_ids and 1 - out.size / len(out.chunk_ids) > MAX_DEAD_SHARE):
            out = out.compacted()
            self._save_segments(out.segments, vocab)
        self.updates += 1
        self.last_update_s = time.perf_counter() - t0
        log.info("lexical index %s: +%d -%d documents in %.2f s", self.folder.name, len(added), len(removed),
                 self.last_update_s)  # fmt: skip
        return out

    def _save_segments(self, segments: list[Segment], vocab: dict[str, int]) -> None:
        try:
            for seg in segments:
                if not seg.name:
                    self.files.write_segment(seg, vocab)
        except OSError as exc:
            log.warning("cannot persist the lexical index in %s: %s", self.folder, exc)

    # --- searching -----------------------------------------------------------------------------
    def _scores(self, snap: Snapshot, query: str) -> np.ndarray | None:
        """Scores of every row for `query`; the last query's are kept, so completing the other leg's
        candidates (scores_for) right after search costs nothing."""
        tokens = tuple(self.tokenizer(query))
        last = self._last
        if last is not None and last[0] == (id(snap), tokens):
            return last[1]
        scores = snap.scores(list(tokens))
        self._last = ((id(snap), tokens), scores)
        return scores

    def search(self, query: str, k: int, doc_ids: set[str] | list[str] | None = None) -> list[tuple[str, float]]:
        """Top `k` (chunk id, BM25 score) with a positive score, best first; `doc_ids` restricts documents."""
        self.refresh()
        snap = self._snapshot
        if snap is None or k <= 0:
            return []
        scores = self._scores(snap, query)
        if scores is None:
            return []
        if doc_ids is not None:
            scores = np.where(snap.mask(doc_ids), scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(snap.chunk_ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def scores_for(self, query: str, chunk_ids: list[str]) -> dict[str, float]:
        """BM25 scores of given chunks for `query` (0.0 for chunks not indexed or sharing no term)."""
        snap = self._snapshot
        scores = self._scores(snap, query) if snap is not None else None
        if scores is None or not chunk_ids:
            return dict.fromkeys(chunk_ids, 0.0)
        where = snap.positions()
        return {cid: float(scores[where[cid]]) if cid in where else 0.0 for cid in chunk_ids}

    @property
    def size(self) -> int:
        snap = self._snapshot
        return snap.size if snap else 0
