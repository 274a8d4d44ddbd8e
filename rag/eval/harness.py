"""`docqa eval`: chunking strategies side by side on a question set, against two baselines.

A dataset is SQuAD-style JSON (COVID-QA, KorQuAD, any v1.1/v2 file: answers are character spans) or
JSONL with one `{"question", "answer", "document", "page"}` per line (documents are file paths relative
to the JSONL file; the answer's span is found by its text, the page is the gold page of a PDF), or one
of the PDF sets with free-text answers (Docugami SEC 10-Q, ARAGOG: rag/eval/pdfsets.py), scored by doc
hit and answer recall instead of spans. Loading lives in rag/eval/evalsets.py.

The documents are ingested through docqa's own pipeline into a separate collection,
`<collection>_eval_<dataset hash>` in the same index folder, reused by later runs. Every question is then
retrieved with each strategy (the configured retrieval mode) and with the baselines of the LangChain RAG
tutorial (RecursiveCharacterTextSplitter 1000/200 characters, dense top-k) and BM25 over those chunks.
Metrics: see rag/eval/metrics.py; answers (faithfulness, token F1) only when an LLM is configured.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path

import numpy as np

from rag.answer.answerer import AskOptions
from rag.app import build_app
from rag.backends.bm25 import PlainBM25
from rag.core.types import ALL_STRATEGIES, LoadedDocument, Strategy
from rag.eval.evalsets import EvalItem, EvalSet
from rag.eval.metrics import (
    Passage,
    answer_recall,
    covers,
    judge_free_text,
    judge_question,
    percentile,
    summarize,
    token_f1,
    within_budget,
)
from rag.eval.sets import load_eval_set

RANK_DEPTH = 60  # passages asked for per question: enough for a 1,000-word budget of sentences
WORD = re.compile(r"\S+")
BASELINES = ("langchain 1000/200 dense", "bm25 1000/200")
# free-text answers (rag/eval/metrics.py); recall_k: answer recall over the k sources the model reads
FREE_TEXT = ("doc_hit", "answer_recall", "recall_k", "answer_found", "doc_top1")


# --- the eval app -------------------------------------------------------------------------------------
def eval_app(qa, key: str, collection: str | None = None):
    """A DocQA over `<collection>_eval_<key>` (same index folder), sharing qa's loaded models."""
    name = collection or f"{qa.settings.collection}_eval_{key}"
    settings = qa.settings.model_copy(update={"collection": name, "cache_enabled": False})
    return build_app(settings, **qa.components("embedder", "counter"))


def ingest_set(qa, docs: list[LoadedDocument], log=print, strategies: list[Strategy] | None = None) -> dict:
    """Ingest what the collection lacks (every strategy compared: an evaluation builds them all, where a
    library builds only the answering one); ingest seconds are remembered beside the index for reruns."""
    strategies = list(strategies or ALL_STRATEGIES)
    meta_path = qa.settings.resolved_index_dir / f"{qa.settings.collection}.eval.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {"ingest_seconds": 0.0}
    done = {r.source: r for r in qa.store.list_documents()}
    todo = [
        d
        for d in docs
        if d.source not in done
        or done[d.source].doc_id != d.doc_id
        or any(s.value not in done[d.source].chunks for s in strategies)
    ]
    log(f"{len(docs) - len(todo)} documents already in {qa.settings.collection}, {len(todo)} to ingest")
    t0 = time.perf_counter()
    for i, doc in enumerate(todo, 1):
        report = qa.ingestor.ingest_document(doc, strategies)
        log(f"  {i}/{len(todo)} {doc.source}: {report.status} {report.chunks} ({report.seconds:.1f}s)")
    if todo:
        meta["ingest_seconds"] = meta.get("ingest_seconds", 0.0) + time.perf_counter() - t0
    qa.refresh_indexes([s.value for s in strategies])
    meta["chunks"] = {s.value: qa.store.count(s.value) for s in strategies}
    meta["documents"] = len(docs)
    meta_path.parent.mkdir(parents=True, exist_ok=True)
    meta_path.write_text(json.dumps(meta, indent=2))
    return meta


# --- baselines ----------------------------------------------------------------------------------------
def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def page_at(doc: LoadedDocument, offset: int) -> int | None:
    for span in doc.pages:
        if span.start <= offset < span.end or offset < span.start:
            return span.number
    return doc.pages[-1].number if doc.pages else None


