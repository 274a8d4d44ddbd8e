"""The shared vocabulary of docqa.

Every stage speaks in these plain dataclasses so that ingestion, retrieval, the UI, the CLI and the
evaluation never disagree about what a chunk or an answer is. They hold no behaviour beyond small
derived views, and no LangChain types: adapters convert at the boundary.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Strategy(StrEnum):
    """Chunking strategies; the value is what users type and what is stored."""

    SENTENCE = "sentence"
    OVERLAP = "overlap"
    PARENT_CHILD = "parent-child"


ALL_STRATEGIES: tuple[Strategy, ...] = (Strategy.SENTENCE, Strategy.OVERLAP, Strategy.PARENT_CHILD)

# Store kinds beside the strategy collections: parent chunks (returned, never searched) and the document
# registry (the commit point of an ingest).
PARENTS = "parents"
REGISTRY = "registry"
# A strategy's multilingual side collection (DOCQA_MULTILINGUAL): e5 vectors of some of its chunks, same ids.
MULTILINGUAL_SUFFIX = "__e5"


def multilingual_kind(strategy: str | Strategy) -> str:
    """The store kind of a strategy's e5 side collection ("parent-child" -> "parent-child__e5")."""
    return f"{Strategy(strategy).value}{MULTILINGUAL_SUFFIX}"


def base_strategy(kind: str) -> str:
    """The strategy a searchable kind belongs to (itself, or the strategy of a side collection)."""
    return kind.removesuffix(MULTILINGUAL_SUFFIX)


# One turn of chat history: {"role": ..., "content": ...} or a (user, assistant) pair.
HistoryItem = Mapping[str, str] | Sequence[str]


@dataclass(frozen=True)
class Page:
    """One unit of a loaded file: a PDF page (1-based number) or a whole text file (number None)."""

    number: int | None
    text: str
    warnings: tuple[str, ...] = ()
    # (offset into text, heading) for every Markdown heading, in order of appearance.
    sections: tuple[tuple[int, str], ...] = ()
    ocr_confidence: float | None = None  # 0..1 when the text was read by OCR from the page image


@dataclass(frozen=True)
class PageSpan:
    """Where a page's text lies inside the document text (pages are joined with a blank line)."""

    number: int | None
    start: int
    end: int
    ocr_confidence: float | None = None  # as on `Page`


@dataclass(frozen=True)
class LoadedDocument:
    """A file turned into text, with everything needed to map offsets back to pages."""

    source: str  # file name as shown to users
    path: str  # absolute path at ingest time
    doc_id: str  # content hash of the file bytes
    title: str
    text: str
    pages: tuple[PageSpan, ...]
    sections: tuple[tuple[int, str], ...] = ()  # document-level offsets of headings
    warnings: tuple[str, ...] = ()
    page_count: int = 0
    file_type: str = ""


@dataclass(frozen=True)
class Chunk:
    """A span of a document's text. `text == document.text[start:end]` always holds."""

    id: str
    doc_id: str
    strategy: str
    index: int
    text: str
    start: int
    end: int
    source: str
    title: str
    page_start: int | None = None
    page_end: int | None = None
    page_char_start: int | None = None  # offset into page_start's text
    page_char_end: int | None = None  # offset into page_end's text
    section: str | None = None
    parent_id: str | None = None
    role: str = "chunk"  # "chunk" (searched, returned), "child" (searched), "parent" (returned)
    ocr_confidence: float | None = None  # lowest OCR confidence of its pages; None: no page was OCR'd

    @property
    def pages_label(self) -> str:
        if self.page_start is None:
            return ""
        if self.page_end is None or self.page_end == self.page_start:
            return str(self.page_start)
        return f"{self.page_start}-{self.page_end}"


@dataclass
class Hit:
    """A chunk found by retrieval. For parent-child, `chunk` is the parent and `matched` the child."""

    chunk: Chunk
    score: float  # higher is better; fused score in hybrid mode
    dense_score: float | None = None
    lexical_score: float | None = None
    rank: int = 0
    matched: Chunk | None = None

    @property
    def span(self) -> Chunk:
        """The chunk a citation points at: the matched child when there is one."""
        return self.matched or self.chunk


@dataclass
class Source:
    """A numbered source shown to the model and the user."""

    number: int
    hit: Hit
    flags: list[str] = field(default_factory=list)  # e.g. "possible prompt injection"

    @property
    def chunk(self) -> Chunk:
        return self.hit.chunk


@dataclass
class Citation:
    """An answer sentence resolved to the source sentence that best supports it."""

    answer_sentence: str
    source_number: int | None  # None when the sentence carried no valid marker
    file: str
    page: int | None
    supporting_sentence: str
    support_start: int  # offset of supporting_sentence inside the source chunk text
    support_end: int
    score: float
    cited: bool = True
    ocr_confidence: float | None = None  # the cited passage was read by OCR with this confidence


