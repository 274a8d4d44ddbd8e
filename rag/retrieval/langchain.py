"""docqa's hybrid retrieval behind LangChain's retriever interface.

LangChain users compose chains from `BaseRetriever`s; this lets them put docqa's retrieval (both legs,
fusion, parent expansion, document filters) into an LCEL chain instead of a plain vector search.
Each Document carries where it came from, so a chain can cite file and page.
"""

from __future__ import annotations

import inspect
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, model_validator

from rag.core.types import Hit


def hit_to_document(hit: Hit) -> Document:
    """A retrieval hit as a LangChain Document: the returned chunk's text and its provenance.

    The provenance keys are always present (None when unknown, e.g. no page in a text file), so a
    chain's formatting code can index them without guarding each one; the `matched_*` keys appear only
    for parent-child hits.
    """
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
        # The parent may span pages; the child's own pages are what a precise citation points at.
        metadata["matched_id"] = span.id
        metadata["matched_text"] = span.text
        metadata["matched_page"] = span.page_start
        metadata["matched_pages"] = span.pages_label
    return Document(page_content=chunk.text, metadata=metadata, id=chunk.id)


class DocQARetriever(BaseRetriever):
    """`DocQA.as_retriever(**options)`: `options` are Retriever.retrieve arguments (strategy, k, mode,
    mmr, threshold, doc_filter, budget_tokens, fetch_k); unset ones follow the app's settings."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_options(self) -> DocQARetriever:
        """A misspelt option (`top_k=3`) fails here, where it is written, not at the first question."""
        params = inspect.signature(self.retriever.retrieve).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
            unknown = sorted(set(self.options) - {n for n in params if n != "query"})
            if unknown:
                known = ", ".join(n for n in params if n != "query")
                raise ValueError(f"unknown retrieval option(s) {', '.join(unknown)}; known: {known}")
        return self

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        result = self.retriever.retrieve(query, **self.options)
        return [hit_to_document(hit) for hit in result.hits]
