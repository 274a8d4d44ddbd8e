"""Ingestion speed and memory on ../shared/data/pdf/long_en, docqa's default against the LangChain recipe.

One run, side by side, each part in a fresh child process (so peak RSS is its own), models loaded before
the clock starts:
1. the LangChain tutorial recipe: langchain_community's PyPDFLoader (pypdf, one Document per page) ->
   RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200) -> the bundled MiniLM through
   sentence-transformers (torch; a small Embeddings wrapper here, since langchain_huggingface would
   downgrade huggingface_hub) -> langchain_chroma.Chroma.add_documents into a tmp folder;
2. `docqa ingest` with default settings, through Library.add_paths (the CLI's code path, BM25 included);
3. docqa's embed-only time: the same unique texts the store then holds, embedded by the same embedder
   in one call. pipeline / embed-only says what everything besides the embedder still costs;
4. docqa re-ingesting the unchanged folder (a hash and a registry lookup per file).
Peak RSS: the app's during the ingest (read before the embed-only step, which tokenises every text in
one call) or docqa's sandbox worker's, the larger; the app's overall peak and their sum are in the JSON.

    python benchmarks/ingest.py [--files N] [--backend onnx] [--multilingual-check]
    python benchmarks/ingest.py --ocr-only [--ocr-pages 3]

Ends with: `default ingest vs LangChain recipe: X.XXx pages/s (pipeline/embed-only Y.YY)`.

OCR is reported separately (`ocr_throughput`, results/ingest_ocr.json): pages per second of the loader on
image-only PDFs made from text PDFs (English: data/heat_pumps.pdf; Korean: the statute in
../shared/data/pdf/ko), next to the same pages with their text layer, and the loader on digital PDFs as
shipped (PDFium text) and with pypdf alone (what a file PDFium refuses costs; how PDFs were read before).
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


def _peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def run_recipe(files: list[str], queue: mp.Queue) -> None:
    """The LangChain tutorial's ingest, as its documentation writes it."""
    import warnings

    from rag.core.settings import offline_environment

    offline_environment()
    warnings.simplefilter("ignore")  # langchain_community's sunset notice
    from langchain_chroma import Chroma
    from langchain_community.document_loaders import PyPDFLoader
    from langchain_core.embeddings import Embeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter
    from sentence_transformers import SentenceTransformer

    from rag.backends.st_embedder import resolve_model_path
    from rag.core.settings import BUNDLED_MODEL

    class MiniLM(Embeddings):
        """What langchain_huggingface's HuggingFaceEmbeddings does: sentence-transformers encode."""

        def __init__(self) -> None:
            self.model = SentenceTransformer(resolve_model_path(BUNDLED_MODEL), device="cpu")

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return self.model.encode(texts, batch_size=32, normalize_embeddings=True).tolist()

        def embed_query(self, text: str) -> list[float]:
            return self.embed_documents([text])[0]

    embeddings = MiniLM()
    embeddings.embed_documents(["warm-up text so lazy initialisation is not timed"])
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        pages = [page for f in files for page in PyPDFLoader(f).load()]
        load_s = time.perf_counter() - t0
        chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(pages)
        store = Chroma(collection_name="recipe", embedding_function=embeddings, persist_directory=tmp)
        t1 = time.perf_counter()
        store.add_documents(chunks)
        seconds = time.perf_counter() - t0
        count = store._collection.count()
    queue.put({"what": "LangChain recipe (pypdf, 1000/200, MiniLM torch, Chroma)", "pages": len(pages),
               "chunks": count, "seconds": round(seconds, 2), "load_s": round(load_s, 2),
               "embed_store_s": round(seconds - (t1 - t0), 2),
               "peak_rss_mb": _peak_mb(), "stack": "langchain_community PyPDFLoader + langchain_chroma"})  # fmt: skip


