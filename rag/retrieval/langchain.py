"""docqa's hybrid retrieval behind LangChain's retriever interface.

LangChain users compose chains from `BaseRetriever`s; this lets them put docqa's retrieval (both legs,
fusion, parent expansion, document filters) into an LCEL chain instead of a plain vector search.
Each Document carries where it came from, so a chain can cite file and page.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from rag.core.types import Hit


def hit_to_document(hit: Hit) -> Document:
    """A retrieval hit as a LangChain Document: the returned chunk's text and its provenance."""
    chunk, span = hit.chunk, hit.span
    metadata: dict[str, Any] = {
        "source": chunk.source,
        "title": chunk.title,
        "page": chunk.page_start,
        "page_end": chunk.page_end,
        "pages": chunk.pages_label,
        "section": chunk.section,
        "chunk_id": chunk.id,
        "doc_id": chunk.doc_id,
        "strategy": chunk.strategy,
        "rank": hit.rank,
        "score": hit.score,
        "dense_score": hit.dense_score,
        "lexical_score": hit.lexical_score,
    }
    if span is not chunk:  # parent-child: the child that matched, inside the returned parent
        metadata["matched_id"] = span.id
        metadata["matched_text"] = span.text
    return Document(page_content=chunk.text, metadata=metadata, id=chunk.id)


class DocQARetriever(BaseRetriever):
    """`DocQA.as_retriever(**options)`: `options` are Retriever.retrieve arguments (strategy, k, mode,
    mmr, threshold, doc_filter, budget_tokens, fetch_k); unset ones follow the app's settings."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any
    options: dict[str, Any] = Field(default_factory=dict)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        result = self.retriever.retrieve(query, **self.options)
        return [hit_to_document(hit) for hit in result.hits]
