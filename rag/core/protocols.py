"""The seams of docqa: what each stage needs from the next, as small Protocols.

Components depend on these, never on a concrete backend, so that the composition root (rag/app.py) can
swap one (tests, the evaluation, another vector store) without touching the code that uses it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from rag.core.errors import GenerationError
from rag.core.types import (
    Chunk,
    DocumentRecord,
    Faithfulness,
    FileReport,
    HistoryItem,
    LoadedDocument,
    Source,
    Strategy,
)

Span = tuple[int, int]
SentenceSplitter = Callable[[str], list[Span]]


class Loader(Protocol):
    """Turns one file into text with pages; raises a LoadError subclass with a one-line reason."""

    def __call__(self, path: Any, *, max_bytes: int | None = None, max_pages: int | None = None) -> LoadedDocument: ...


@runtime_checkable
class TokenCounter(Protocol):
    """What chunkers need: counts and character spans of the embedder's word pieces."""

    max_tokens: int

    def count(self, texts: Sequence[str]) -> list[int]: ...

    def spans(self, text: str) -> list[tuple[int, int]]: ...


@runtime_checkable
class Embedder(Protocol):
    """What ingestion and retrieval need from an embedding model."""

    name: str

    def warm_up(self) -> None: ...

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class Chunker(Protocol):
    strategy: Strategy

    def params(self) -> dict: ...

    def chunk(self, doc: LoadedDocument, sentences: Sequence[Span]) -> list[Chunk]: ...


@runtime_checkable
class ChunkIndex(Protocol):
    """The vector store as ingestion, retrieval and the cache use it (rag/backends/chroma_store.py).

    A document becomes visible only when its registry record is written (`replace_document`), so a crash
    never leaves half a document searchable.
    """

    base: str
    params: dict[str, dict]

    def collection(self, kind: str) -> Any: ...

    def drop(self, kinds: Sequence[str]) -> None: ...

    def get_document(self, source: str) -> DocumentRecord | None: ...

    def list_documents(self) -> list[DocumentRecord]: ...

    def find_by_doc_id(self, doc_id: str) -> DocumentRecord | None: ...

    def committed_doc_ids(self, strategy: str) -> set[str]: ...

    def generation(self) -> int: ...

    def remove_document(self, source: str) -> bool: ...

    def recover(self) -> int: ...

    def count(self, kind: str) -> int: ...

    def get_chunks(self, kind: str, ids: Sequence[str], with_embeddings: bool = False) -> Any: ...

    def query_ids(self, strategy: str, vector: Any, k: int, doc_ids: Sequence[str] | None = None) -> list:
        """Nearest (chunk id, cosine) without text or metadata (a third of the cost of a full query)."""

    def get_vectors(self, kind: str, ids: Sequence[str]) -> dict[str, Any]:
        """Stored vectors by id, without text or metadata (a third of the cost of get_chunks)."""

    def iter_chunks(self, kind: str, page: int = 2000) -> Iterator[Chunk]: ...

    def searchable_kinds(self) -> list[str]: ...

    def check_reachability(self, kind: str, sample: int | None = ...) -> Any:
        """Is every stored chunk found by its own vector? (Chroma #7758; rag/backends/chroma_health.py)"""

    def repair(self, kind: str, *, force: bool = False) -> Any:
        """Rebuild a collection from its stored vectors, without re-embedding."""

    def close(self) -> None: ...


class LexicalIndex(Protocol):
    """A keyword index over one strategy's committed chunks (rag/backends/bm25.py)."""

    def refresh(self) -> bool: ...

    def search(self, query: str, k: int, doc_ids: Any = None) -> list[tuple[str, float]]: ...


class Retriever(Protocol):
    """Ranked hits for a question (rag/retrieval/hybrid.py)."""

    def retrieve(self, query: str, **options: Any) -> Any: ...

    def refresh(self, strategies: Sequence[str | Strategy]) -> None: ...


@runtime_checkable
class Generator(Protocol):
    """What the answer pipeline needs: a name, a mode ("llm" | "extractive"), whole and streamed text."""

    name: str
    mode: str

    def generate(self, question: str, sources: Sequence[Source], history: Sequence[HistoryItem] | None) -> str: ...

    def stream(
        self, question: str, sources: Sequence[Source], history: Sequence[HistoryItem] | None
    ) -> Iterator[str]: ...


@runtime_checkable
class Judge(Protocol):
    """Scores how faithful an answer is to its numbered sources."""

    name: str

    def judge(self, question: str, answer: str, sources: list[Source]) -> Faithfulness: ...


class ChatModels(Protocol):
    """Builds chat models (langchain_core BaseChatModel) and explains their failures (rag/backends/chat.py)."""

    name: str

    def __call__(self, settings: Any, **overrides: Any) -> Any: ...

    def describe_error(self, exc: BaseException, settings: Any) -> GenerationError: ...

    def rejects_tools(self, exc: BaseException) -> bool: ...


class Progress(Protocol):
    """Receives progress from a batch: the CLI draws bars, the UI forwards to gr.Progress."""

    def file_started(self, source: str, index: int, total: int) -> None: ...

    def chunks_planned(self, n: int) -> None: ...

    def chunks_embedded(self, n: int) -> None: ...

    def file_done(self, report: FileReport) -> None: ...


class PageRenderer(Protocol):
    """Renders one page of a PDF with a quote's boxes (rag/backends/page_render.py, PDFium)."""

    name: str

    def render(self, path: str, page: int, quote: str = "") -> Any:
        """A rag.core.pageview.RenderedPage for the 1-based `page`; raises ValueError for a page out of
        range and OSError for a file that cannot be read."""