def run_docqa(folder: str, files: list[str], backend: str, multilingual: str, queue: mp.Queue) -> None:
    """`docqa ingest FOLDER` with default settings (Library.add_paths), then embed-only, then a re-ingest."""
    import shutil

    from rag.app import build_app
    from rag.core.settings import Settings, offline_environment
    from rag.core.text import text_key

    offline_environment()
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        docs.mkdir()
        for f in files:  # a subset (--files) is ingested as a folder too
            (docs / Path(f).name).symlink_to(f)
        extra = {"multilingual": multilingual} if multilingual else {}
        settings = Settings(_env_file=None, data_dir=Path(tmp), index_dir=Path(tmp) / "index", max_pages=10_000,
                            embedding_backend=backend, **extra)  # fmt: skip
        qa = build_app(settings)
        qa.warm_up()
        qa.embedder.embed(["warm-up text so lazy initialisation is not timed"])
        t0 = time.perf_counter()
        reports = qa.library.add_paths([docs])
        pipeline_s = time.perf_counter() - t0
        failed = [f"{r.source}: {r.error}" for r in reports if r.status == "failed"]
        pipeline_peak = _peak_mb()  # before embed-only, whose one big call tokenises every text at once
        built = sorted({s for r in reports for s in r.chunks})
        texts = list({text_key(c.text): c.text for s in built for c in qa.store.iter_chunks(s)}.values())
        forget = getattr(qa.embedder, "forget_recent", None)
        if forget is not None:
            forget()  # the pipeline just embedded these texts: time the embedder, not its memory
        t0 = time.perf_counter()
        qa.embedder.embed(texts)
        embed_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = qa.library.add_paths([docs])
        reingest_s = time.perf_counter() - t0
        app_peak = _peak_mb()
        qa.close()  # the sandbox worker exits and is reaped: its peak is in RUSAGE_CHILDREN
        worker_peak = _peak_mb(resource.RUSAGE_CHILDREN)
        shutil.rmtree(docs)
    label = f"DOCQA_MULTILINGUAL={multilingual}" if multilingual else "default"
    queue.put({"what": f"docqa {label} ({', '.join(built)}; {getattr(qa.embedder, 'backend', backend)})",
               "pages": sum(r.pages for r in reports), "chunks": sum(sum(r.chunks.values()) for r in reports),
               "seconds": round(pipeline_s, 2), "embed_only_s": round(embed_s, 2), "unique_texts": len(texts),
               "embedded": sum(r.embedded for r in reports), "reingest_s": round(reingest_s, 3),
               "reingest_unchanged": sum(r.status == "unchanged" for r in again),
               "peak_rss_mb": max(pipeline_peak, worker_peak), "app_peak_mb": app_peak, "worker_peak_mb": worker_peak,
               "pipeline_peak_mb": pipeline_peak,
               "app_plus_worker_mb": round(app_peak + worker_peak, 1), "failed": failed})  # fmt: skip


def _child(target, *args) -> dict:
    ctx = mp.get_context("spawn")  # a fresh interpreter per part: peak RSS is its own
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    row = queue.get()
    proc.join()
    return row