class Baselines:
    """The LangChain tutorial recipe (dense top-k over 1000/200-character chunks) and BM25 on them."""

    def __init__(self, docs: list[LoadedDocument], embedder, cache_dir: Path | None = None) -> None:
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200, add_start_index=True)
        self.passages: list[Passage] = []
        self.pages: list[int | None] = []
        for doc in docs:
            for part in splitter.create_documents([doc.text]):
                start, text = part.metadata["start_index"], part.page_content
                self.passages.append(Passage(doc.source, start, start + len(text), text, len(WORD.findall(text))))
                self.pages.append(page_at(doc, start))
        texts = "\0".join([str(getattr(embedder, "name", "")), *(p.text for p in self.passages)])
        key = hashlib.sha256(texts.encode()).hexdigest()[:10]  # the vectors depend on the embedder too
        path = cache_dir / f"baseline-{key}.npy" if cache_dir else None
        if path is not None and path.is_file():
            self.vectors = np.load(path)
        else:
            self.vectors = np.asarray(embedder.embed([p.text for p in self.passages]), dtype=np.float32)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, self.vectors)
        self.embedder = embedder
        self.bm25 = PlainBM25([_words(p.text) for p in self.passages])

    def search(self, name: str, question: str, k: int = 50) -> list[int]:
        if "dense" in name:
            scores = self.vectors @ np.asarray(self.embedder.embed_query(question), dtype=np.float32)
            return [int(i) for i in np.argsort(-scores)[:k]]
        scores = self.bm25.scores(_words(question))
        if scores is None:
            return []
        return [int(i) for i in np.argsort(-scores)[:k] if scores[i] > 0]


# --- evaluation ---------------------------------------------------------------------------------------
def _score(passages, pages, item: EvalItem, seconds: float, k: int, budget: int) -> dict:
    row = {"seconds": seconds, "context_words": sum(p.word_count() for p in passages[:k])}
    if item.answers:
        r = judge_question(passages, item.source, item.answers, seconds, budget)
        row["result"] = r
        row["hit_k"] = any(covers(within_budget(passages[:k], 10**9), item.source, a) for a in item.answers)
    if item.gold_docs and item.answer_text:  # free text (a JSONL answer may have a span too): both
        row.update(judge_free_text(passages, item.gold_docs, item.answer_text, budget))
        row["recall_k"] = answer_recall(passages[:k], item.answer_text)
    if item.page is not None:
        top = pages[0] if pages else None
        row["page_hit"] = bool(passages) and passages[0].source == item.source and top is not None and item.page in top
        row["page_hit_k"] = any(
            p.source == item.source and span is not None and item.page in span
            for p, span in zip(passages[:k], pages[:k], strict=False)
        )
    return row


def _summary(rows: list[dict]) -> dict:
    judged = [r["result"] for r in rows if "result" in r]
    out = summarize(judged) if judged else {"questions": 0}
    times = [r["seconds"] for r in rows]
    if judged:
        out["hit_k"] = sum(r.get("hit_k", False) for r in rows) / len(judged)
    free = [r for r in rows if "doc_hit" in r]
    out.update({m: sum(r[m] for r in free) / len(free) for m in FREE_TEXT if free})
    out.update(
        questions=len(rows),
        with_span=len(judged),
        p50_ms=1000 * percentile(times, 50),
        p95_ms=1000 * percentile(times, 95),
        context_words=sum(r["context_words"] for r in rows) / max(len(rows), 1),
    )
    paged = [r["page_hit"] for r in rows if "page_hit" in r]
    if paged:
        out["page_top1"] = sum(paged) / len(paged)
        out["page_hit_k"] = sum(r.get("page_hit_k", False) for r in rows if "page_hit" in r) / len(paged)
    return out


def evaluate(
    qa,
    docs: list[LoadedDocument],
    items: list[EvalItem],
    strategies: list[str] | None = None,
    k: int | None = None,
    budget: int = 1000,
    answers: int = 0,
    baselines: bool = True,
    cache_dir: Path | None = None,
    log=print,
) -> dict[str, dict]:
    """Rows keyed by strategy (and baseline) name: retrieval metrics, latency, context words, answers."""
    k = k or qa.settings.top_k
    strategies = strategies or [s.value for s in ALL_STRATEGIES]
    rows: dict[str, dict] = {}
    qa.embedder.embed_query("warm up")
    for strategy in strategies:
        per = []
        for item in items:
            t = time.perf_counter()
            got = qa.retriever.retrieve(item.question, strategy=strategy, k=RANK_DEPTH, fetch_k=RANK_DEPTH)
            seconds = time.perf_counter() - t
            passages = [Passage(h.chunk.source, h.chunk.start, h.chunk.end, h.chunk.text) for h in got.hits]
            pages = [
                range(h.chunk.page_start or 0, (h.chunk.page_end or h.chunk.page_start or 0) + 1) for h in got.hits
            ]
            pages = [p if h.chunk.page_start is not None else None for p, h in zip(pages, got.hits, strict=True)]
            per.append(_score(passages, pages, item, seconds, k, budget))
        rows[strategy] = _summary(per)
        if answers and qa.settings.llm_enabled:
            rows[strategy].update(answer_quality(qa, strategy, k, items[:answers]))
        log(f"{strategy:>26}: {short(rows[strategy])}")
    if baselines:
        base = Baselines(docs, qa.embedder, cache_dir)
        for name in BASELINES:
            per = []
            for item in items:
                t = time.perf_counter()
                ids = base.search(name, item.question, RANK_DEPTH)
                seconds = time.perf_counter() - t
                passages = [base.passages[i] for i in ids]
                pages = [range(base.pages[i], base.pages[i] + 1) if base.pages[i] else None for i in ids]
                per.append(_score(passages, pages, item, seconds, k, budget))
            rows[name] = _summary(per)
            rows[name]["chunks"] = len(base.passages)
            log(f"{name:>26}: {short(rows[name])}")
    return rows


