"""Where one default ingest of long_en spends its time, with the orphan list and without it (the baseline).

Two fresh processes in one run, each `Library.add_paths` on the same files with default settings, then
the embed-only time of the same unique texts:
- `orphans`: as shipped: chunks HNSW cannot reach after a write go on the orphan list
  (rag/backends/chroma_orphans.py);
- `rebuild`: the list's limit set to 0, which is how every write behaved before: each lost chunk rebuilt
  the whole collection.
Each stage (prepare, embed, write, verify, repair, backfill, lexical refresh) is timed where it runs, so
the table shows which stages grew.

    python benchmarks/ingest_timeline.py [--files N]

Ends with: `orphan list vs rebuild: X.XXx the time (pipeline/embed-only A.AA vs B.BB)`.
Lost chunks are chance events (one or two per long_en ingest), so a run may see none in either mode.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing as mp
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_results import write_results  # noqa: E402  (this folder: the script's own)

LONG_EN = REPO.parent / "shared" / "data" / "pdf" / "long_en"
STAGES = ("prepare", "embed", "write", "verify", "repair", "backfill", "refresh")


def run(mode: str, files: list[str], queue) -> None:
    """One ingest in this fresh process; puts per-stage seconds, repairs and the embed-only time."""
    from ingest import pipeline
    from rag import library
    from rag.app import build_app
    from rag.backends import chroma_orphans, chroma_store
    from rag.core.settings import Settings, offline_environment

    offline_environment()
    if mode == "rebuild":
        chroma_orphans.ORPHAN_MIN, chroma_orphans.ORPHAN_SHARE = 0, 0.0
    spent = {s: 0.0 for s in STAGES}
    calls = {s: 0 for s in STAGES}
    lock = threading.Lock()

    def timed(cls, name: str, stage: str) -> None:
        real = getattr(cls, name)

        @functools.wraps(real)
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                with lock:
                    spent[stage] += time.perf_counter() - t0
                    calls[stage] += 1

        setattr(cls, name, wrapper)

    timed(pipeline.Ingestor, "prepare", "prepare")
    timed(pipeline.Ingestor, "_embed_unique", "embed")
    timed(pipeline.Ingestor, "_write", "write")
    timed(chroma_store.ChunkStore, "verify_written", "verify")
    timed(chroma_store.ChunkStore, "repair", "repair")
    timed(library.Library, "backfill_multilingual", "backfill")
    timed(library.Library, "refresh_after", "refresh")
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        docs.mkdir()
        for f in files:
            (docs / Path(f).name).symlink_to(f)
        settings = Settings(_env_file=None, data_dir=Path(tmp), index_dir=Path(tmp) / "index", max_pages=10_000)
        qa = build_app(settings)
        qa.warm_up()
        qa.embedder.embed(["warm-up text so lazy initialisation is not timed"])
        t0 = time.perf_counter()
        reports = qa.library.add_paths([docs])
        seconds = time.perf_counter() - t0
        texts = list({c.text: None for c in qa.store.iter_chunks("parent-child")})
        qa.embedder.forget_recent()
        t0 = time.perf_counter()
        qa.embedder.embed(texts)
        embed_only = time.perf_counter() - t0
        qa.close()
    queue.put({"what": mode, "seconds": round(seconds, 2), "embed_only_s": round(embed_only, 2),
               "ratio": round(seconds / embed_only, 3), "chunks": sum(sum(r.chunks.values()) for r in reports),
               "repairs": calls["repair"], **{f"{s}_s": round(spent[s], 2) for s in STAGES}})  # fmt: skip


def _child(mode: str, files: list[str]) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=run, args=(mode, files, queue))
    proc.start()
    row = queue.get()
    proc.join()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=0, help="Use only the N smallest PDFs (0 = all).")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "ingest_timeline.json"))
    args = parser.parse_args()
    files = sorted(LONG_EN.glob("*.pdf"), key=lambda p: p.stat().st_size)
    files = [str(p) for p in (files[: args.files] if args.files else files)]
    rows = []
    for mode in ("rebuild", "orphans"):
        rows.append(_child(mode, files))
        print(f"{mode}: {rows[-1]['seconds']} s", file=sys.stderr)
    header = ["mode", "chunks", "seconds", "embed-only s", "pipeline/embed-only", "repairs",
              *(f"{s} s" for s in STAGES)]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for r in rows:
        cells = [r["what"], f"{r['chunks']:,}", r["seconds"], r["embed_only_s"], f"{r['ratio']:.2f}", r["repairs"],
                 *(r[f"{s}_s"] for s in STAGES)]  # fmt: skip
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    table = "\n".join(lines)
    print(table)
    base, new = rows
    meta = {"files": [Path(f).name for f in files], "time_ratio": round(new["seconds"] / base["seconds"], 3)}
    write_results(args.out, meta, rows, table)
    print(f"orphan list vs rebuild: {new['seconds'] / base['seconds']:.2f}x the time "
          f"(pipeline/embed-only {new['ratio']:.2f} vs {base['ratio']:.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