def compare(files: list[Path], backend: str, out: str, multilingual_check: bool = False) -> None:
    names = [str(p) for p in files]
    recipe = _child(run_recipe, names)
    print(f"recipe: {recipe['seconds']} s", file=sys.stderr)
    docqa = _child(run_docqa, str(LONG_EN), names, backend, "")
    print(f"docqa: {docqa['seconds']} s", file=sys.stderr)
    off = _child(run_docqa, str(LONG_EN), names, backend, "off") if multilingual_check else None
    if off is not None:
        print(f"docqa, multilingual off: {off['seconds']} s", file=sys.stderr)
    for r in (recipe, docqa):
        r["pages_per_s"] = round(r["pages"] / r["seconds"], 2)
    speedup = docqa["pages_per_s"] / recipe["pages_per_s"]
    ratio = docqa["seconds"] / docqa["embed_only_s"]
    first_over_again = docqa["seconds"] / max(docqa["reingest_s"], 1e-6)
    header = ["what", "pages", "chunks", "seconds", "pages/s", "vs recipe", "embed-only s", "pipeline/embed-only",
              "peak MB"]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for r, vs in ((recipe, 1.0), (docqa, speedup)):
        embed = r.get("embed_only_s", "")
        rat = f"{r['seconds'] / embed:.2f}" if embed else ""
        cells = [r["what"], r["pages"], f"{r['chunks']:,}", r["seconds"], r["pages_per_s"], f"{vs:.2f}x", embed, rat,
                 r["peak_rss_mb"]]  # fmt: skip
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines.append(f"| docqa re-ingest, unchanged | {docqa['pages']} | | {docqa['reingest_s']} | | "
                 f"first/re-ingest {first_over_again:.0f}x | | | |")  # fmt: skip
    if off is not None:  # issue 15: the multilingual leg (default auto) must not slow an English-only library
        off["pages_per_s"] = round(off["pages"] / off["seconds"], 2)
        lines.append(f"| {off['what']} | {off['pages']} | {off['chunks']:,} | {off['seconds']} | {off['pages_per_s']} "
                     f"| {off['pages_per_s'] / recipe['pages_per_s']:.2f}x | {off['embed_only_s']} | "
                     f"{off['seconds'] / off['embed_only_s']:.2f} | {off['peak_rss_mb']} |")  # fmt: skip
    table = "\n".join(lines)
    print(table)
    meta = {"machine": platform.machine(), "python": platform.python_version(), "files": [p.name for p in files],
            "backend": backend, "speedup": round(speedup, 3), "pipeline_over_embed_only": round(ratio, 3),
            "first_over_reingest": round(first_over_again, 1)}  # fmt: skip
    if off is not None:
        meta["auto_over_off_seconds"] = round(docqa["seconds"] / off["seconds"], 3)
    write_results(out, meta, [recipe, docqa] + ([off] if off is not None else []), table)
    if off is not None:
        auto_off = docqa["seconds"] / off["seconds"]
        print(f"default (multilingual auto) vs off on these English files: {auto_off:.2f}x the time")
    print(f"default ingest vs LangChain recipe: {speedup:.2f}x pages/s (pipeline/embed-only {ratio:.2f})")


def _load_seconds(path: Path, *, pdfium: bool = True) -> tuple[float, int, int]:
    """(seconds, pages, OCR'd pages) of one in-process load; `pdfium=False` reads the text with pypdf alone
    (what a file PDFium refuses gets, and how docqa read PDFs before)."""
    from ingest.loaders import load_with_pages, pdf_pdfium

    original = pdf_pdfium.open_document
    if not pdfium:

        def refuse(data: bytes):
            raise RuntimeError("PDFium off for this measurement")

        pdf_pdfium.open_document = refuse
    try:
        t0 = time.perf_counter()
        _, pages = load_with_pages(path, max_pages=10_000)
        return time.perf_counter() - t0, len(pages), sum(p.ocr_confidence is not None for p in pages)
    finally:
        pdf_pdfium.open_document = original


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
            off, count, _ = _load_seconds(path, pdfium=False)
            on = _load_seconds(path)[0]
            rows.append({"set": f"digital {path.name}", "pages": count, "ocr_pages": 0, "seconds": round(on, 2),
                         "pages_per_s": round(count / on, 1),
                         "pypdf_only_pages_per_s": round(count / off, 1)})  # fmt: skip
    header = ["set", "pages", "OCR'd", "seconds", "pages/s", "baseline pages/s (text layer / pypdf only)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        base = r.get("text_layer_pages_per_s", r.get("pypdf_only_pages_per_s"))
        lines.append(f"| {r['set']} | {r['pages']} | {r['ocr_pages']} | {r['seconds']} | {r['pages_per_s']} | {base} |")
    table = "\n".join(lines)
    print(table)
    meta = {"machine": platform.machine(), "python": platform.python_version(), "dpi": ocr.DPI, "tesseract": engine}
    write_results(out, meta, rows, table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=0, help="Use only the N smallest PDFs (0 = all).")
    parser.add_argument(
        "--backend", default="onnx", help="docqa's embedding backend: onnx (default), torch, onnx-int8."
    )
    parser.add_argument("--out", default=str(RESULTS / "ingest.json"))
    parser.add_argument("--multilingual-check", action="store_true",
                        help="Also ingest with DOCQA_MULTILINGUAL=off (what auto costs English files).")  # fmt: skip
    parser.add_argument("--ocr", action="store_true", help="Also measure OCR and the PDF readers (small).")
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
    compare(pdfs, args.backend, args.out, args.multilingual_check)
    if args.ocr:
        ocr_throughput(args.ocr_pages, str(RESULTS / "ingest_ocr.json"))  # reported on its own


if __name__ == "__main__":
    main()