def answer_quality(qa, strategy: str, k: int, items: list[EvalItem]) -> dict:
    """Generated answers through the real answer road: faithfulness (qa.judge) and token F1 vs gold."""
    faith, f1 = [], []
    for item in items:
        ans = qa.answerer.answer(item.question, options=AskOptions(strategy=Strategy(strategy), k=k))
        if ans.faithfulness is not None:
            faith.append(ans.faithfulness.score)
        f1.append(token_f1(ans.text, item.answer_text))
    return {
        "answers": len(items),
        "faithfulness": sum(faith) / len(faith) if faith else None,
        "answer_f1": sum(f1) / len(f1) if f1 else None,
    }


def short(row: dict) -> str:
    if "doc_hit" in row and not row.get("with_span"):
        parts = [f"doc hit {row['doc_hit']:.3f}", f"recall {row['answer_recall']:.3f}"]
        parts += [f"recall@k {row['recall_k']:.3f}"] if "recall_k" in row else []
        parts += [f"found {row['answer_found']:.3f}", f"doc@1 {row['doc_top1']:.3f}", f"p50 {row['p50_ms']:.0f} ms"]
    else:
        parts = [f"hit@budget {row.get('hit_budget', 0):.3f}", f"top1 {row.get('top1', 0):.3f}"]
        parts += [f"mrr@10 {row.get('mrr10', 0):.3f}", f"p50 {row['p50_ms']:.0f} ms"]
    if "doc_hit" in row and row.get("with_span"):  # a JSONL set: spans where found, free text for all
        parts += [f"doc hit {row['doc_hit']:.3f}", f"recall {row['answer_recall']:.3f}"]
    if "page_top1" in row:
        parts.append(f"page@1 {row['page_top1']:.3f}")
    if "page_hit_k" in row:
        parts.append(f"page hit@k {row['page_hit_k']:.3f}")
    return "  ".join(parts)


def add_deltas(rows: dict[str, dict]) -> None:
    """Each strategy's difference to each baseline on the retrieval metrics."""
    for name, row in rows.items():
        if name in BASELINES:
            continue
        for base in BASELINES:
            if base in rows:
                row[f"vs {base}"] = {
                    m: row[m] - rows[base][m]
                    for m in ("hit_budget", "top1", "mrr10", "page_top1", "page_hit_k", *FREE_TEXT)
                    if m in row and m in rows[base]
                }


def run_eval(
    qa,
    dataset: str | Path | EvalSet,
    *,
    strategies: list[str] | None = None,
    k: int | None = None,
    limit: int = 0,
    budget: int = 1000,
    answers: int = 50,
    collection: str | None = None,
    log=print,
) -> dict:
    """Load, ingest (into the eval collection), evaluate; the report dict (rag/eval/report.py writes it).
    `dataset` may be a loaded EvalSet (e.g. one cut down with rag.eval.pdfsets.restrict)."""
    eset = dataset if isinstance(dataset, EvalSet) else load_eval_set(dataset, limit)
    for note in eset.notes:
        log(f"{eset.name}: {note}")
    app = eval_app(qa, eset.key, collection)
    app.warm_up()
    unknown = [s for s in strategies or [] if s not in {x.value for x in ALL_STRATEGIES}]
    if unknown:
        raise ValueError(f"unknown strategy {unknown[0]!r}")
    wanted = [Strategy(x) for x in strategies] if strategies else list(ALL_STRATEGIES)
    meta = ingest_set(app, eset.documents, log, wanted)
    rows = evaluate(
        app,
        eset.documents,
        eset.items,
        strategies,
        k,
        budget,
        answers,
        cache_dir=app.settings.resolved_index_dir / "eval-baselines",
        log=log,
    )
    add_deltas(rows)
    return {
        "dataset": eset.name,
        "path": eset.name if isinstance(dataset, EvalSet) else str(dataset),
        "collection": app.settings.collection,
        "questions": len(eset.items),
        "documents": len(eset.documents),
        "notes": eset.notes,
        "k": k or app.settings.top_k,
        "budget_words": budget,
        "retrieval_mode": app.settings.retrieval_mode,
        "llm": app.settings.llm_enabled,
        "ingest": meta,
        "results": rows,
    }
