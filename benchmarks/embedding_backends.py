"""Embedding backends compared: speed, agreement with torch, and retrieval quality.

For torch, onnx and onnx-int8 (DOCQA_EMBEDDING_BACKEND), on ../shared/data/qa/covidqa:
- throughput on real sentences and on ~200-word windows (texts per second, batch 32, same process);
- cosine to torch's vectors of the same texts (min and mean);
- a small retrieval check: the first N articles cut into 200-word windows (stride 150), every question of
  those articles embedded, exact cosine ranking over all windows; hit@1 / hit@5 / MRR@10 = a window
  containing the answer text is ranked there. A backend keeps retrieval quality when these match torch's.

    python benchmarks/embedding_backends.py [--articles 12] [--sentences 400] [--windows 80]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_results import write_results  # noqa: E402  (this folder: the script's own)

COVIDQA = REPO.parent / "shared" / "data" / "qa" / "covidqa" / "200423_covidQA.json"
RESULTS = REPO / "benchmarks" / "results"


def load(articles: int, seed: int):
    from rag.core.sentences import split_sentences

    data = json.loads(COVIDQA.read_text())["data"]
    rng = random.Random(seed)
    sentences, windows, questions = [], [], []
    for art in data[:articles]:
        for para in art["paragraphs"]:
            text = para["context"]
            sentences += [" ".join(text[a:b].split()) for a, b in split_sentences(text)]
            words = text.split()
            doc_windows = [" ".join(words[i : i + 200]) for i in range(0, max(1, len(words) - 50), 150)]
            first = len(windows)
            windows += doc_windows
            for qa in para["qas"]:
                answer = " ".join(qa["answers"][0]["text"].split()) if qa["answers"] else ""
                if len(answer) >= 3:
                    questions.append((qa["question"], answer, first, first + len(doc_windows)))
    sentences = [s for s in sentences if 30 <= len(s) <= 400]
    rng.shuffle(sentences)
    return sentences, windows, questions


def make(backend: str, cache: Path):
    from rag.backends.onnx_embedder import OnnxEmbedder
    from rag.core.settings import offline_environment

    offline_environment()
    if backend == "torch":
        from rag.backends.st_embedder import SentenceTransformerEmbedder

        model = SentenceTransformerEmbedder()
    else:
        model = OnnxEmbedder(cache_dir=cache, quantized=backend == "onnx-int8")
    model.warm_up()
    return model


def speed(model, texts: list[str], repeats: int = 2) -> float:
    model.embed(texts[:8])
    best = 0.0
    for _ in range(repeats):  # best of: the machine is shared
        t = time.perf_counter()
        model.embed(texts)
        best = max(best, len(texts) / (time.perf_counter() - t))
    return best


def retrieval(model, windows: list[str], questions) -> dict:
    w = model.embed(windows)
    q = model.embed([x[0] for x in questions])
    scores = q @ w.T
    hit1 = hit5 = mrr = 0.0
    for row, (_, answer, _lo, _hi) in zip(scores, questions, strict=True):
        order = np.argsort(-row)[:10]
        ranks = [r for r, i in enumerate(order, 1) if answer in windows[i]]
        if ranks:
            hit1 += ranks[0] == 1
            hit5 += ranks[0] <= 5
            mrr += 1 / ranks[0]
    n = len(questions)
    return {"hit@1": round(hit1 / n, 3), "hit@5": round(hit5 / n, 3), "mrr@10": round(mrr / n, 3)}, w


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="torch,onnx,onnx-int8")
    parser.add_argument("--articles", type=int, default=12)
    parser.add_argument("--sentences", type=int, default=400)
    parser.add_argument("--windows", type=int, default=80)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", default=str(RESULTS / "embedding_backends.json"))
    args = parser.parse_args()
    sentences, windows, questions = load(args.articles, args.seed)
    speed_sentences, speed_windows = sentences[: args.sentences], windows[: args.windows]
    rows, reference = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            model = make(backend, Path(tmp))
            t = time.perf_counter()
            quality, wvecs = retrieval(model, windows, questions)
            svecs = model.embed(speed_sentences)
            row = {
                "backend": backend,
                "used": getattr(model, "backend", "torch"),
                "sentences_per_s": round(speed(model, speed_sentences), 1),
                "windows_per_s": round(speed(model, speed_windows), 1),
                **quality,
                "retrieval_s": round(time.perf_counter() - t, 1),
            }
            if backend == "torch":
                reference = {"w": wvecs, "s": svecs}
            elif reference:
                cos = np.concatenate([(wvecs * reference["w"]).sum(1), (svecs * reference["s"]).sum(1)])
                row.update(min_cos_vs_torch=round(float(cos.min()), 6), mean_cos_vs_torch=round(float(cos.mean()), 6))
            rows.append(row)
            print(f"done {backend}: {row}", file=sys.stderr)

    header = [
        "backend",
        "sentences/s",
        "200-word windows/s",
        "min cos vs torch",
        "mean cos",
        "hit@1",
        "hit@5",
        "MRR@10",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [r["backend"] if r["used"] == r["backend"] else f"{r['backend']}->{r['used']}", r["sentences_per_s"],
                 r["windows_per_s"], r.get("min_cos_vs_torch", "(reference)"), r.get("mean_cos_vs_torch", ""),
                 r["hit@1"], r["hit@5"], r["mrr@10"]]  # fmt: skip
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    table = "\n".join(lines)
    print(table)
    meta = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "articles": args.articles,
        "windows": len(windows),
        "questions": len(questions),
        "speed_texts": {"sentences": len(speed_sentences), "windows": len(speed_windows)},
    }
    write_results(args.out, meta, rows, table)


if __name__ == "__main__":
    main()
