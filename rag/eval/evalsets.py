"""Question sets for `docqa eval`: the item and set types, and the loaders for SQuAD-style JSON and JSONL.

The PDF sets with free-text answers (Docugami SEC 10-Q, ARAGOG) live in rag/eval/pdfsets.py;
`rag.eval.sets.load_eval_set` picks the right loader for a path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from ingest.loaders import load_document
from rag.core.types import LoadedDocument
from rag.eval.datasets import AnswerSpan, load_covidqa, load_korquad


@dataclass
class EvalItem:
    id: str
    question: str
    source: str
    answers: tuple[AnswerSpan, ...]  # gold spans (empty: a free-text answer not found verbatim)
    answer_text: str = ""
    page: int | None = None  # gold page (PDF sets)
    gold_docs: tuple[str, ...] = ()  # free-text sets: the answer is in one of these documents (no span)


@dataclass
class EvalSet:
    name: str
    key: str  # content hash: names the eval collection
    documents: list[LoadedDocument]
    items: list[EvalItem]
    notes: list[str] = field(default_factory=list)


# --- loading ------------------------------------------------------------------------------------------
def _file_hash(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()[:10]


def find_spans(text: str, answer: str) -> tuple[AnswerSpan, ...]:
    """Every occurrence of `answer` in `text` (exact; else case-insensitive)."""
    answer = answer.strip()
    if not answer:
        return ()
    for hay, needle in ((text, answer), (text.lower(), answer.lower())):
        found, pos = [], hay.find(needle)
        while pos >= 0:
            found.append(AnswerSpan(text[pos : pos + len(needle)], pos, pos + len(needle)))
            pos = hay.find(needle, pos + 1)
        if found:
            return tuple(found)
    return ()


def load_jsonl(path: Path, limit: int = 0) -> EvalSet:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if limit:
        rows = rows[:limit]
    docs: dict[str, LoadedDocument] = {}
    for row in rows:
        rel = row["document"]
        if rel not in docs:
            doc = load_document(path.parent / rel)
            docs[rel] = dataclasses.replace(doc, source=rel)
    items, missing = [], 0
    for i, row in enumerate(rows):
        spans = find_spans(docs[row["document"]].text, str(row.get("answer", "")))
        missing += not spans
        page = row.get("page")
        # The gold document is known, so the free-text metrics (doc hit, answer recall) apply to every
        # answer, verbatim or not; the span metrics to those found verbatim.
        answer = str(row.get("answer", ""))
        items.append(EvalItem(str(row.get("id", i)), row["question"], row["document"], spans, answer, page,
                              (row["document"],)))  # fmt: skip
    files = [path] + [path.parent / d for d in docs]
    notes = [f"{len(items)} questions over {len(docs)} documents"]
    if missing:
        notes.append(
            f"{missing} answers not found verbatim: span metrics over the others; doc hit, answer recall and "
            "page metrics for all"
        )
    return EvalSet(path.stem, _file_hash(*files), list(docs.values()), items, notes)


def load_squad(path: Path, limit: int = 0) -> EvalSet:
    """COVID-QA layout (paragraph = article with document_id): first `limit` questions; any other SQuAD
    file: one document per article, a fixed-seed sample of `limit` questions (KorQuAD's loader)."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    first = raw["data"][0]["paragraphs"][0]
    if "document_id" in first:
        qa = load_covidqa(path)
        qa.items = qa.items[:limit] if limit else qa.items
    else:
        qa = load_korquad(path, sample=limit)
    items = [EvalItem(i.id, i.question, i.source, i.answers, i.answers[0].text) for i in qa.items]
    return EvalSet(path.stem, _file_hash(path), qa.documents, items, list(qa.notes))
