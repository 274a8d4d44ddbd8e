"""KorQuAD through the real retriever with the multilingual e5 leg (issue 15): the e5 weight tuned on the
even-numbered questions and checked on the odd ones, beside BM25 alone and today's hybrid.

    DOCQA_INDEX_DIR=benchmarks/.cache/korquad-eval DOCQA_INGEST_STRATEGIES=parent-child DOCQA_MULTILINGUAL=auto \\
      .venv/bin/docqa eval ../shared/data/qa/korquad1/KorQuAD_v1.0_dev.json --limit 1000 --strategies parent-child
    .venv/bin/python benchmarks/multilingual_eval.py [--index-dir benchmarks/.cache/korquad-eval]

It reads the collection that `docqa eval` built with DOCQA_MULTILINGUAL=auto (the ingest, e5 over every
Korean chunk, is the slow part and runs once), over the questions of the README's fixed 1,000-question
sample whose article is committed there (all of them once that ingest has finished; the table says how
many). Each question's candidate pool is gathered once with every leg (MiniLM, BM25, e5; fetch_k as
configured) by Retriever.gather, then fusion (rag.retrieval.fusion.fuse) is replayed per setting, and
ranked parent passages are scored as `docqa eval` scores them (rag.eval.metrics.judge_question:
hit@1,000 words, top-1, MRR@10). The replay of the shipped defaults is checked against
Retriever.retrieve on the first questions. Writes benchmarks/results/multilingual_eval.json and .md.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_results import write_results  # noqa: E402  (this folder: the script's own)
from retrieval import ranked_passages  # noqa: E402  (benchmarks/retrieval.py)

from rag.core.settings import Settings, offline_environment  # noqa: E402

offline_environment()

from rag.core.types import PARENTS  # noqa: E402
from rag.eval.datasets import load_korquad  # noqa: E402
from rag.eval.metrics import Passage, judge_question, summarize  # noqa: E402
from rag.retrieval.fusion import fuse  # noqa: E402

KORQUAD = REPO.parent / "shared" / "data" / "qa" / "korquad1" / "KorQuAD_v1.0_dev.json"
RANK_DEPTH = 200
WORD = re.compile(r"\S+")
GRID_E5 = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
GRID_MINI = (0.0, 0.25)
T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - T0:6.0f}s] {msg}", flush=True)


def replay(pool, parents, words, mode: str, w_mini: float, w_e5: float) -> list[Passage]:
    """One question's ranked parent passages under a setting (lexical weight 1, normalised sum)."""
    if mode == "lexical":
        cands = [c for c in pool if c.lexical_rank]
    elif mode == "minilm":
        cands = [c for c in pool if c.dense_rank]
    elif mode == "e5":
        cands = [c for c in pool if c.e5_rank]
    else:
        cands = [c for c in pool if c.dense_rank or c.lexical_rank or (w_e5 > 0 and c.e5_rank)]
    if mode == "e5":
        ranked = sorted(cands, key=lambda c: -(c.e5 or 0.0))
    else:
        fmode = {"lexical": "lexical", "minilm": "dense"}.get(mode, "hybrid")
        ranked = fuse(cands, fmode, method="sum", dense_weight=w_mini, lexical_weight=1.0, e5_weight=w_e5)
    return ranked_passages(ranked, parents, words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index-dir", default=str(REPO / "benchmarks" / ".cache" / "korquad-eval"))
    parser.add_argument("--collection", default="", help="default: the only *_eval_* collection there")
    args = parser.parse_args()
    from rag.app import build_app

    index_dir = Path(args.index_dir)
    collection = args.collection or next(
        (p.stem.removesuffix(".eval") for p in index_dir.glob("*_eval_*.eval.json")), "docqa_eval_25ffeb51e6"
    )  # (the meta file appears when the eval's ingest finished; the default is this sample's collection)
    settings = Settings(
        _env_file=None,
        index_dir=index_dir,
        collection=collection,
        ingest_strategies="parent-child",
        multilingual="auto",
        cache_enabled=False,
    )
    qa = build_app(settings)
    qa.warm_up()
    strategy = "parent-child"
    data = load_korquad(KORQUAD, sample=1000)
    committed = {r.source for r in qa.store.list_documents() if strategy in r.chunks}
    items = [i for i in data.items if i.source in committed]
    log(f"{len(committed)}/{len(data.documents)} articles committed; {len(items)}/{len(data.items)} questions")
    retriever = qa.retriever
    retriever.refresh([strategy])
    allowed = qa.store.committed_doc_ids(strategy)
    parents = {p.id: p for p in qa.store.iter_chunks(PARENTS)}
    fetch_k = settings.fetch_k
    pools, seconds = [], []
    for n, item in enumerate(items, 1):
        t = time.perf_counter()
        qvec = qa.embedder.embed_query(item.question)
        e5vec = retriever.e5_query(item.question, strategy)
        cands, _ = retriever.gather(item.question, qvec, strategy, "hybrid", fetch_k, allowed, False, e5vec=e5vec)
        pools.append(cands)
        seconds.append(time.perf_counter() - t)
        if n % 100 == 0:
            log(f"  gathered {n}/{len(items)}")
    words: dict[str, int] = {}
    # The replay of the shipped defaults must equal the real pipeline.
    differ = 0
    for item, pool in list(zip(items, pools, strict=True))[:40]:
        real = retriever.retrieve(item.question, strategy=strategy, k=RANK_DEPTH)
        mine = replay(pool, parents, words, "hybrid", settings.cjk_dense_weight, settings.e5_weight)
        differ += [(p.source, p.start) for p in mine][:10] != [(h.chunk.source, h.chunk.start) for h in real.hits][:10]
    log(f"replay of the defaults vs Retriever.retrieve: {differ} of 40 questions differ in the top 10")

    def evaluate(mode: str, w_mini: float, w_e5: float) -> dict:
        halves: list[list] = [[], []]
        for i, (item, pool) in enumerate(zip(items, pools, strict=True)):
            got = replay(pool, parents, words, mode, w_mini, w_e5)
            halves[i % 2].append(judge_question(got, item.source, item.answers, 0.0))
        row = {"all": summarize(halves[0] + halves[1]), "tune": summarize(halves[0]), "held": summarize(halves[1])}
        return row

    rows = []
    for label, mode, wm, we in (
        ("BM25 alone", "lexical", 0.0, 0.0),
        ("MiniLM dense alone", "minilm", 1.0, 0.0),
        ("e5 dense alone", "e5", 0.0, 1.0),
        (f"today: MiniLM {settings.cjk_dense_weight} + BM25 (DOCQA_MULTILINGUAL=off)", "hybrid", 0.25, 0.0),
    ):
        rows.append({"label": label, "w_minilm": wm, "w_e5": we, **evaluate(mode, wm, we)})
    grid = []
    for wm, we in itertools.product(GRID_MINI, GRID_E5):
        grid.append(
            {"label": f"MiniLM {wm} + e5 {we} + BM25 1", "w_minilm": wm, "w_e5": we, **evaluate("hybrid", wm, we)}
        )
    best = max(grid, key=lambda r: (r["tune"]["top1"] + r["tune"]["mrr10"], r["tune"]["hit_budget"]))
    best["label"] += " (best on even)"
    rows += grid
    table = [
        f"KorQuAD 1.0 sample (seed 13): {len(items)} of {len(data.items)} questions, {len(committed)} of "
        f"{len(data.documents)} articles; parent-child, fetch_k {fetch_k}; tuned on even, held = odd questions.",
        "",
        "| retrieval | hit@1000w | top-1 | MRR@10 | held: hit | held: top-1 | held: MRR@10 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        a, h = r["all"], r["held"]
        table.append(
            f"| {r['label']} | {a['hit_budget']:.3f} | {a['top1']:.3f} | {a['mrr10']:.3f} | "
            f"{h['hit_budget']:.3f} | {h['top1']:.3f} | {h['mrr10']:.3f} |"
        )
    seconds.sort()
    table.append("")
    table.append(
        f"Candidate gathering (MiniLM + e5 query embedding, three legs) p50 {1000 * seconds[len(seconds) // 2]:.0f} ms."
    )
    text = "\n".join(table)
    print(text)
    meta = {"questions": len(items), "sample": len(data.items), "articles": len(committed), "best": best["label"]}
    write_results(REPO / "benchmarks" / "results" / "multilingual_eval.json", meta, rows, text)
    qa.close()


if __name__ == "__main__":
    main()
