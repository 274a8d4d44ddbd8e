"""Ingestion speed and memory on ../shared/data/pdf/long_en, per chunking strategy.

For each strategy a fresh child process ingests the PDFs into a tmp store (so peak RSS is that
strategy's own), then embeds the very same unique chunk texts again with the bare embedder. The ratio
pipeline / embedding-only says how much the rest of the pipeline (pypdf, splitting, chunking, Chroma
writes) costs on top of the bound, the embedder: 1.0 would mean ingestion is as fast as embedding alone.

    python benchmarks/ingest.py [--files N] [--strategies sentence,overlap] [--backends torch,onnx,onnx-int8]
    python benchmarks/ingest.py --ocr-only [--ocr-pages 3]

OCR is reported separately (`ocr_throughput`, results/ingest_ocr.json): pages per second of the loader on
image-only PDFs made from text PDFs (English: data/heat_pumps.pdf; Korean: the statute in
../shared/data/pdf/ko), next to the same pages with their text layer, and the loader on digital PDFs with
and without the PDFium second extraction of flagged pages (what the second reading costs a digital PDF).
Loading runs in this process, without the sandbox, so the numbers are the readers' own.
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


def _load_seconds(path: Path, *, second: bool = True) -> tuple[float, int, int]:
    """(seconds, pages, OCR'd pages) of one in-process load; `second=False` turns the PDFium re-read off."""
    from ingest.loaders import load_with_pages, pdf_second

    original = pdf_second.needs_second
    if not second:
        pdf_second.needs_second = lambda text: False
    try:
        t0 = time.perf_counter()
        _, pages = load_with_pages(path, max_pages=10_000)
        return time.perf_counter() - t0, len(pages), sum(p.ocr_confidence is not None for p in pages)
    finally:
        pdf_second.needs_second = original


def ocr_throughput(pages: int, out: str) -> None:
    from ingest.loaders import ocr
    from tests.scans import scanned_pdf

    engine = ocr.tesseract()
    if engine is None:
        sys.exit(f"Tesseract is not installed: {ocr.INSTALL_HINT}")
    korean = REPO.parent / "shared" / "data" / "pdf" / "ko" / "wikibook_langchain_sample_flying_car_law.pdf"
    sets = [("English", REPO / "data" / "heat_pumps.pdf", range(1, 4))]
    if korean.exists():
        sets.append(("Korean", korean, range(3, 6)))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, source, numbers in sets:
            numbers = list(numbers)[:pages]
            scan = Path(tmp) / f"{name}.pdf"
            scan.write_bytes(scanned_pdf(source, numbers))
            _load_seconds(scan)  # warm-up: imports, Tesseract's language data in the page cache
            source_s, source_pages, _ = _load_seconds(source)
            text_s = source_s * len(numbers) / source_pages
            seconds, count, read = _load_seconds(scan)
            rows.append({"set": f"OCR {name} ({engine[1]}, {ocr.DPI} dpi)", "pages": count, "ocr_pages": read,
                         "seconds": round(seconds, 2), "pages_per_s": round(count / seconds, 3),
                         "text_layer_pages_per_s": round(len(numbers) / text_s, 1)})  # fmt: skip
        digital = [REPO / "data" / "heat_pumps.pdf", LONG_EN / "thinkpython2.pdf"]
        for path in (p for p in digital if p.exists()):
            off, count, _ = _load_seconds(path, second=False)
            on = _load_seconds(path)[0]
            rows.append({"set": f"digital {path.name}", "pages": count, "ocr_pages": 0, "seconds": round(on, 2),
                         "pages_per_s": round(count / on, 1),
                         "without_second_pages_per_s": round(count / off, 1)})  # fmt: skip
    header = ["set", "pages", "OCR'd", "seconds", "pages/s", "baseline pages/s (text layer / no 2nd read)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        base = r.get("text_layer_pages_per_s", r.get("without_second_pages_per_s"))
        lines.append(f"| {r['set']} | {r['pages']} | {r['ocr_pages']} | {r['seconds']} | {r['pages_per_s']} | {base} |")
    table = "\n".join(lines)
    print(table)
    meta = {"machine": platform.machine(), "python": platform.python_version(), "dpi": ocr.DPI, "tesseract": engine}
    write_results(out, meta, rows, table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=0, help="Use only the N smallest PDFs (0 = all).")
    parser.add_argument("--strategies", default="sentence,overlap,parent-child")
    parser.add_argument(
        "--backends", default="torch,onnx", help="Embedding backends to compare: torch, onnx, onnx-int8."
    )
    parser.add_argument("--out", default=str(RESULTS / "ingest.json"))
    parser.add_argument("--ocr-only", action="store_true", help="Only the OCR and PDF-reader figures (small).")
    parser.add_argument("--ocr-pages", type=int, default=3, help="Scanned pages per language for OCR throughput.")
    args = parser.parse_args()
    if args.ocr_only:
        ocr_throughput(args.ocr_pages, str(RESULTS / "ingest_ocr.json"))
        return
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
    ocr_throughput(args.ocr_pages, str(RESULTS / "ingest_ocr.json"))  # reported on its own


if __name__ == "__main__":
    main()
