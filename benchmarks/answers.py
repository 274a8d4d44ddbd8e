"""Offline answer quality: the extractive composer before and after issue 16, on the same sources, one run.

    .venv/bin/python benchmarks/answers.py [--covid N] [--korquad N] [--aragog 0] [--sec 0] [--k 6]

The README figures: `--covid 100 --korquad 100 --k 4 --out span.json` and `--covid -1 --korquad -1
--aragog 0 --sec 0 --k 4 --out free.json` as two parallel processes, then `--merge span.json free.json`.

What is compared: `OldExtractiveGenerator` (benchmarks/old_extractive.py, the composer as it was) and
`ExtractiveComposer` (rag/answer/extractive.py), both with the bundled MiniLM, on identical sources.

Sources: each question's gold document is split as the app splits it (rag.core.sentences, the parent-child
chunker's parents, 512 tokens) and the parents are ranked by BM25 against the question (bm25s, lower-cased
word tokens); the top k are the sources, as retrieval would hand them over. Retrieval across documents is
measured elsewhere (benchmarks/retrieval.py); here only the composing differs. "gold in sources" is the
ceiling: the share of questions whose gold span lies in one of the k sources.

Metrics:
- span sets (COVID-QA, KorQuAD 1.0 dev; fixed-seed question samples): the share of questions whose
  answer (at most 3 sentences) contains a gold answer span, compared as lower-cased letters and digits only
  (so cleaned display text, e.g. a rejoined hyphenation, still matches);
- free-text sets (ARAGOG, Docugami SEC 10-Q): answer recall, the share of the gold answer's key tokens in
  the answer (rag.eval.metrics.answer_recall, the published metric);
- relevance AUROC: how well rag.answer.relevance's score (question + answer only) separates the new
  composer's answers that contain the gold span from those that do not (span sets; 0.5 = chance).

Writes benchmarks/results/answers.json and answers.md.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
for _k, _v in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}.items():
    os.environ.setdefault(_k, _v)

import numpy as np  # noqa: E402

from benchmarks.bench_results import write_results  # noqa: E402
from benchmarks.old_extractive import OldExtractiveGenerator  # noqa: E402
from ingest.chunkers import ParentChildChunker  # noqa: E402
from rag.answer.extractive import ExtractiveComposer  # noqa: E402
from rag.answer.prompts import is_refusal, strip_markers  # noqa: E402
from rag.answer.relevance import relevance_score  # noqa: E402
from rag.backends.bm25 import PlainBM25  # noqa: E402
from rag.backends.onnx_embedder import make_embedder  # noqa: E402
from rag.backends.st_embedder import HFTokenCounter  # noqa: E402
from rag.core.sentences import split_sentences  # noqa: E402
from rag.core.settings import Settings  # noqa: E402
from rag.core.types import Hit, LoadedDocument, Source  # noqa: E402
from rag.eval.datasets import load_covidqa, load_korquad  # noqa: E402
from rag.eval.metrics import Passage, answer_recall  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "qa"
RESULTS = REPO / "benchmarks" / "results"
SEED = 16
SEC_FILINGS = ("2022 Q3 AAPL.pdf", "2023 Q3 NVDA.pdf")
ARAGOG_PAPERS = ("bert.pdf", "roberta.pdf", "distilbert.pdf", "llama.pdf")


class CachedEmbedder:
    """The real embedder behind a text -> vector cache: both composers and every question of a document
    embed the same sentences, once."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = getattr(inner, "name", "embedder")
        self.cache: dict[str, np.ndarray] = {}

    def embed(self, texts):
        # Keyed by the text with its whitespace collapsed: the tokenizer sees "a\nb" and "a b" alike, so
        # the old composer's raw sentence and the new one's display text share one exact vector.
        keys = [" ".join(t.split()) for t in texts]
        todo = list(dict.fromkeys(k for k in keys if k not in self.cache))
        if todo:
            for t, v in zip(todo, np.asarray(self.inner.embed(todo), dtype=np.float32), strict=True):
                self.cache[t] = v
        return np.stack([self.cache[k] for k in keys])

    def embed_query(self, text):
        return self.embed([text])[0]


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


