"""The on-disk and in-memory pieces of the incremental lexical index (rag/backends/lexical_index.py): a
segment of rows with their term counts by column, and the files (segments, the manifest) that persist it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FORMAT = 3  # on-disk layout; a persisted index of another format is rebuilt
ORPHAN_AGE_S = 600.0  # an unreferenced segment older than this is left over from a killed process


@dataclass
class Segment:
    """Rows (chunks) and their term counts, columns by global term id (CSC: indptr over terms)."""

    chunk_ids: list[str]
    doc_ids: list[str]
    lengths: np.ndarray  # float32, tokens per row
    indptr: np.ndarray  # int64, len = n_terms + 1
    rows: np.ndarray  # int32 row of each entry
    tf: np.ndarray  # float32 term frequency of each entry
    name: str = ""
    _cols: np.ndarray | None = field(default=None, repr=False)
    _df: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def build(cls, chunk_ids: list[str], doc_ids: list[str], token_lists: list[list[str]], vocab: dict) -> Segment:
        cols: list[int] = []
        rows: list[int] = []
        tfs: list[int] = []
        for r, tokens in enumerate(token_lists):
            counts: dict[int, int] = {}
            for t in tokens:
                tid = vocab.setdefault(t, len(vocab))
                counts[tid] = counts.get(tid, 0) + 1
            cols.extend(counts)
            rows.extend([r] * len(counts))
            tfs.extend(counts.values())
        lengths = np.fromiter((len(t) for t in token_lists), np.float32, len(token_lists))
        return cls.from_coo(chunk_ids, doc_ids, lengths, np.asarray(cols, np.int64), np.asarray(rows, np.int32),
                            np.asarray(tfs, np.float32), len(vocab))  # fmt: skip

    @classmethod
    def from_coo(cls, chunk_ids, doc_ids, lengths, cols, rows, tf, n_terms: int) -> Segment:
        order = np.argsort(cols, kind="stable")
        indptr = np.zeros(n_terms + 1, np.int64)
        np.cumsum(np.bincount(cols, minlength=n_terms), out=indptr[1:])
        return cls(list(chunk_ids), list(doc_ids), lengths, indptr, rows[order], tf[order])

    def column(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        if tid + 1 >= len(self.indptr):  # a term newer than this segment
            return self.rows[:0], self.tf[:0]
        a, b = self.indptr[tid], self.indptr[tid + 1]
        return self.rows[a:b], self.tf[a:b]

    def coo(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._cols is None:  # kept: every later snapshot over this segment needs it
            self._cols = np.repeat(np.arange(len(self.indptr) - 1, dtype=np.int64), np.diff(self.indptr))
        return self._cols, self.rows, self.tf

    def df(self, alive: np.ndarray, n_terms: int) -> np.ndarray:
        """Document frequency of each term over this segment's `alive` rows. With every row alive (the common
        case: a removal touches one segment) it is computed once and kept, so an update of a 100k-row index
        does not recount the whole corpus."""
        if self._df is None:
            self._df = np.bincount(self.coo()[0], minlength=len(self.indptr) - 1).astype(np.float32)
        full = np.zeros(n_terms, np.float32)
        full[: len(self._df)] = self._df[:n_terms]
        if not alive.all():
            cols, rows, _ = self.coo()
            dead = ~alive[rows]
            full -= np.bincount(cols[dead], minlength=n_terms).astype(np.float32)[:n_terms]
        return full


class SegmentFiles:
    """Reading and writing segments and the manifest (see the module docstring for why this order)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def write_segment(self, seg: Segment, vocab: dict[str, int]) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        used = np.flatnonzero(np.diff(seg.indptr))  # term ids present in this segment
        terms = np.array(sorted(vocab, key=vocab.get), dtype=object)[used] if len(used) else np.zeros(0, object)
        cols, rows, tf = seg.coo()
        local = np.searchsorted(used, cols)
        name = f"seg-{uuid.uuid4().hex}.npz"
        tmp = self.folder / f".{name}.tmp"
        with tmp.open("wb") as fh:
            np.savez(fh, chunk_ids=np.array(seg.chunk_ids, dtype=str), doc_ids=np.array(seg.doc_ids, dtype=str),
                     lengths=seg.lengths, terms=np.array(terms, dtype=str), cols=local.astype(np.int32), rows=rows,
                     tf=tf)  # fmt: skip
        os.replace(tmp, self.folder / name)
        seg.name = name
        return name

    def read_segment(self, name: str, vocab: dict[str, int]) -> Segment:
        with np.load(self.folder / name, allow_pickle=False) as z:
            ids = [vocab.setdefault(str(t), len(vocab)) for t in z["terms"]]
            cols = np.asarray(ids, np.int64)[z["cols"]] if len(ids) else np.zeros(0, np.int64)
            seg = Segment.from_coo(z["chunk_ids"].tolist(), z["doc_ids"].tolist(), z["lengths"], cols, z["rows"],
                                   z["tf"], len(vocab))  # fmt: skip
        seg.name = name
        return seg

    def read_manifest(self) -> dict | None:
        try:
            meta = json.loads((self.folder / "current.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) and meta.get("format") == FORMAT else None

    def write_manifest(self, meta: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".current-{uuid.uuid4().hex}.json"
        tmp.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp, self.folder / "current.json")

    def sweep(self, keep: set[str]) -> None:
        """Delete what no manifest names: bm25s folders of the old format at once; segments and temporary
        files once old enough not to be another process's change in flight. The segments of the manifest
        now on disk are kept too (another process may have published after us)."""
        keep = keep | set((self.read_manifest() or {}).get("segments", []))
        now = time.time()
        for f in self.folder.glob("*"):
            with contextlib.suppress(OSError):
                if f.name.startswith("v-") and f.is_dir():
                    shutil.rmtree(f, ignore_errors=True)
                elif (
                    f.name.startswith(("seg-", ".seg-", ".current-"))
                    and f.name not in keep
                    and now - f.stat().st_mtime > ORPHAN_AGE_S
                ):
                    f.unlink()
