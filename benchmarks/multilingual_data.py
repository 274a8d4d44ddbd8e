"""benchmarks/multilingual.py's data: the KorQuAD and COVID-QA subsets, the translated probe questions
(benchmarks/multilingual_questions.json) and docqa's chunks of the documents; plus the run's log.

Imported by benchmarks/multilingual.py, which puts the repository on sys.path and sets the offline
environment first.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from rag.core.types import Strategy
from rag.eval.datasets import QAItem, load_covidqa, load_korquad

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "qa"
KORQUAD = DATA / "korquad1" / "KorQuAD_v1.0_dev.json"
COVIDQA = DATA / "covidqa" / "200423_covidQA.json"
PROBES = REPO / "benchmarks" / "multilingual_questions.json"
T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - T0:6.0f}s] {msg}", flush=True)


# --- data ---------------------------------------------------------------------------------------------
@dataclass
class QSet:
    """Questions asked of a library: native ones (`ko`, `en`) or translated probes (`ko->en`, `en->ko`)."""

    name: str
    items: list[QAItem]
    cjk: bool  # the questions' script, which picks the weights


def load_data(ko_docs: int, en_questions: int):
    korquad = load_korquad(KORQUAD)  # the README's fixed 1,000-question sample (seed 13)
    ko_documents = korquad.documents[:ko_docs]
    ko_sources = {d.source for d in ko_documents}
    ko_items = [i for i in korquad.items if i.source in ko_sources]
    covid = load_covidqa(COVIDQA)
    per_doc = {d.source: sum(i.source == d.source for i in covid.items) for d in covid.documents}
    ranked = sorted(covid.documents, key=lambda d: (-per_doc[d.source] / len(d.text), d.source))
    en_documents, n = [], 0
    for doc in ranked:
        if n >= en_questions:
            break
        en_documents.append(doc)
        n += per_doc[doc.source]
    en_sources = {d.source for d in en_documents}
    en_items = [i for i in covid.items if i.source in en_sources]
    probes = json.loads(PROBES.read_text(encoding="utf-8"))
    by_id = {i.id: i for i in ko_items + en_items}

    def translated(key: str) -> list[QAItem]:
        out = []
        for p in probes[key]:
            if p["id"] in by_id:
                gold = by_id[p["id"]]
                out.append(QAItem(gold.id, p["question"], gold.source, gold.answers))
        return out

    return {
        "korquad": (ko_documents, [QSet("ko", ko_items, True), QSet("en->ko", translated("en_over_ko"), False)]),
        "covidqa": (en_documents, [QSet("en", en_items, False), QSet("ko->en", translated("ko_over_en"), True)]),
    }


# --- chunks -------------------------------------------------------------------------------------------
@dataclass
class Chunked:
    chunks: list  # searchable chunks (sentence chunks or parent-child children)
    parents: dict  # parent id -> parent chunk


def chunk_documents(docs, strategies: list[Strategy], counter, settings) -> dict[Strategy, Chunked]:
    from ingest.chunkers import build_chunkers
    from rag.core.sentences import split_sentences

    chunkers = build_chunkers(settings, counter)
    out = {s: Chunked([], {}) for s in strategies}
    for doc in docs:
        sentences = split_sentences(doc.text)
        for s in strategies:
            for c in chunkers[s].chunk(doc, sentences):
                if c.role == "parent":
                    out[s].parents[c.id] = c
                else:
                    out[s].chunks.append(c)
    return out