class Corpus:
    """Parents of each document (the app's chunker) and a BM25 index per document."""

    def __init__(self, docs: list[LoadedDocument], counter) -> None:
        chunker = ParentChildChunker(counter)
        self.parents: dict[str, list] = {}
        self.bm25: dict[str, PlainBM25] = {}
        self.docs = {d.source: d for d in docs}
        self.counter = counter
        self.chunker = chunker

    def sources(self, doc_names: list[str], question: str, k: int) -> list[Source]:
        pool = []
        for name in doc_names:
            if name not in self.parents:
                doc = self.docs[name]
                chunks = self.chunker.chunk(doc, split_sentences(doc.text))
                self.parents[name] = [c for c in chunks if c.role == "parent"]
                self.bm25[name] = PlainBM25([_tokens(c.text) for c in self.parents[name]])
            scores = self.bm25[name].scores(_tokens(question))
            if scores is None:
                scores = np.zeros(len(self.parents[name]))
            pool += [(float(s), i, c) for i, (s, c) in enumerate(zip(scores, self.parents[name], strict=True))]
        pool.sort(key=lambda x: (-x[0], x[1]))
        return [Source(n + 1, Hit(c, s)) for n, (s, _, c) in enumerate(pool[:k])]


def auroc(scores: list[float], labels: list[bool]) -> float | None:
    """Probability that a positive outranks a negative (ties count half); None without both classes."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return None
    order = np.argsort(np.asarray(scores, dtype=float), kind="mergesort")
    ranks = np.empty(len(scores))
    values = np.asarray(scores, dtype=float)[order]
    i = 0
    while i < len(values):  # average ranks over ties
        j = i
        while j + 1 < len(values) and values[j + 1] == values[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos_ranks = sum(r for r, y in zip(ranks, labels, strict=True) if y)
    return float((pos_ranks - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def span_set(name: str, dataset, n: int, composers: dict, k: int) -> dict:
    items = list(dataset.items)
    if n and n < len(items):
        items = random.Random(SEED).sample(items, n)
    corpus = Corpus(dataset.documents, COUNTER)
    row: dict = {"set": name, "questions": len(items), "k": k}
    hits = {c: 0 for c in composers}
    refusals = {c: 0 for c in composers}
    words = {c: 0 for c in composers}
    ceiling = 0
    rel_scores, rel_labels = [], []
    t0 = time.perf_counter()
    for n, item in enumerate(items, 1):
        if n % 50 == 0:
            print(f"  {name}: {n}/{len(items)} ({time.perf_counter() - t0:.0f} s)", flush=True)
        sources = corpus.sources([item.source], item.question, k)
        gold = [_norm(a.text) for a in item.answers]
        ceiling += any(g in _norm(s.chunk.text) for g in gold for s in sources)
        for cname, composer in composers.items():
            answer = composer.generate(item.question, sources, None)
            refused = is_refusal(answer)
            refusals[cname] += refused
            text = strip_markers(answer)
            words[cname] += 0 if refused else len(text.split())
            hit = not refused and any(g in _norm(text) for g in gold)
            hits[cname] += hit
            if cname == "new" and not refused:
                rel_scores.append(relevance_score(item.question, answer))
                rel_labels.append(hit)
    n_q = max(len(items), 1)
    for c in composers:
        row[f"{c}_contains_gold"] = hits[c] / n_q
        row[f"{c}_refused"] = refusals[c] / n_q
        row[f"{c}_words"] = words[c] / max(n_q - refusals[c], 1)
    row["gold_in_sources"] = ceiling / n_q
    row["ratio"] = row["new_contains_gold"] / row["old_contains_gold"] if row["old_contains_gold"] else None
    row["relevance_auroc"] = auroc(rel_scores, rel_labels)
    row["seconds"] = time.perf_counter() - t0
    return row


def free_text_set(name: str, eset, n: int, composers: dict, k: int) -> dict:
    items = [i for i in eset.items if i.gold_docs][: n or None]
    corpus = Corpus(eset.documents, COUNTER)
    row: dict = {"set": name, "questions": len(items), "k": k}
    recall = {c: 0.0 for c in composers}
    ceiling = 0.0
    t0 = time.perf_counter()
    for item in items:
        sources = corpus.sources(list(item.gold_docs), item.question, k)
        ceiling += answer_recall([Passage(s.chunk.source, 0, 0, s.chunk.text) for s in sources], item.answer_text)
        for cname, composer in composers.items():
            answer = composer.generate(item.question, sources, None)
            text = "" if is_refusal(answer) else strip_markers(answer)
            recall[cname] += answer_recall([Passage("answer", 0, len(text), text)], item.answer_text)
    n_q = max(len(items), 1)
    for c in composers:
        row[f"{c}_answer_recall"] = recall[c] / n_q
    row["sources_answer_recall"] = ceiling / n_q
    row["ratio"] = row["new_answer_recall"] / row["old_answer_recall"] if row["old_answer_recall"] else None
    row["seconds"] = time.perf_counter() - t0
    return row


def _f(x, fmt="{:.3f}") -> str:
    return "–" if x is None else fmt.format(x)


def table(rows: list[dict]) -> str:
    lines = [
        "| set | questions | old | new | new / old | ceiling (gold in sources) | relevance AUROC | seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "new_contains_gold" in r:
            metric = "answer contains gold span"
            old, new, ceil = r["old_contains_gold"], r["new_contains_gold"], r["gold_in_sources"]
        else:
            metric = "answer recall"
            old, new, ceil = r["old_answer_recall"], r["new_answer_recall"], r["sources_answer_recall"]
        lines.append(
            f"| {r['set']} ({metric}) | {r['questions']} | {_f(old)} | {_f(new)} | {_f(r['ratio'], '{:.2f}x')} | "
            f"{_f(ceil)} | {_f(r.get('relevance_auroc'))} | {r['seconds']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--covid", type=int, default=400, help="COVID-QA questions (fixed-seed sample; 0 = all 1,380)")
    ap.add_argument("--korquad", type=int, default=400, help="KorQuAD questions (fixed-seed sample; 0 = all)")
    ap.add_argument("--aragog", type=int, default=-1, help="ARAGOG questions (0 = all, -1 = skip)")
    ap.add_argument("--sec", type=int, default=-1, help="SEC 10-Q questions on 2 filings (0 = all, -1 = skip)")
    ap.add_argument("--k", type=int, default=6, help="sources per question (the app's top_k)")
    ap.add_argument("--out", default=str(RESULTS / "answers.json"))
    ap.add_argument("--merge", nargs="+", help="JSON results of runs over different sets: one table from all")
    args = ap.parse_args(argv)
    if args.merge:  # the sets can run as parallel processes; their rows are joined here
        import json

        runs = [json.loads(Path(p).read_text()) for p in args.merge]
        rows = [r for run in runs for r in run["rows"]]
        write_results(args.out, {**runs[0]["meta"], "merged": args.merge}, rows, table(rows))
        print(table(rows))
        return 0

    global COUNTER
    COUNTER = HFTokenCounter()
    embedder = CachedEmbedder(make_embedder(Settings(_env_file=None)))  # the app's: ONNX MiniLM
    composers = {"old": OldExtractiveGenerator(embedder), "new": ExtractiveComposer(embedder)}
    rows = []
    if args.covid >= 0:
        rows.append(span_set("COVID-QA", load_covidqa(DATA / "covidqa" / "200423_covidQA.json"), args.covid,
                             composers, args.k))  # fmt: skip
        print(table(rows), flush=True)
    if args.korquad >= 0:
        korquad = load_korquad(DATA / "korquad1" / "KorQuAD_v1.0_dev.json", sample=0)
        rows.append(span_set("KorQuAD", korquad, args.korquad, composers, args.k))
        print(table(rows[-1:]), flush=True)
    if args.aragog >= 0:
        from rag.eval.pdfsets import load_aragog

        aragog = load_aragog(DATA / "aragog", only=set(ARAGOG_PAPERS))
        rows.append(free_text_set(f"ARAGOG ({len(ARAGOG_PAPERS)} papers)", aragog, args.aragog, composers, args.k))
        print(table(rows[-1:]), flush=True)
    if args.sec >= 0:
        from rag.eval.pdfsets import load_docugami

        sec = load_docugami(DATA / "docugami_sec10q", only=set(SEC_FILINGS))
        rows.append(free_text_set(f"SEC 10-Q ({len(SEC_FILINGS)} filings)", sec, args.sec, composers, args.k))
        print(table(rows[-1:]), flush=True)
    meta = {
        "seed": SEED,
        "k": args.k,
        "embedder": "bundled MiniLM (the app's embedder: ONNX Runtime)",
        "sources": "gold document's parent-child parents ranked by BM25, top k",
        "sec_filings": list(SEC_FILINGS),
        "aragog_papers": list(ARAGOG_PAPERS),
    }
    out = table(rows)
    print(out)
    write_results(args.out, meta, rows, out)
    return 0


COUNTER = None

if __name__ == "__main__":
    raise SystemExit(main())
