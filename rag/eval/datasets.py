"""Question-answering sets as in-memory documents with gold answer spans (document-level offsets).

Every loader returns a `QADataset`: `documents` are ready for `Ingestor.ingest_document` (one page per
document, page number None) and each `QAItem` names its gold document by `source` and lists its answers as
character spans into that document's text, verified to match the answer text exactly.

- COVID-QA (deepset, SQuAD v2 layout; one paragraph = one whole article): answer texts carry stray
  leading/trailing whitespace; they are stripped and their offsets shifted to the stripped text. The
  offsets of document 2684 are wrong altogether, so any answer that does not match at its offset is
  located by its text (the occurrence nearest to the stated offset).
- KorQuAD 1.0 dev (SQuAD v1.1 layout): the paragraphs of each Wikipedia article are joined with a blank
  line into one document and the answer offsets shifted by the paragraph's position; a fixed-seed sample
  of the questions keeps runs comparable.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from rag.core.types import LoadedDocument, PageSpan

PARAGRAPH_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class AnswerSpan:
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class QAItem:
    id: str
    question: str
    source: str  # the gold document's source key
    answers: tuple[AnswerSpan, ...]


@dataclass
class QADataset:
    name: str
    documents: list[LoadedDocument]
    items: list[QAItem]
    notes: list[str] = field(default_factory=list)  # what was repaired while loading

    def document(self, source: str) -> LoadedDocument:
        return self._by_source()[source]

    def _by_source(self) -> dict[str, LoadedDocument]:
        if not hasattr(self, "_index"):
            self._index = {d.source: d for d in self.documents}
        return self._index


def make_document(source: str, title: str, text: str, path: str = "") -> LoadedDocument:
    """A one-page in-memory document; its id is the content hash of the text (like a file's)."""
    doc_id = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    return LoadedDocument(
        source=source,
        path=path,
        doc_id=doc_id,
        title=title,
        text=text,
        pages=(PageSpan(None, 0, len(text)),),
        page_count=1,
        file_type="txt",
    )


def locate_answer(context: str, text: str, start: int) -> AnswerSpan | None:
    """The answer's span in `context`: stripped text at its offset (raw or shifted), else nearest match."""
    stripped = text.strip()
    if not stripped:
        return None
    lead = len(text) - len(text.lstrip())
    for s in (start, start + lead):
        if context[s : s + len(stripped)] == stripped:
            return AnswerSpan(stripped, s, s + len(stripped))
    found, pos = [], context.find(stripped)
    while pos >= 0:
        found.append(pos)
        pos = context.find(stripped, pos + 1)
    if not found:
        return None
    best = min(found, key=lambda p: abs(p - start))
    return AnswerSpan(stripped, best, best + len(stripped))


def load_covidqa(path: str | Path, limit_docs: int = 0) -> QADataset:
    """COVID-QA: 98 articles, 1,380 questions (200423 release). `limit_docs` keeps the first N articles."""
    path = Path(path)
    raw = json.loads(path.read_text(encoding="utf-8"))
    documents: list[LoadedDocument] = []
    items: list[QAItem] = []
    repaired: dict[int, int] = {}
    dropped = 0
    for article in raw["data"]:
        for para in article["paragraphs"]:
            if limit_docs and len(documents) >= limit_docs:
                break
            doc_number = para["document_id"]
            context = para["context"]
            source = f"covidqa-{doc_number}"
            documents.append(make_document(source, f"COVID-QA document {doc_number}", context, str(path)))
            for qa in para["qas"]:
                spans = []
                for ans in qa["answers"]:
                    span = locate_answer(context, ans["text"], int(ans["answer_start"]))
                    if span is None:
                        continue
                    if span.start not in (
                        ans["answer_start"],
                        ans["answer_start"] + len(ans["text"]) - len(ans["text"].lstrip()),
                    ):
                        repaired[doc_number] = repaired.get(doc_number, 0) + 1
                    spans.append(span)
                if not spans:
                    dropped += 1
                    continue
                items.append(QAItem(str(qa["id"]), qa["question"].strip(), source, tuple(spans)))
    notes = [f"answers located by text (offset wrong): {n} in document {d}" for d, n in sorted(repaired.items())]
    if dropped:
        notes.append(f"{dropped} questions dropped: answer text not found in the article")
    return QADataset("covidqa", documents, items, notes)


def load_korquad(path: str | Path, sample: int = 1000, seed: int = 13, limit_docs: int = 0) -> QADataset:
    """KorQuAD 1.0 dev: one document per article (paragraphs joined); `sample` questions (0 = all)."""
    path = Path(path)
    raw = json.loads(path.read_text(encoding="utf-8"))
    documents: list[LoadedDocument] = []
    items: list[QAItem] = []
    dropped = 0
    for article in raw["data"]:
        if limit_docs and len(documents) >= limit_docs:
            break
        title = article["title"]
        source = f"korquad-{title}"
        parts: list[str] = []
        offset = 0
        article_items: list[QAItem] = []
        for para in article["paragraphs"]:
            if parts:
                offset += len(PARAGRAPH_SEPARATOR)
            context = para["context"]
            for qa in para["qas"]:
                spans = []
                for ans in qa["answers"]:
                    span = locate_answer(context, ans["text"], int(ans["answer_start"]))
                    if span is not None:
                        spans.append(AnswerSpan(span.text, span.start + offset, span.end + offset))
                if spans:
                    article_items.append(QAItem(qa["id"], qa["question"].strip(), source, tuple(dict.fromkeys(spans))))
                else:
                    dropped += 1
            parts.append(context)
            offset += len(context)
        text = PARAGRAPH_SEPARATOR.join(parts)
        documents.append(make_document(source, title.replace("_", " "), text, str(path)))
        items.extend(article_items)
    notes = [f"{len(items)} questions in {len(documents)} articles"]
    if sample and sample < len(items):
        items = random.Random(seed).sample(items, sample)
        notes.append(f"sampled {sample} questions (seed {seed})")
    if dropped:
        notes.append(f"{dropped} questions dropped: answer text not found in the paragraph")
    return QADataset("korquad", documents, items, notes)


def check_spans(dataset: QADataset) -> int:
    """How many gold spans do not match their document text (0 for a correctly loaded set)."""
    docs = {d.source: d.text for d in dataset.documents}
    return sum(docs[i.source][a.start : a.end] != a.text for i in dataset.items for a in i.answers)
