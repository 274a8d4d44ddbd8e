"""Cross-lingual retrieval (issue 15): Korean questions over English documents, English over Korean PDFs.

    .venv/bin/python benchmarks/crosslingual.py [--modes off,auto,cross-lingual]

Library: the English sample documents (data/heat_pumps.pdf, data/company_handbook.txt,
data/solar_system_guide.md) and the two Korean PDFs of ../shared/data/pdf/ko, all in one library (a user's
Korean and English files share one index), parent-child chunks (the default strategy), built once per
DOCQA_MULTILINGUAL mode through the real app (Library.add_paths), timed: what cross-lingual costs at ingest.

Questions: benchmarks/crosslingual_questions.jsonl, written for this benchmark: 20 Korean questions whose
answers are in the English documents (ko->en) and 18 English questions answered by the Korean PDFs
(en->ko), each with its gold document, gold page (PDFs) and the answer text as the source writes it.
A question is a hit when one of the k = 6 sources handed to the model is from its gold document and
covers its gold page (PDFs) or contains the answer text (other files); top-1 asks it of the first source.

Rows, all through rag.retrieval.hybrid.Retriever: BM25 alone (mode lexical), MiniLM alone (mode dense,
e5 leg off), e5 alone (the cross-lingual library's e5 leg only), and the hybrid default of each mode.
Also the extractive answer (no LLM) in cross-lingual mode: how often it quotes the gold source and says
the source is in another language. Writes benchmarks/results/crosslingual.json and .md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_results import write_results  # noqa: E402  (this folder: the script's own)

from rag.core.settings import Settings, offline_environment  # noqa: E402

offline_environment()

QUESTIONS = REPO / "benchmarks" / "crosslingual_questions.jsonl"
WORK = REPO / "benchmarks" / ".cache" / "crosslingual"
K = 6


def log(msg: str) -> None:
    print(msg, flush=True)


def load_questions() -> list[dict]:
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        row["source"] = Path(row["document"]).name
    return rows


def documents(rows: list[dict]) -> list[Path]:
    return sorted({(REPO / r["document"]).resolve() for r in rows})


def found(hit, row: dict) -> bool:
    chunk = hit.chunk
    if chunk.source != row["source"]:
        return False
    if row["page"]:
        start, end = chunk.page_start or 0, chunk.page_end or chunk.page_start or 0
        return start <= row["page"] <= end
    return " ".join(row["answer"].split()) in " ".join(chunk.text.split())


def score(hits_per_q: list[list], rows: list[dict]) -> dict:
    out = {}
    for direction in ("ko->en", "en->ko"):
        idx = [i for i, r in enumerate(rows) if r["direction"] == direction]
        hit = sum(any(found(h, rows[i]) for h in hits_per_q[i][:K]) for i in idx)
        top1 = sum(bool(hits_per_q[i]) and found(hits_per_q[i][0], rows[i]) for i in idx)
        out[direction] = {"n": len(idx), "hit": hit / len(idx), "top1": top1 / len(idx)}
    return out


def build(mode: str, files: list[Path], shared: dict, reuse: bool = False):
    from rag.app import build_app

    folder = WORK / mode
    if reuse:  # the libraries of an earlier run, as they are (documents it committed)
        settings = Settings(
            _env_file=None, data_dir=folder, index_dir=folder, ingest_strategies="parent-child", multilingual=mode
        )
        return build_app(settings, **shared), float("nan")
    shutil.rmtree(folder, ignore_errors=True)
    settings = Settings(
        _env_file=None, data_dir=folder, index_dir=folder, ingest_strategies="parent-child", multilingual=mode
    )
    qa = build_app(settings, **shared)
    qa.warm_up()
    t = time.perf_counter()
    reports = qa.library.add_paths([str(f) for f in files])
    seconds = time.perf_counter() - t
    bad = [r for r in reports if r.status != "ingested"]
    if bad:
        raise SystemExit(f"ingest failed: {[(r.source, r.error) for r in bad]}")
    return qa, seconds


def retrieve_all(retriever, rows: list[dict], mode: str, only) -> list[list]:
    """`only(row)`: the documents searched for that question (None: the whole library)."""
    return [retriever.retrieve(r["question"], mode=mode, k=K, doc_filter=only(r)).hits for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--modes", default="off,auto,cross-lingual")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="use the libraries an earlier run built, restricted to the "
        "documents every one of them committed (a run cut short)",
    )
    args = parser.parse_args()
    from rag.answer.answerer import AskOptions
    from rag.app import build_app
    from rag.backends.bm25 import LexicalIndex
    from rag.retrieval.hybrid import Retriever

    rows = load_questions()
    files = documents(rows)
    probe = build_app(Settings(_env_file=None, multilingual="auto"))
    shared = {"embedder": probe.embedder, "counter": probe.counter, "multilingual": probe.multilingual}
    probe.embedder.warm_up()
    probe.multilingual.warm_up()
    results, ingest = [], {}
    apps = {}
    for mode in args.modes.split(","):
        qa, seconds = build(mode, files, {**shared, "multilingual": None} if mode == "off" else shared, args.reuse)
        apps[mode] = qa
        ingest[mode] = {"seconds": round(seconds, 1), "chunks": qa.store.count("parent-child")}
        if mode != "off":
            ingest[mode]["e5_chunks"] = qa.store.count("parent-child__e5")
        log(f"{mode}: ingested {len(files)} files in {seconds:.1f}s {ingest[mode]}")
    common = set.intersection(*({r.source for r in qa.store.list_documents()} for qa in apps.values()))
    # "mixed": the whole library (both languages); "other language only": the question searches only the
    # documents in the other language (a user who picks them in the document filter).
    by_direction = {d: sorted({r["source"] for r in rows if r["direction"] == d}) for d in ("ko->en", "en->ko")}
    filters = {
        "mixed library": lambda r: sorted(common) if args.reuse else None,
        "other-language documents only": lambda r: by_direction[r["direction"]],
    }
    rows = [r for r in rows if r["source"] in common]
    log(f"{len(rows)} questions over {sorted(common)}")
    base = apps.get("off") or next(iter(apps.values()))
    for where, only in filters.items():
        results.append((f"BM25 alone, {where}", score(retrieve_all(base.retriever, rows, "lexical", only), rows)))
        if "off" in apps:
            hits = retrieve_all(apps["off"].retriever, rows, "dense", only)
            results.append((f"MiniLM dense alone, {where}", score(hits, rows)))
        if "cross-lingual" in apps:
            qa = apps["cross-lingual"]
            e5s = qa.settings.model_copy(update={"dense_weight": 0.0, "cjk_dense_weight": 0.0, "e5_weight": 1.0})
            e5s = e5s.model_copy(update={"e5_english_weight": 1.0})
            e5_only = Retriever(qa.store, qa.embedder, qa.counter, e5s, LexicalIndex, multilingual=qa.multilingual)
            results.append((f"e5 dense alone, {where}", score(retrieve_all(e5_only, rows, "dense", only), rows)))
        for mode, qa in apps.items():
            label = {"off": "hybrid, multilingual off", "auto": "hybrid, auto (default)"}.get(
                mode, "hybrid, cross-lingual"
            )
            results.append((f"{label}, {where}", score(retrieve_all(qa.retriever, rows, "hybrid", only), rows)))
            log(f"{results[-1][0]}: {results[-1][1]}")
    extractive = {}
    if "cross-lingual" in apps:
        qa = apps["cross-lingual"]
        for direction in ("ko->en", "en->ko"):
            sub = [r for r in rows if r["direction"] == direction]
            own = filters["other-language documents only"]
            answers = [qa.answerer.answer(r["question"], options=AskOptions(documents=own(r))) for r in sub]
            quoted = sum(a.mode == "extractive" and "(source in" in a.text for a in answers)
            extractive[direction] = {"n": len(sub), "answered_with_note": quoted / len(sub)}
    table = [
        "| retrieval | ko->en hit@6 | ko->en top-1 | en->ko hit@6 | en->ko top-1 |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, s in results:
        a, b = s["ko->en"], s["en->ko"]
        table.append(f"| {label} | {a['hit']:.3f} | {a['top1']:.3f} | {b['hit']:.3f} | {b['top1']:.3f} |")
    table.append("")
    table.append("| mode | ingest s | chunks | e5 vectors |")
    table.append("|---|---:|---:|---:|")
    for mode, info in ingest.items():
        table.append(f"| {mode} | {info['seconds']} | {info['chunks']} | {info.get('e5_chunks', 0)} |")
    if extractive:
        table.append("")
        table.append(
            "Extractive answers (cross-lingual mode, other-language documents only) that quote a source and "
            "name its language: " + ", ".join(f"{d} {v['answered_with_note']:.2f}" for d, v in extractive.items())
        )
    text = "\n".join(table)
    print(text)
    meta = {"questions": len(rows), "k": K, "ingest": ingest, "extractive": extractive, "documents": sorted(common)}
    write_results(
        REPO / "benchmarks" / "results" / "crosslingual.json", meta, [{"row": r, **s} for r, s in results], text
    )
    for qa in apps.values():
        qa.close()


if __name__ == "__main__":
    main()