@dataclass
class ClaimVerdict:
    claim: str
    verdict: str  # "supported" | "not_supported" | "contradicted"
    source_number: int | None = None
    reason: str = ""
    flags: list[str] = field(default_factory=list)


@dataclass
class Faithfulness:
    score: float  # 0..1
    band: str  # "high" | "medium" | "low"
    verdicts: list[ClaimVerdict]
    judge: str  # "llm:<model>" or "heuristic"
    note: str = ""


@dataclass
class Relevance:
    """Does the answer address the question? (Faithfulness cannot tell: a quoted fragment is always faithful.)"""

    score: float  # 0..1
    band: str  # "high" | "medium" | "low"
    note: str = ""  # said to the user when low
    method: str = "offline"  # "offline" (question focus and answer type) or "llm:<model>"


@dataclass
class Answer:
    """The one result type the CLI, the UI and the evaluation all consume."""

    question: str
    standalone_question: str
    text: str
    mode: str  # "llm" | "extractive" | "no-sources" | "refused" | "error"
    citations: list[Citation] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    dropped_markers: int = 0
    faithfulness: Faithfulness | None = None
    timings: dict[str, float] = field(default_factory=dict)
    notice: str = ""  # e.g. "no passage passed the relevance threshold"
    cached: bool = False
    relevance: Relevance | None = None

    def to_dict(self) -> dict:
        """The `--json` shape users script against (keys answer, citations, sources, mode)."""
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "answer": self.text,
            "mode": self.mode,
            "notice": self.notice,
            "cached": self.cached,
            "dropped_markers": self.dropped_markers,
            "citations": [
                {
                    "source": c.source_number,
                    "file": c.file,
                    "page": c.page,
                    "answer_sentence": c.answer_sentence,
                    "supporting_sentence": c.supporting_sentence,
                    "score": round(c.score, 4),
                    "cited": c.cited,
                    "ocr_confidence": c.ocr_confidence,
                }
                for c in self.citations
            ],
            "sources": [
                {
                    "number": s.number,
                    "file": s.chunk.source,
                    "page": s.hit.span.page_start,
                    "pages": s.chunk.pages_label,
                    "score": round(s.hit.score, 4),
                    "strategy": s.chunk.strategy,
                    "text": s.chunk.text,
                    "matched_text": s.hit.matched.text if s.hit.matched else None,
                    "flags": s.flags,
                    "ocr_confidence": s.hit.span.ocr_confidence,
                }
                for s in self.sources
            ],
            "faithfulness": None
            if self.faithfulness is None
            else {
                "score": self.faithfulness.score,
                "band": self.faithfulness.band,
                "judge": self.faithfulness.judge,
                "note": self.faithfulness.note,
                "claims": [
                    {
                        "claim": v.claim,
                        "verdict": v.verdict,
                        "source": v.source_number,
                        "reason": v.reason,
                        "flags": v.flags,
                    }
                    for v in self.faithfulness.verdicts
                ],
            },
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "relevance": None
            if self.relevance is None
            else {
                "score": round(self.relevance.score, 4),
                "band": self.relevance.band,
                "note": self.relevance.note,
                "method": self.relevance.method,
            },
        }


@dataclass
class FileReport:
    """What happened to one file in a batch: the ingest report row."""

    path: str
    source: str
    status: str  # "ingested" | "unchanged" | "failed"
    pages: int = 0
    chunks: dict[str, int] = field(default_factory=dict)
    embedded: int = 0  # texts actually embedded (0 when unchanged)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    error: str = ""


@dataclass
class DocumentRecord:
    """What the library shows for one document."""

    source: str
    doc_id: str
    title: str = ""
    path: str = ""
    file_type: str = ""
    pages: int = 0
    chunks: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    ingested_at: float = 0.0

    @property
    def strategies(self) -> list[str]:
        return sorted(self.chunks)

    def to_metadata(self) -> dict[str, Any]:
        return {
            "kind": "doc",
            "source": self.source,
            "doc_id": self.doc_id,
            "title": self.title,
            "path": self.path,
            "file_type": self.file_type,
            "pages": self.pages,
            "chunks": json.dumps(self.chunks, sort_keys=True),
            "warnings": json.dumps(self.warnings),
            "ingested_at": self.ingested_at,
        }

    @classmethod
    def from_metadata(cls, meta: dict[str, Any]) -> DocumentRecord:
        return cls(
            source=meta["source"],
            doc_id=meta["doc_id"],
            title=meta.get("title", ""),
            path=meta.get("path", ""),
            file_type=meta.get("file_type", ""),
            pages=int(meta.get("pages", 0)),
            chunks=json.loads(meta.get("chunks", "{}")),
            warnings=json.loads(meta.get("warnings", "[]")),
            ingested_at=float(meta.get("ingested_at", 0.0)),
        )
