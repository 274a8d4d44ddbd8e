"""Retrieval benchmark: strategies x modes against the LangChain tutorial recipe, on COVID-QA and KorQuAD.

    .venv/bin/python benchmarks/retrieval.py [--sets covidqa,korquad] [--limit-docs N] [--limit-questions N]
                                             [--ingest-only] [--tune] [--skip-eval]

Documents are ingested through docqa's own pipeline (Ingestor.ingest_document, every strategy) into
benchmarks/.cache/<set>-<key>/, where <key> hashes the chunker parameters, the embedder and the source
of the sentence splitter and chunkers: a rerun skips ingestion, a code change re-ingests. The baselines
use the same documents and MiniLM: the LangChain RAG tutorial recipe (RecursiveCharacterTextSplitter
1000/200 characters, dense top-k; exact cosine over a NumPy matrix) and BM25 (bm25s) over those same
chunks with a lowercase regex word tokeniser.

Metrics (rag/eval/metrics.py): hit@1000w (the gold answer span lies inside the text retrieved in rank
order until 1,000 whitespace words; for parent-child the parents' text), top-1 (the first passage
contains the answer), MRR@10, and retrieval latency p50/p95 in ms (query embedding included; the machine
is shared, so latencies are noisy).

--tune sweeps fusion method, weights, rrf_k and fetch_k by replaying each question's candidate pool
(gathered once at the largest fetch_k) on the even-numbered questions of each set, and reports the
chosen setting on the odd-numbered ones too. Writes benchmarks/results/retrieval.json and retrieval.md.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from rag.core.settings import Settings, offline_environment  # noqa: E402

offline_environment()

from rag.core.types import ALL_STRATEGIES  # noqa: E402
from rag.eval.metrics import Passage, judge_question, summarize  # noqa: E402
from rag.retrieval.fusion import first_per_parent, fuse  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "qa"
CACHE = REPO / "benchmarks" / ".cache"
RESULTS = REPO / "benchmarks" / "results"
SETS = {"covidqa": DATA / "covidqa" / "200423_covidQA.json", "korquad": DATA / "korquad1" / "KorQuAD_v1.0_dev.json"}
MODES = ("dense", "lexical", "hybrid")
RANK_DEPTH = 200  # hits asked for: more than any 1,000-word budget holds
WORD = re.compile(r"\S+")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class QueryEmbedder:
    """The real embedder; each question is embedded once and that time is added to its latencies."""

    def __init__(self, inner) -> None:
        self.inner, self.name = inner, inner.name
        self.memo: dict[str, np.ndarray] = {}
        self.seconds: dict[str, float] = {}

    def warm_up(self) -> None:
        self.inner.warm_up()

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed(self, texts):
        return self.inner.embed(texts)

    def embed_query(self, text: str) -> np.ndarray:
        if text not in self.memo:
            t = time.perf_counter()
            self.memo[text] = self.inner.embed_query(text)
            self.seconds[text] = time.perf_counter() - t
        return self.memo[text]


# --- data and ingestion ------------------------------------------------------------------------------
def load_set(name: str, limit_docs: int, sample: int):
    from rag.eval.datasets import load_covidqa, load_korquad

    if name == "covidqa":
        return load_covidqa(SETS[name], limit_docs=limit_docs)
    return load_korquad(SETS[name], sample=sample, limit_docs=limit_docs)


def cache_key(qa) -> str:
    """Changes whenever ingestion would produce different chunks or vectors."""
    h = hashlib.sha256(qa.settings.embedding_model.encode())
    h.update(json.dumps({s.value: c.params() for s, c in qa.chunkers.items()}, sort_keys=True).encode())
    for rel in ("rag/core/sentences.py", "ingest/chunkers.py"):
        h.update((REPO / rel).read_bytes())
    return h.hexdigest()[:10]


def make_app(name: str, limit_docs: int = 0, **overrides):
    from rag.app import build_app

    probe = build_app(Settings(_env_file=None, data_dir=CACHE, index_dir=CACHE / "probe"))
    folder = CACHE / (f"{name}-{cache_key(probe)}" + (f"-lim{limit_docs}" if limit_docs else ""))
    settings = Settings(_env_file=None, data_dir=CACHE, index_dir=folder / "index", **overrides)
    qa = build_app(settings, counter=probe.counter)
    return qa, folder


def ingest(qa, dataset) -> None:
    qa.warm_up()
    done = {r.source: r.doc_id for r in qa.store.list_documents()}
    todo = [d for d in dataset.documents if done.get(d.source) != d.doc_id]
    log(f"{dataset.name}: {len(dataset.documents) - len(todo)} documents cached, {len(todo)} to ingest")
    t0, chunks = time.perf_counter(), 0
    for i, doc in enumerate(todo, 1):
        report = qa.ingestor.ingest_document(doc, ALL_STRATEGIES)
        chunks += report.embedded
        rate = chunks / max(time.perf_counter() - t0, 1e-9)
        log(f"  {i}/{len(todo)} {doc.source}: {report.status} {report.chunks} ({report.seconds:.1f}s, {rate:.0f}/s)")
    t = time.perf_counter()
    qa.refresh_indexes([s.value for s in ALL_STRATEGIES])
    log(f"{dataset.name}: lexical indexes ready in {time.perf_counter() - t:.1f}s")


# --- baselines: the LangChain tutorial recipe and BM25 on its chunks -------------------------------------
def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


class Baselines:
    def __init__(self, dataset, embedder, folder: Path) -> None:
        import bm25s
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
        self.passages: list[Passage] = []
        for doc in dataset.documents:
            for part in splitter.create_documents([doc.text]):
                start = part.metadata["start_index"]
                text = part.page_content
                assert doc.text[start : start + len(text)] == text
                self.passages.append(Passage(doc.source, start, start + len(text), text, len(WORD.findall(text))))
        key = hashlib.sha256("\0".join(p.text for p in self.passages).encode()).hexdigest()[:10]
        path = folder / f"baseline-{key}.npy"
        if path.is_file():
            self.vectors = np.load(path)
        else:
            log(f"embedding {len(self.passages)} baseline chunks (1000/200 characters)")
            self.vectors = embedder.embed([p.text for p in self.passages])
            np.save(path, self.vectors)
        self.bm25 = bm25s.BM25()
        self.bm25.index([_words(p.text) for p in self.passages], show_progress=False)

    def dense(self, qvec: np.ndarray, k: int = 50) -> list[Passage]:
        scores = self.vectors @ qvec
        return [self.passages[i] for i in np.argsort(-scores)[:k]]

    def lexical(self, question: str, k: int = 50) -> list[Passage]:
        ids = self.bm25.get_tokens_ids(_words(question))
        if not ids:
            return []
        scores = self.bm25.get_scores_from_ids(ids)
        return [self.passages[i] for i in np.argsort(-scores)[:k] if scores[i] > 0]


# --- evaluation ---------------------------------------------------------------------------------------
def passages_of(hits) -> list[Passage]:
    return [Passage(h.chunk.source, h.chunk.start, h.chunk.end, h.chunk.text) for h in hits]


def evaluate(qa, dataset, items, embedder: QueryEmbedder, baselines: Baselines) -> dict[str, dict]:
    from rag.backends.bm25 import LexicalIndex
    from rag.retrieval.hybrid import Retriever

    folder = qa.settings.resolved_index_dir / "lexical"
    retriever = Retriever(qa.store, embedder, qa.counter, qa.settings, LexicalIndex, folder)
    rows: dict[str, dict] = {}
    for strategy, mode in itertools.product([s.value for s in ALL_STRATEGIES], MODES):
        results = []
        for item in items:
            t = time.perf_counter()
            got = retriever.retrieve(item.question, strategy=strategy, mode=mode, k=RANK_DEPTH)
            seconds = time.perf_counter() - t + embedder.seconds[item.question]
            results.append(judge_question(passages_of(got.hits), item.source, item.answers, seconds))
        rows[f"{strategy} / {mode}"] = summarize(results)
        log(f"{dataset.name} {strategy:>12} {mode:>7}: {fmt(rows[f'{strategy} / {mode}'])}")
    for name in ("langchain 1000/200 dense", "bm25 on 1000/200 chunks"):
        results = []
        for item in items:
            t = time.perf_counter()
            if "dense" in name:
                found = baselines.dense(embedder.embed_query(item.question))
                seconds = time.perf_counter() - t + embedder.seconds[item.question]
            else:
                found = baselines.lexical(item.question)
                seconds = time.perf_counter() - t
            results.append(judge_question(found, item.source, item.answers, seconds))
        rows[name] = summarize(results)
        log(f"{dataset.name} {name:>28}: {fmt(rows[name])}")
    return rows


def fmt(row: dict) -> str:
    return (
        f"hit@1000w {row['hit_budget']:.3f}  top1 {row['top1']:.3f}  mrr@10 {row['mrr10']:.3f}  "
        f"p50 {row['p50_ms']:.0f} ms  p95 {row['p95_ms']:.0f} ms"
    )


# --- tuning: replay candidate pools -------------------------------------------------------------------
def gather_pools(qa, items, embedder, max_fetch: int) -> dict[str, list]:
    """Per strategy and question: the hybrid candidate pool at `max_fetch` (leg ranks, both scores)."""
    from rag.backends.bm25 import LexicalIndex
    from rag.core.types import PARENTS
    from rag.retrieval.hybrid import Retriever

    folder = qa.settings.resolved_index_dir / "lexical"
    retriever = Retriever(qa.store, embedder, qa.counter, qa.settings, LexicalIndex, folder)
    parents = {p.id: p for p in qa.store.iter_chunks(PARENTS)}
    pools: dict[str, list] = {}
    for strategy in [s.value for s in ALL_STRATEGIES]:
        allowed = qa.store.committed_doc_ids(strategy)
        out = []
        for item in items:
            qvec = embedder.embed_query(item.question)
            cands, _ = retriever.gather(item.question, qvec, strategy, "hybrid", max_fetch, allowed, False)
            out.append(cands)
        pools[strategy] = out
    pools["_parents"] = parents
    return pools


def replay(pool, parents, fetch_k: int, mode: str, method: str, wd: float, wl: float, rrf_k: int, words):
    cands = [
        c
        for c in pool
        if (mode != "lexical" and c.dense_rank and c.dense_rank <= fetch_k)
        or (mode != "dense" and c.lexical_rank and c.lexical_rank <= fetch_k)
    ]
    ranked = fuse(cands, mode, method=method, dense_weight=wd, lexical_weight=wl, rrf_k=rrf_k)
    return ranked_passages(ranked, parents, words)


def ranked_passages(ranked, parents: dict, words: dict) -> list[Passage]:
    """Fused candidates -> the passages the metrics read: grouped like the Retriever, children shown as
    their parents, word counts memoised in `words` across questions."""
    out = []
    for c in first_per_parent(ranked, RANK_DEPTH):
        chunk = parents.get(c.chunk.parent_id, c.chunk) if c.chunk.parent_id else c.chunk
        if chunk.id not in words:
            words[chunk.id] = len(WORD.findall(chunk.text))
        out.append(Passage(chunk.source, chunk.start, chunk.end, chunk.text, words[chunk.id]))
    return out


# The grid behind the shipped defaults (README, retrieval section): 48 settings. Low dense weights are
# there for Korean, where the English-only embedder's ranking is mostly noise (DOCQA_CJK_DENSE_WEIGHT).
GRID_FETCH = (40, 80)
GRID_RRF_K = (10, 60)
GRID_WEIGHTS = ((0.0, 1.0), (0.25, 1.0), (0.5, 1.0), (1.0, 1.0), (1.0, 1.5), (1.0, 2.0), (1.0, 3.0))


def tune(sets: dict[str, tuple]) -> dict:
    """Sweep on even-numbered questions; report every setting on both halves (hit@1000w)."""
    configs = [("dense", "-", 1.0, 1.0, 60, f) for f in GRID_FETCH]
    configs += [("lexical", "-", 1.0, 1.0, 60, f) for f in GRID_FETCH]
    configs += [
        ("hybrid", "rrf", wd, wl, k, f) for (wd, wl), k, f in itertools.product(GRID_WEIGHTS, GRID_RRF_K, GRID_FETCH)
    ]
    configs += [("hybrid", "rrf-legs", 1.0, 1.0, 60, f) for f in GRID_FETCH]
    configs += [("hybrid", "sum", wd, wl, 0, f) for (wd, wl), f in itertools.product(GRID_WEIGHTS, GRID_FETCH)]
    table = []
    words: dict[str, int] = {}
    for mode, method, wd, wl, rrf_k, fetch_k in configs:
        row = {"mode": mode, "method": method, "dense_weight": wd, "lexical_weight": wl, "rrf_k": rrf_k}
        row["fetch_k"] = fetch_k
        for name, (items, pools) in sets.items():
            for strategy in [s.value for s in ALL_STRATEGIES]:
                halves: list[list] = [[], []]
                for i, (item, pool) in enumerate(zip(items, pools[strategy], strict=True)):
                    got = replay(pool, pools["_parents"], fetch_k, mode, method, wd, wl, rrf_k, words)
                    halves[i % 2].append(judge_question(got, item.source, item.answers, 0.0))
                for half, results in zip(("tune", "held"), halves, strict=True):
                    summary = summarize(results)
                    row[f"{name}/{strategy}/{half}"] = summary["hit_budget"]
                    row[f"{name}/{strategy}/{half}/mrr10"] = summary["mrr10"]
        for half in ("tune", "held"):
            for metric, suffix in (("", f"/{half}"), ("_mrr10", f"/{half}/mrr10")):
                values = [v for k, v in row.items() if k.endswith(suffix) and k.count("/") == suffix.count("/") + 1]
                row[f"mean_{half}{metric}"] = sum(values) / len(values)
        table.append(row)
        log(
            f"tune {mode:>7} {method:>8} w={wd}/{wl} rrf_k={rrf_k:>2} fetch_k={fetch_k:>3}: "
            f"hit {row['mean_tune']:.4f} mrr {row['mean_tune_mrr10']:.4f} (held {row['mean_held']:.4f})"
        )
    return {"configs": table}


# --- output -------------------------------------------------------------------------------------------
def markdown(report: dict) -> str:
    lines = ["# Retrieval benchmark", "", report["setup"], ""]
    for name, rows in report["results"].items():
        lines += [f"## {name} ({report['questions'][name]} questions)", ""]
        lines += ["| strategy / mode | hit@1000w | top-1 | MRR@10 | p50 ms | p95 ms |", "|---|---|---|---|---|---|"]
        for label, r in rows.items():
            lines.append(
                f"| {label} | {r['hit_budget']:.3f} | {r['top1']:.3f} | {r['mrr10']:.3f} | "
                f"{r['p50_ms']:.0f} | {r['p95_ms']:.0f} |"
            )
        lines.append("")
    if report.get("tuning"):
        lines += ["## Tuning (hit@1000w, mean over strategies; tune = even questions, held = odd)", ""]
        lines += [
            "| mode | fusion | w dense/lexical | rrf_k | fetch_k | hit tune | hit held | MRR tune | MRR held |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        best = sorted(report["tuning"]["configs"], key=lambda r: (-r["mean_tune"], -r["mean_tune_mrr10"]))
        for r in best:
            lines.append(
                f"| {r['mode']} | {r['method']} | {r['dense_weight']}/{r['lexical_weight']} | {r['rrf_k']} | "
                f"{r['fetch_k']} | {r['mean_tune']:.4f} | {r['mean_held']:.4f} | {r['mean_tune_mrr10']:.4f} | "
                f"{r['mean_held_mrr10']:.4f} |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="covidqa,korquad")
    parser.add_argument("--limit-docs", type=int, default=0, help="first N documents of each set (0 = all)")
    parser.add_argument("--limit-questions", type=int, default=0, help="first N questions of each set (0 = all)")
    parser.add_argument("--korquad-sample", type=int, default=1000)
    parser.add_argument("--ingest-only", action="store_true")
    parser.add_argument("--tune", action="store_true", help="sweep fusion parameters (replayed pools)")
    parser.add_argument("--skip-eval", action="store_true", help="with --tune: only the sweep")
    parser.add_argument("--out", default="retrieval", help="name of the result files")
    args = parser.parse_args()

    report: dict = {"results": {}, "questions": {}, "notes": {}}
    tuning_sets = {}
    for name in args.sets.split(","):
        dataset = load_set(name, args.limit_docs, args.korquad_sample)
        for note in dataset.notes:
            log(f"{name}: {note}")
        qa, folder = make_app(name, args.limit_docs)
        log(f"{name}: cache {folder}")
        ingest(qa, dataset)
        if args.ingest_only:
            Baselines(dataset, qa.embedder, folder)
            continue
        items = dataset.items[: args.limit_questions] if args.limit_questions else dataset.items
        embedder = QueryEmbedder(qa.embedder)
        for item in items:
            embedder.embed_query(item.question)
        report["questions"][name] = len(items)
        report["notes"][name] = dataset.notes
        if args.tune:
            tuning_sets[name] = (items, gather_pools(qa, items, embedder, max(GRID_FETCH)))
            log(f"{name}: candidate pools gathered")
        if not args.skip_eval:
            baselines = Baselines(dataset, qa.embedder, folder)
            report["results"][name] = evaluate(qa, dataset, items, embedder, baselines)
    if args.ingest_only:
        return
    if tuning_sets:
        report["tuning"] = tune(tuning_sets)
    s = Settings(_env_file=None)
    report["settings"] = {
        k: getattr(s, k)
        for k in (
            "fetch_k",
            "fusion",
            "dense_weight",
            "cjk_dense_weight",
            "lexical_weight",
            "rrf_k",
            "mmr",
            "relevance_threshold",
        )
    }
    report["setup"] = (
        f"MiniLM all-MiniLM-L6-v2, Chroma (embedded), bm25s; defaults {report['settings']}; "
        "hit@1000w = gold answer span inside the passages taken in rank order until 1,000 words."
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    (RESULTS / f"{args.out}.md").write_text(markdown(report), encoding="utf-8")
    print(markdown(report))


if __name__ == "__main__":
    main()
