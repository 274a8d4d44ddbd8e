"""How the extractive composer's rare-word weights were chosen, on questions the answer benchmark never asks.

    .venv/bin/python benchmarks/composer_tuning.py [--dev 200] [--k 4]

For COVID-QA and KorQuAD 1.0 dev, benchmarks/answers.py's test questions are its fixed-seed sample of
100 (seed 16); the rest are shuffled with seed 1234 and the first `--dev` of them are the dev split used
here (the test questions never are). Each question gets the answer benchmark's sources (its gold
document's parent chunks, top k by BM25) and the composer's own candidates and scores. For each weight w
of rag.answer.extractive.idf_overlap added to the composer's ranking score, the table gives the share of
dev questions whose best candidate (top-1) and whose three best (top-3) contain the gold span, and the
ceiling: any candidate contains it. The shipped weights are IDF_WEIGHT (English) and IDF_WEIGHT_CJK.

Writes benchmarks/results/composer_tuning.json and .md.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

import benchmarks.answers as bench  # noqa: E402
from benchmarks.bench_results import write_results  # noqa: E402
from rag.answer import extractive  # noqa: E402
from rag.core.text import content_words  # noqa: E402

SPLIT_SEED = 1234
WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)


def dev_split(items: list, n: int) -> list:
    test = {id(x) for x in random.Random(bench.SEED).sample(items, 100)}
    rest = [x for x in items if id(x) not in test]
    random.Random(SPLIT_SEED).shuffle(rest)
    return rest[:n]


def rows_of(dataset, n: int, k: int, composer) -> list[dict]:
    corpus = bench.Corpus(dataset.documents, bench.COUNTER)
    out = []
    for item in dev_split(list(dataset.items), n):
        sources = corpus.sources([item.source], item.question, k)
        cands = extractive.candidates(sources)
        if not cands:
            continue
        _, base = composer.scores(item.question, cands)  # weights are 0 here: the score without rare words
        rare = extractive.idf_overlap(content_words(item.question), [content_words(c.display) for c in cands])
        gold = [bench._norm(a.text) for a in item.answers]
        hit = np.array([any(g in bench._norm(c.display) for g in gold) for c in cands])
        out.append({"base": np.asarray(base), "rare": np.asarray(rare), "hit": hit})
    return out


def rates(rows: list[dict], weight: float, n: int) -> tuple[float, float]:
    top1 = top3 = 0
    for r in rows:
        order = np.argsort(-(r["base"] + weight * r["rare"]), kind="stable")
        top1 += bool(r["hit"][order[0]])
        top3 += bool(r["hit"][order[:3]].any())
    return top1 / n, top3 / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", type=int, default=200)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--out", default=str(bench.RESULTS / "composer_tuning.json"))
    args = parser.parse_args()
    from rag.backends.onnx_embedder import make_embedder
    from rag.backends.st_embedder import HFTokenCounter
    from rag.core.settings import Settings

    bench.COUNTER = HFTokenCounter()
    embedder = bench.CachedEmbedder(make_embedder(Settings(_env_file=None)))
    shipped = {"IDF_WEIGHT": extractive.IDF_WEIGHT, "IDF_WEIGHT_CJK": extractive.IDF_WEIGHT_CJK}
    composer = extractive.ExtractiveComposer(embedder, idf_weight=0.0, idf_weight_cjk=0.0)
    sets = {
        "COVID-QA": bench.load_covidqa(bench.DATA / "covidqa" / "200423_covidQA.json"),
        "KorQuAD": bench.load_korquad(bench.DATA / "korquad1" / "KorQuAD_v1.0_dev.json", sample=0),
    }
    table = ["| weight | " + " | ".join(f"{name} dev top-1 / top-3" for name in sets) + " |", "|---:|---|---|"]
    result: dict = {"dev": args.dev, "k": args.k, "split_seed": SPLIT_SEED, "shipped": shipped, "sets": {}}
    per_set = {name: rows_of(ds, args.dev, args.k, composer) for name, ds in sets.items()}
    for w in WEIGHTS:
        cells = []
        for name, rows in per_set.items():
            t1, t3 = rates(rows, w, args.dev)
            result["sets"].setdefault(name, {})[str(w)] = {"top1": t1, "top3": t3}
            cells.append(f"{t1:.3f} / {t3:.3f}")
        table.append(f"| {w} | " + " | ".join(cells) + " |")
    ceiling = [f"{sum(r['hit'].any() for r in rows) / args.dev:.3f}" for rows in per_set.values()]
    table.append("| ceiling (any candidate) | " + " | ".join(ceiling) + " |")
    text = "\n".join(table) + f"\n\nshipped: {shipped}"
    print(text)
    write_results(args.out, result, [], text)


if __name__ == "__main__":
    main()
