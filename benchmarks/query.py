"""Query latency at scale: 100k searchable chunks per strategy, docqa's retrieval vs raw Chroma queries.

How the corpus is made (embedding 100k texts on a shared 2-core CPU would take hours, so vectors are built
cheaply): ~5k real sentences from ../shared/data/qa/covidqa are embedded with the app's embedder; every
other chunk is a noisy copy of one of them: its text has a few words dropped or swapped and a marker word
added, and its vector is the original's plus Gaussian noise, normalised (cosine ~0.93 to the original).
Chunks are grouped into fake documents of 200 and written with ChunkStore.replace_document, so the store,
the registry and the lexical index are the real ones:
- sentence: N chunks;
- parent-child: the same N sentences as children, parents of 8 consecutive sentences (N/8 parents);
- overlap: windows of 4 sentences with stride 3 (N/3 chunks), vector = normalised mean of the window's.
Queries are real covidqa questions, embedded once per question.

Timed per query (p50 / p95 / mean, ms) in the same run:
- `embed`: the query embedding (embedder.embed_query);
- `chroma raw`: collection.query(n_results=fetch_k) on the strategy collection;
- `store.query`: the same through ChunkStore (Chunk objects);
- `registry`: store.list_documents() (retrieval reads the committed documents on every question);
- `parents`: fetching the parent passages of the top k children (parent-child);
- `retrieve dense|lexical|hybrid|hybrid+mmr`: Retriever.retrieve end to end (includes embed and registry;
  the embedder's memory of recent texts is cleared before each, so every question is embedded).

    python benchmarks/query.py [--chunks 100000] [--real 5000] [--queries 100] [--server]

The built store is kept under benchmarks/.cache/ and reused by later runs with the same parameters.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_results import write_results  # noqa: E402  (this folder: the script's own)

COVIDQA = REPO.parent / "shared" / "data" / "qa" / "covidqa" / "200423_covidQA.json"
RESULTS = REPO / "benchmarks" / "results"
CACHE = REPO / "benchmarks" / ".cache"
DOC_SIZE = 200  # chunks per fake document
PARENT_SIZE = 8  # sentences per parent passage
WINDOW, STRIDE = 4, 3  # overlap windows
NOISE = 0.02  # per-dimension sigma: cosine ~0.93 between a copy and its original (384 dims)
STRATEGIES = ("sentence", "overlap", "parent-child")


def real_sentences(n: int, seed: int) -> tuple[list[str], list[str]]:
    """n distinct covidqa sentences (30-400 characters) and all covidqa questions."""
    from rag.core.sentences import split_sentences

    data = json.loads(COVIDQA.read_text())
    sentences: dict[str, None] = {}
    questions: list[str] = []
    for article in data["data"]:
        for para in article["paragraphs"]:
            text = para["context"]
            for a, b in split_sentences(text):
                s = " ".join(text[a:b].split())
                if 30 <= len(s) <= 400:
                    sentences[s] = None
            questions += [q["question"].strip() for q in para["qas"]]
    pool = list(sentences)
    random.Random(seed).shuffle(pool)
    return pool[:n], questions


def vary(text: str, rng: random.Random, i: int) -> str:
    words = text.split()
    for _ in range(rng.randint(0, 2)):
        if len(words) > 6:
            del words[rng.randrange(len(words))]
    if len(words) > 4 and rng.random() < 0.5:
        j = rng.randrange(len(words) - 1)
        words[j], words[j + 1] = words[j + 1], words[j]
    words.append(f"v{i % 997}")
    return " ".join(words)


def build(qa, n: int, real: int, seed: int, strategies: tuple[str, ...] = STRATEGIES) -> dict:
    """Write the synthetic corpus of `strategies` into qa.store; returns build statistics."""
    from rag.core.types import Chunk, DocumentRecord

    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    base_texts, _ = real_sentences(real, seed)
    t0 = time.perf_counter()
    base_vecs = qa.embedder.embed(base_texts)
    embed_s = time.perf_counter() - t0
    t_write = time.perf_counter()
    for d in range(0, n, DOC_SIZE):
        doc_id = f"doc{d // DOC_SIZE:05d}"
        source = f"synthetic_{d // DOC_SIZE:05d}.txt"
        count = min(DOC_SIZE, n - d)
        idx = [(d + j) % len(base_texts) for j in range(count)]
        texts = [
            base_texts[i] if d + j < len(base_texts) else vary(base_texts[i], rng, d + j) for j, i in enumerate(idx)
        ]
        vecs = base_vecs[idx].copy()
        synthetic = np.array([d + j >= len(base_texts) for j in range(count)])
        if synthetic.any():
            vecs[synthetic] += nrng.normal(0.0, NOISE, size=(int(synthetic.sum()), vecs.shape[1])).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        chunks: dict[str, list[Chunk]] = {s: [] for s in STRATEGIES}
        embeddings: dict[str, np.ndarray] = {}
        parents: list[Chunk] = []
        offsets = np.cumsum([0] + [len(t) + 1 for t in texts])
        for j, text in enumerate(texts):
            start, end = int(offsets[j]), int(offsets[j]) + len(text)
            common = dict(doc_id=doc_id, source=source, title=source, start=start, end=end, text=text, index=j)
            sid = f"{doc_id}:s{j}"
            chunks["sentence"].append(Chunk(id=sid, strategy="sentence", **common))
            embeddings[sid] = vecs[j]
            cid, pid = f"{doc_id}:c{j}", f"{doc_id}:p{j // PARENT_SIZE}"
            chunks["parent-child"].append(Chunk(id=cid, strategy="parent-child", role="child", parent_id=pid, **common))
            embeddings[cid] = vecs[j]
        for p in range(0, count, PARENT_SIZE):
            members = texts[p : p + PARENT_SIZE]
            start = int(offsets[p])
            parents.append(
                Chunk(
                    id=f"{doc_id}:p{p // PARENT_SIZE}", doc_id=doc_id, strategy="parent-child", index=p // PARENT_SIZE,
                    text=" ".join(members), start=start, end=start + len(" ".join(members)), source=source,
                    title=source, role="parent",
                )
            )  # fmt: skip
        for w, p in enumerate(range(0, max(1, count - WINDOW + 1), STRIDE)):
            members = texts[p : p + WINDOW]
            start = int(offsets[p])
            oid = f"{doc_id}:o{w}"
            chunks["overlap"].append(
                Chunk(id=oid, doc_id=doc_id, strategy="overlap", index=w, text=" ".join(members), start=start,
                      end=start + len(" ".join(members)), source=source, title=source)
            )  # fmt: skip
            v = vecs[p : p + WINDOW].mean(axis=0)
            embeddings[oid] = v / np.linalg.norm(v)
        chunks = {s: c for s, c in chunks.items() if s in strategies}
        kept_ids = {c.id for cs in chunks.values() for c in cs}
        embeddings = {cid: v for cid, v in embeddings.items() if cid in kept_ids}
        parents = parents if "parent-child" in strategies else []
        record = DocumentRecord(
            source=source, doc_id=doc_id, title=source, file_type="txt", chunks={s: len(c) for s, c in chunks.items()}
        )
        qa.store.replace_document(record, chunks, embeddings, parents, batch_size=qa.settings.store_batch_size)
        if (d // DOC_SIZE) % 50 == 0:
            print(f"  wrote {d + count}/{n} sentences ({time.perf_counter() - t_write:.0f} s)", file=sys.stderr)
    return {
        "real_sentences": len(base_texts),
        "embed_real_s": round(embed_s, 1),
        "write_s": round(time.perf_counter() - t_write, 1),
    }


def pct(values: list[float]) -> dict:
    ms = sorted(v * 1000 for v in values)
    return {
        "p50": round(statistics.median(ms), 2),
        "p95": round(ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))], 2),
        "mean": round(statistics.fmean(ms), 2),
    }


def measure(qa, questions: list[str], k: int, fetch_k: int, strategies: tuple[str, ...] = STRATEGIES) -> list[dict]:
    store, retriever = qa.store, qa.retriever
    forget = getattr(qa.embedder, "forget_recent", lambda: None)
    rows = []
    qvecs = {}
    times = []
    for q in questions:
        t = time.perf_counter()
        qvecs[q] = qa.embedder.embed_query(q)
        times.append(time.perf_counter() - t)
    rows.append({"strategy": "-", "step": "embed (query)", **pct(times)})
    times = []
    for _ in questions:
        t = time.perf_counter()
        store.list_documents()
        times.append(time.perf_counter() - t)
    rows.append({"strategy": "-", "step": "registry (list_documents)", **pct(times)})
    for strategy in strategies:
        col = store.collection(strategy)
        t = time.perf_counter()
        retriever.refresh([strategy])  # BM25 over the whole collection, from the store
        build_s = time.perf_counter() - t
        rows.append({"strategy": strategy, "step": "lexical index build (one-off)", "p50": round(build_s * 1000, 1)})
        for label, run in (
            (
                "chroma raw query",
                lambda v, col=col: col.query(
                    query_embeddings=[v], n_results=fetch_k, include=["metadatas", "documents", "distances"]
                ),
            ),
            ("store.query", lambda v, strategy=strategy: store.query(strategy, v, fetch_k)),
        ):
            for q in questions[:20]:  # warm: the first rows would otherwise pay for cold HNSW pages
                run(qvecs[q])
            times = []
            for q in questions:
                t = time.perf_counter()
                run(qvecs[q])
                times.append(time.perf_counter() - t)
            rows.append({"strategy": strategy, "step": label, **pct(times)})
        if strategy == "parent-child":
            times = []
            for q in questions:
                found = store.query(strategy, qvecs[q], k)
                t = time.perf_counter()
                store.get_chunks("parents", list(dict.fromkeys(c.parent_id for c, _ in found)))
                times.append(time.perf_counter() - t)
            rows.append({"strategy": strategy, "step": "parent expansion", **pct(times)})
        for mode, mmr in (("dense", False), ("lexical", False), ("hybrid", False), ("hybrid", True)):
            times, hits, steps = [], 0, {}
            for q in questions:
                forget()  # a new question: its embedding is not remembered from the "embed" row
                t = time.perf_counter()
                out = retriever.retrieve(q, strategy=strategy, k=k, mode=mode, mmr=mmr, fetch_k=fetch_k)
                times.append(time.perf_counter() - t)
                hits += bool(out.hits)
                for key, value in out.timings.items():
                    steps.setdefault(key, []).append(value)
            label = f"retrieve {mode}{'+mmr' if mmr else ''}"
            if mode == "hybrid" and not mmr:
                rows.append(eager_hybrid(qa, questions, strategy, k, fetch_k))
            split = {key: round(statistics.median(v) * 1000, 1) for key, v in steps.items() if key != "total"}
            rows.append({"strategy": strategy, "step": label, **pct(times), "answered": hits, "median_split_ms": split})
        print(f"  measured {strategy}", file=sys.stderr)
    rows += lexical_updates(qa, strategies)
    return rows


def eager_hybrid(qa, questions: list[str], strategy: str, k: int, fetch_k: int) -> dict:
    """The hybrid path as it was before issue 14's latency work, in the same run: the BM25 leg inline
    after the dense search, and every BM25-only candidate read with text and metadata before fusion."""
    from rag.retrieval.hybrid import Retriever

    retriever, forget = qa.retriever, getattr(qa.embedder, "forget_recent", lambda: None)
    gather, submit = Retriever.gather, retriever.prefetch.submit
    Retriever.gather = lambda self, *a, **kw: gather(self, *a, **{**kw, "lazy": False})
    retriever.prefetch.submit = lambda *a, **kw: None
    times = []
    try:
        for q in questions:
            forget()
            t = time.perf_counter()
            retriever.retrieve(q, strategy=strategy, k=k, mode="hybrid", mmr=False, fetch_k=fetch_k)
            times.append(time.perf_counter() - t)
    finally:
        Retriever.gather, retriever.prefetch.submit = gather, submit
    return {"strategy": strategy, "step": "retrieve hybrid, eager (before)", **pct(times)}


def lexical_updates(qa, strategies: tuple[str, ...] = STRATEGIES) -> list[dict]:
    """Adding and removing one document (DOC_SIZE chunks) in the full library: the lexical index's own work
    (store reads of that document, tokenising, the new segment, the manifest), per strategy."""
    from rag.core.types import DocumentRecord

    rows = []
    for strategy in strategies:
        index = qa.retriever.lexical(strategy)
        index.refresh()
        donor = qa.store.chunks_of(strategy, "doc00000")
        chunks, vectors = qa.store.get_chunks(strategy, [c.id for c in donor], with_embeddings=True)
        copies = [dataclasses.replace(c, id=f"extra:{c.id}", doc_id="extra", source="extra.txt") for c in chunks]
        record = DocumentRecord(source="extra.txt", doc_id="extra", title="extra.txt", file_type="txt",
                                chunks={strategy: len(copies)})  # fmt: skip
        embeddings = {c.id: v for c, v in zip(copies, vectors, strict=True)}
        for label in ("lexical update: add one document", "lexical update: remove one document"):
            if label.endswith("add one document"):
                qa.store.replace_document(record, {strategy: copies}, embeddings)
            else:
                qa.store.remove_document("extra.txt")
            t = time.perf_counter()
            index.refresh()
            wall = time.perf_counter() - t
            rows.append({"strategy": strategy, "step": label, "p50": round(index.last_update_s * 1000, 1), "p95": "",
                         "mean": round(wall * 1000, 1), "chunks": len(copies), "rebuilt": index.builds})  # fmt: skip
    return rows


def hybrid_goal(rows: list[dict], strategies: tuple[str, ...] = STRATEGIES) -> list[str]:
    """Hybrid p95 against 1.5x (raw Chroma p95 + query embedding p50), per strategy, from the same run."""
    embed = next(r["p50"] for r in rows if r["step"] == "embed (query)")
    lines = []
    for strategy in strategies:
        raw = next(r["p95"] for r in rows if r["strategy"] == strategy and r["step"] == "chroma raw query")
        hybrid = next(r["p95"] for r in rows if r["strategy"] == strategy and r["step"] == "retrieve hybrid")
        lines.append(f"{strategy}: hybrid p95 {hybrid:.1f} ms = {hybrid / (raw + embed):.2f}x (raw p95 {raw:.1f} + "
                     f"embed p50 {embed:.1f}); goal <= 1.50x")  # fmt: skip
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=100_000, help="Searchable sentence chunks (and children).")
    parser.add_argument("--real", type=int, default=5000, help="Real sentences embedded; the rest are copies.")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--k", type=int, default=6)
    parser.add_argument("--fetch-k", type=int, default=80, help="Candidates per leg (the app default).")
    parser.add_argument("--backend", default="onnx", help="Embedding backend (torch, onnx, onnx-int8).")
    parser.add_argument("--server", action="store_true", help="Use a `chroma run` server on loopback.")
    parser.add_argument("--rebuild", action="store_true", help="Drop the cached store first.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--strategies", default=",".join(STRATEGIES), help="Comma list (parent-child: the default).")
    parser.add_argument("--out", default=str(RESULTS / "query.json"))
    args = parser.parse_args()
    strategies = tuple(s for s in STRATEGIES if s in args.strategies.split(","))
    if not COVIDQA.is_file():
        sys.exit(f"missing data: {COVIDQA}")

    from rag.app import build_app
    from rag.core.settings import Settings, offline_environment

    offline_environment()
    only = "" if strategies == STRATEGIES else "-" + "-".join(strategies)
    mode = "-server" if args.server else ""
    folder = CACHE / f"query-{args.chunks}-{args.real}-{args.seed}-{args.backend}{mode}{only}"
    if args.rebuild and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    server = None
    overrides: dict = {}
    if args.server:
        from tests.test_store_modes import ChromaServer

        server = ChromaServer(folder).start()
        overrides = {"chroma_host": server.host, "chroma_port": server.port}
    try:
        settings = Settings(
            _env_file=None, data_dir=folder, index_dir=folder / "index", embedding_backend=args.backend, **overrides
        )
        qa = build_app(settings)
        qa.warm_up()
        built = json.loads((folder / "built.json").read_text()) if (folder / "built.json").is_file() else None
        if built is None or qa.store.count(strategies[0]) < args.chunks // 3:
            print(f"building {args.chunks} chunks per strategy in {folder}", file=sys.stderr)
            built = build(qa, args.chunks, args.real, args.seed, strategies)
            (folder / "built.json").write_text(json.dumps(built))
        counts = {s: qa.store.count(s) for s in (*strategies, "parents")}
        _, questions = real_sentences(0, args.seed)
        questions = random.Random(args.seed).sample(questions, args.queries)
        for q in questions[:3]:  # warm caches (HNSW pages, tokenizer, BM25 load)
            qa.retriever.retrieve(q, strategy=strategies[0], k=args.k)
        rows = measure(qa, questions, args.k, args.fetch_k, strategies)
    finally:
        if server is not None:
            server.stop()

    header = ["strategy", "step", "p50 ms", "p95 ms", "mean ms"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [r["strategy"], r["step"], r.get("p50", ""), r.get("p95", ""), r.get("mean", "")]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    table = "\n".join(lines)
    print(table)
    goal = hybrid_goal(rows, strategies)
    print("\n".join(goal))
    meta = {
        "hybrid_goal": goal,
        "machine": platform.machine(),
        "python": platform.python_version(),
        "mode": "server" if args.server else "embedded",
        "embedder": f"{qa.embedder.name} ({getattr(qa.embedder, 'backend', 'torch')})",
        "counts": counts,
        "queries": args.queries,
        "k": args.k,
        "fetch_k": args.fetch_k,
        "build": built,
        "corpus": "real covidqa sentences + noisy copies (see the module docstring)",
    }
    write_results(args.out, meta, rows, table)


if __name__ == "__main__":
    main()
