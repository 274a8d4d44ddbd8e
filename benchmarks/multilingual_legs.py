"""benchmarks/multilingual.py's legs: every text embedded once by MiniLM and once by e5 (cached under
benchmarks/.cache/multilingual/ with the measured seconds), a library per strategy (both embedders'
vectors and BM25), the alternatives and their fusion (a replay of rag/retrieval/hybrid.py).

Imported by benchmarks/multilingual.py, which puts the repository on sys.path and sets the offline
environment first.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from multilingual_data import REPO, Chunked, log  # (this folder: the script's own)

from rag.core.text import cjk_share
from rag.core.types import Strategy
from rag.eval.metrics import Passage

CACHE = REPO / "benchmarks" / ".cache" / "multilingual"
RANK_DEPTH = 200  # passages ranked per question: more than any 1,000-word budget holds
WORD = re.compile(r"\S+")

# Weight grids. Lexical weight is 1.0 throughout; MiniLM's weight for English questions stays the shipped
# DOCQA_DENSE_WEIGHT (1.0), tuned in issue 9.
GRID_E5 = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
GRID_E5_FOR_EN = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)  # the e5 leg for English questions beside MiniLM
GRID_MINI_FOR_CJK = (0.0, 0.25)


# --- embeddings ---------------------------------------------------------------------------------------
@dataclass
class Vectors:
    """Per embedder: a vector and the measured embedding seconds of every unique text."""

    texts: list[str]
    index: dict[str, int]
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: dict[str, np.ndarray] = field(default_factory=dict)
    query_vectors: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    query_seconds: dict[str, list[float]] = field(default_factory=dict)
    titled: dict[str, np.ndarray] = field(default_factory=dict)  # CJK chunk text with title -> e5 vector
    titled_seconds: float = 0.0


def _cache_path(kind: str, embedders: dict, texts: list[str]) -> Path:
    key = hashlib.sha256("\0".join([*sorted(embedders), *(e.name for e in embedders.values()), *texts]).encode())
    return CACHE / f"{kind}-{key.hexdigest()[:12]}.npz"


def embed_texts(texts: list[str], embedders: dict, batch: int = 64) -> Vectors:
    """Each text once per embedder, cached; batches alternate between embedders (same load for both)."""
    path = _cache_path("passages", embedders, texts)
    out = Vectors(texts, {t: i for i, t in enumerate(texts)})
    if path.is_file():
        data = np.load(path)
        for name in embedders:
            out.vectors[name], out.seconds[name] = data[f"{name}_vectors"], data[f"{name}_seconds"]
        log(f"{len(texts)} passage vectors per embedder loaded from {path.relative_to(REPO)}")
        return out
    # Group texts by script so a batch's seconds are attributed to one kind of text only.
    order = sorted(range(len(texts)), key=lambda i: cjk_share(texts[i]) > 0.5)
    for name in embedders:
        out.vectors[name] = np.zeros((len(texts), embedders[name].dimension), dtype=np.float32)
        out.seconds[name] = np.zeros(len(texts), dtype=np.float64)
    t0 = time.perf_counter()
    for start in range(0, len(order), batch):
        ids = order[start : start + batch]
        part = [texts[i] for i in ids]
        for name, embedder in embedders.items():
            t = time.perf_counter()
            out.vectors[name][ids] = embedder.embed(part)
            out.seconds[name][ids] = (time.perf_counter() - t) / len(ids)
        done = start + len(ids)
        if done % (batch * 10) == 0 or done == len(order):
            rates = ", ".join(f"{n} {done / out.seconds[n][order[:done]].sum():.1f}/s" for n in embedders)
            log(f"  embedded {done}/{len(texts)} texts in {time.perf_counter() - t0:.0f}s ({rates})")
    CACHE.mkdir(parents=True, exist_ok=True)
    arrays = {f"{n}_{kind}": getattr(out, kind)[n] for n in embedders for kind in ("vectors", "seconds")}
    np.savez(path, **arrays)
    return out


def embed_titled(vectors: Vectors, titled: list[str], e5, batch: int = 64) -> None:
    """e5 vectors of CJK chunks embedded with their title and heading (the text BM25 indexes), cached."""
    path = _cache_path("titled", {"e5": e5}, titled)
    if path.is_file():
        data = np.load(path)
        matrix, vectors.titled_seconds = data["vectors"], float(data["seconds"])
    else:
        t = time.perf_counter()
        parts = []
        for start in range(0, len(titled), batch):
            parts.append(e5.embed(titled[start : start + batch]))
            if (start // batch) % 10 == 9:
                log(f"  e5 with titles: {start + batch}/{len(titled)} texts in {time.perf_counter() - t:.0f}s")
        matrix = np.concatenate(parts) if parts else np.zeros((0, e5.dimension), np.float32)
        vectors.titled_seconds = time.perf_counter() - t
        CACHE.mkdir(parents=True, exist_ok=True)
        np.savez(path, vectors=matrix, seconds=vectors.titled_seconds)
    vectors.titled = dict(zip(titled, matrix, strict=True))
    log(f"{len(titled)} CJK chunks embedded by e5 with title and heading ({vectors.titled_seconds:.0f} s)")


def embed_questions(vectors: Vectors, questions: list[str], embedders: dict) -> None:
    """Each question once per embedder, timed (p50 in the report), cached with the timings."""
    path = _cache_path("queries", embedders, questions)
    if path.is_file():
        data = np.load(path)
        for name in embedders:
            matrix = data[f"{name}_vectors"]
            vectors.query_vectors[name] = dict(zip(questions, matrix, strict=True))
            vectors.query_seconds[name] = list(data[f"{name}_seconds"])
        return
    arrays = {}
    for name, embedder in embedders.items():
        embedder.embed_query("warm up")
        vectors.query_vectors[name], vectors.query_seconds[name] = {}, []
        for q in questions:
            t = time.perf_counter()
            vectors.query_vectors[name][q] = np.asarray(embedder.embed_query(q), dtype=np.float32)
            vectors.query_seconds[name].append(time.perf_counter() - t)
        arrays[f"{name}_vectors"] = np.stack([vectors.query_vectors[name][q] for q in questions])
        arrays[f"{name}_seconds"] = np.array(vectors.query_seconds[name])
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)


# --- libraries ----------------------------------------------------------------------------------------
class Library:
    """One strategy's searchable chunks of some documents, with both embedders' vectors and BM25."""

    def __init__(self, name: str, strategy: Strategy, chunked: list[Chunked], vectors: Vectors) -> None:
        import bm25s

        from rag.backends.bm25 import Tokenizer, indexed_text

        self.name, self.strategy = name, strategy
        self.chunks = [c for part in chunked for c in part.chunks]
        parents = {pid: p for part in chunked for pid, p in part.parents.items()}
        rows = np.array([vectors.index[c.text] for c in self.chunks])
        self.mini = vectors.vectors["minilm"][rows]
        self.e5 = vectors.vectors["e5"][rows]
        self.cjk = np.array([cjk_share(c.text) > 0.5 for c in self.chunks])
        zero = np.zeros(self.e5.shape[1], dtype=np.float32)  # non-CJK chunks are not in this e5 index
        self.e5_titled = np.stack([vectors.titled.get(indexed_text(c), zero) for c in self.chunks])
        self.tokenizer = Tokenizer()
        self.bm25 = bm25s.BM25()
        self.bm25.index([self.tokenizer(indexed_text(c)) for c in self.chunks], show_progress=False)
        # What a hit returns: the parent for a child (each parent once), else the chunk itself.
        self.keys, self.passages = [], []
        for c in self.chunks:
            unit = parents.get(c.parent_id, c) if c.parent_id else c
            self.keys.append(unit.id)
            self.passages.append(Passage(unit.source, unit.start, unit.end, unit.text, len(WORD.findall(unit.text))))
        self.key_ids = np.unique(np.array(self.keys), return_inverse=True)[1]

    def coverage(self, which: str) -> np.ndarray:
        return {"all": np.ones(len(self.chunks), bool), "cjk": self.cjk, "other": ~self.cjk}[which]

    def lexical(self, question: str) -> np.ndarray:
        ids = self.bm25.get_tokens_ids(self.tokenizer(question))
        if not ids:
            return np.zeros(len(self.chunks), dtype=np.float32)
        return np.asarray(self.bm25.get_scores_from_ids(ids), dtype=np.float32)


# --- alternatives and fusion --------------------------------------------------------------------------
@dataclass(frozen=True)
class Alternative:
    key: str
    label: str
    mini: str  # chunks MiniLM embeds: "all" | "other" | "none"
    e5: str  # chunks e5 embeds: "all" | "cjk" | "none"
    lexical: bool = True
    fixed: dict | None = None  # script ("cjk" | "en") -> (w_minilm, w_e5) when not tuned
    titled: bool = False  # e5 embeds title + section heading + chunk (CJK chunks only)
    split: bool = False  # the e5 leg fetches and normalises CJK and other chunks separately


ALTERNATIVES = (
    Alternative("bm25", "BM25 alone", "none", "none", fixed={"cjk": (0.0, 0.0), "en": (0.0, 0.0)}),
    Alternative("minilm", "MiniLM dense alone", "all", "none", False, fixed={"cjk": (1.0, 0.0), "en": (1.0, 0.0)}),
    Alternative("e5", "e5 dense alone", "none", "all", False, fixed={"cjk": (0.0, 1.0), "en": (0.0, 1.0)}),
    Alternative("a", "(a) today: MiniLM + BM25", "all", "none", fixed={"cjk": (0.25, 0.0), "en": (1.0, 0.0)}),
    Alternative("b", "(b) e5 for everything + BM25", "none", "all"),
    Alternative("c", "(c) route by script: e5 for CJK chunks, MiniLM for others", "other", "cjk"),
    Alternative("c+", "(c+) route, MiniLM kept for every chunk", "all", "cjk"),
    Alternative("c+t", "(c+) with title + heading in the e5 text", "all", "cjk", titled=True),
    Alternative("d", "(d) cross-lingual: MiniLM + e5 for every chunk", "all", "all"),
    Alternative("d/s", "(d) with the e5 leg per script (top-k and min-max each)", "all", "all", split=True),
)


def weight_grid(alt: Alternative, cjk: bool) -> list[tuple[float, float]]:
    if alt.fixed:
        return [alt.fixed["cjk" if cjk else "en"]]
    if alt.mini == "none":  # e5 is the only dense leg
        return [(0.0, w) for w in GRID_E5]
    if cjk:
        minis = GRID_MINI_FOR_CJK if alt.mini == "all" else (0.0,)
        return list(itertools.product(minis, GRID_E5))
    return [(1.0, w) for w in GRID_E5_FOR_EN]


def _minmax(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """rag.retrieval.hybrid._minmax: missing scores count 0, a constant leg 1."""
    out = np.zeros(len(values), dtype=np.float64)
    if not present.any():
        return out
    v = values[present].astype(np.float64)
    lo, hi = v.min(), v.max()
    out[present] = (v - lo) / (hi - lo) if hi > lo else 1.0
    return out


def _top(scores: np.ndarray, mask: np.ndarray, k: int, positive: bool = False) -> np.ndarray:
    ids = np.flatnonzero(mask & (scores > 0)) if positive else np.flatnonzero(mask)
    if len(ids) > k:
        ids = ids[np.argpartition(-scores[ids], k - 1)[:k]]
    return ids


def rank(lib: Library, alt: Alternative, weights, scores, fetch_k: int) -> list[Passage]:
    """One question's ranked passages under `alt` with (w_minilm, w_e5); lexical weight 1."""
    w_mini, w_e5 = weights
    mini_cover, e5_cover = lib.coverage(alt.mini) if alt.mini != "none" else None, None
    if alt.e5 != "none":
        e5_cover = lib.coverage(alt.e5)
    use_mini = mini_cover is not None and w_mini > 0 and mini_cover.any()
    use_e5 = e5_cover is not None and w_e5 > 0 and e5_cover.any()
    mini_s, e5_plain, e5_titled, lex_s = scores
    e5_s = e5_titled if alt.titled else e5_plain
    legs = []
    if use_mini:
        legs.append(_top(mini_s, mini_cover, fetch_k))
    if use_e5 and alt.split:
        legs += [_top(e5_s, e5_cover & lib.cjk, fetch_k), _top(e5_s, e5_cover & ~lib.cjk, fetch_k)]
    elif use_e5:
        legs.append(_top(e5_s, e5_cover, fetch_k))
    if alt.lexical:
        legs.append(_top(lex_s, np.ones(len(lex_s), bool), fetch_k, positive=True))
    pool = np.unique(np.concatenate(legs)) if legs else np.zeros(0, int)
    if not len(pool):
        return []
    hybrid = alt.lexical and (use_mini or use_e5)
    if not hybrid:  # a single leg keeps its own score
        fused = (mini_s if use_mini else e5_s if use_e5 else lex_s)[pool].astype(np.float64)
    else:
        fused = _minmax(lex_s[pool], np.ones(len(pool), bool))
        if use_mini:
            fused += w_mini * _minmax(mini_s[pool], mini_cover[pool])
        if use_e5 and alt.split:
            cjk = lib.cjk[pool]
            fused += w_e5 * (_minmax(e5_s[pool], e5_cover[pool] & cjk) + _minmax(e5_s[pool], e5_cover[pool] & ~cjk))
        elif use_e5:
            fused += w_e5 * _minmax(e5_s[pool], e5_cover[pool])
    tie = np.where(mini_cover[pool], mini_s[pool], 0.0) if use_mini else e5_s[pool] if use_e5 else lex_s[pool]
    order = pool[np.lexsort((-tie, -fused))]
    _, first = np.unique(lib.key_ids[order], return_index=True)  # each parent once, at its best child
    kept = order[np.sort(first)][:RANK_DEPTH]
    return [lib.passages[i] for i in kept]
