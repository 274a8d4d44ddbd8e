"""Ingestion speed and memory on ../shared/data/pdf/long_en, per chunking strategy.

For each strategy a fresh child process ingests the PDFs into a tmp store (so peak RSS is that
strategy's own), then embeds the very same unique chunk texts again with the bare embedder. The ratio
pipeline / embedding-only says how much the rest of the pipeline (pypdf, splitting, chunking, Chroma
writes) costs on top of the bound, the embedder: 1.0 would mean ingestion is as fast as embedding alone.

    python benchmarks/ingest.py [--files N] [--strategies sentence,overlap] [--backends torch,onnx,onnx-int8]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_results import write_results  # noqa: E402  (this folder: the script's own)

LONG_EN = REPO.parent / "shared" / "data" / "pdf" / "long_en"
RESULTS = REPO / "benchmarks" / "results"


def run_strategy(strategy: str, files: list[str], backend: str, queue: mp.Queue) -> None:
    from rag.app import build_app
    from rag.core.settings import Settings, offline_environment
    from rag.core.types import Strategy

    offline_environment()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None,
            data_dir=Path(tmp),
            index_dir=Path(tmp) / "index",
            max_pages=10_000,
            embedding_backend=backend,
        )
        qa = build_app(settings)
        qa.warm_up()
        qa.embedder.embed(["warm-up text so lazy initialisation is not timed"])
        t0 = time.perf_counter()
        reports = qa.ingestor.ingest_paths(files, [Strategy(strategy)])
        pipeline_s = time.perf_counter() - t0
        failed = [f"{r.source}: {r.error}" for r in reports if r.status == "failed"]
        texts = list(dict.fromkeys(c.text for c in qa.store.iter_chunks(strategy)))
        t0 = time.perf_counter()
        qa.embedder.embed(texts)
        embed_s = time.perf_counter() - t0
        pages = sum(r.pages for r in reports)
        chunks = sum(sum(r.chunks.values()) for r in reports)
        parents = qa.store.count("parents") if strategy == "parent-child" else 0
    queue.put(
        {
            "strategy": strategy,
            "backend": backend,
            "backend_used": getattr(qa.embedder, "backend", "torch"),  # differs when ONNX fell back
            "fallback_reason": getattr(qa.embedder, "fallback_reason", ""),
            "files": len(files),
            "pages": pages,
            "chunks": chunks,
            "parents": parents,
            "unique_texts": len(texts),
            "pipeline_s": round(pipeline_s, 2),
            "embedding_only_s": round(embed_s, 2),
            "pages_per_s": round(pages / pipeline_s, 2),
            "chunks_per_s": round(chunks / pipeline_s, 2),
            "pipeline_over_embedding": round(pipeline_s / embed_s, 3) if embed_s else None,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "failed": failed,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=0, help="Use only the N smallest PDFs (0 = all).")
    parser.add_argument("--strategies", default="sentence,overlap,parent-child")
    parser.add_argument(
        "--backends", default="torch,onnx", help="Embedding backends to compare: torch, onnx, onnx-int8."
    )
    parser.add_argument("--out", default=str(RESULTS / "ingest.json"))
    args = parser.parse_args()
    if not LONG_EN.is_dir():
        sys.exit(f"missing data: {LONG_EN}")
    pdfs = sorted(LONG_EN.glob("*.pdf"), key=lambda p: p.stat().st_size)
    if args.files:
        pdfs = pdfs[: args.files]
    rows = []
    ctx = mp.get_context("spawn")  # a fresh interpreter per strategy: peak RSS is its own
    for backend in args.backends.split(","):
        for strategy in args.strategies.split(","):
            queue = ctx.Queue()
            proc = ctx.Process(target=run_strategy, args=(strategy, [str(p) for p in pdfs], backend, queue))
            proc.start()
            row = queue.get()
            proc.join()
            rows.append(row)
            print(f"done {backend}/{strategy}: {row['pipeline_s']} s", file=sys.stderr)

    header = ["backend", "strategy", "pages", "chunks", "pages/s", "chunks/s", "pipeline s",
              "embed-only s", "ratio", "peak MB"]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        backend = r["backend"] if r["backend_used"] == r["backend"] else f"{r['backend']}->{r['backend_used']}"
        cells = [backend, r["strategy"], r["pages"], r["chunks"], r["pages_per_s"], r["chunks_per_s"],
                 r["pipeline_s"], r["embedding_only_s"], r["pipeline_over_embedding"], r["peak_rss_mb"]]  # fmt: skip
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    table = "\n".join(lines)
    print(table)
    meta = {"machine": platform.machine(), "python": platform.python_version(), "files": [p.name for p in pdfs]}
    write_results(args.out, meta, rows, table)


if __name__ == "__main__":
    main()
