"""What the chunk store writes into Chroma metadata, and reads back.

- DocumentRecord: one registry record per document (the commit point of rag/backends/chroma_store.py's protocol).
- Chunk metadata: Chroma metadata is flat and rejects None, so chunks are flattened here and rebuilt.
- Collection fingerprints: embedder name, dimension and chunker parameters stored on each strategy
  collection, so an index built with other settings is refused instead of searched with wrong vectors.
"""

from __future__ import annotations

import json
from typing import Any

from rag.core.errors import FingerprintMismatch
from rag.core.types import Chunk


def collection_fingerprint(embedder_name: str, dimension: int, params: dict) -> dict[str, Any]:
    """The metadata a strategy collection is created with (`params`: that strategy's chunker parameters)."""
    return {
        "docqa_embedder": embedder_name,
        "docqa_dimension": dimension,
        "docqa_params": json.dumps(params, sort_keys=True),
    }


def check_fingerprint(name: str, found: dict, expected: dict) -> None:
    """Raise FingerprintMismatch, with the way out, if `found` (a collection's metadata) disagrees."""
    for key, label in (
        ("docqa_embedder", "embedder"),
        ("docqa_dimension", "embedding dimension"),
        ("docqa_params", "chunker parameters"),
    ):
        if key in found and found[key] != expected[key]:
            raise FingerprintMismatch(
                f"collection {name!r} was built with {label} {found[key]!r}, but the current settings "
                f"give {expected[key]!r}. Re-index with `docqa ingest --rebuild PATH...` (drops and "
                f"rebuilds this index), or keep both by setting DOCQA_COLLECTION to a new name."
            )


def chunk_to_metadata(chunk: Chunk) -> dict[str, Any]:
    meta = {
        "doc_id": chunk.doc_id,
        "strategy": chunk.strategy,
        "index": chunk.index,
        "start": chunk.start,
        "end": chunk.end,
        "source": chunk.source,
        "title": chunk.title,
        "role": chunk.role,
        "page_start": chunk.page_start,
        "page_end": chunk.page_end,
        "page_char_start": chunk.page_char_start,
        "page_char_end": chunk.page_char_end,
        "section": chunk.section,
        "parent_id": chunk.parent_id,
        "ocr_confidence": chunk.ocr_confidence,
    }
    return {k: v for k, v in meta.items() if v is not None}  # Chroma rejects None values


def chunk_from_record(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    return Chunk(
        id=chunk_id,
        doc_id=meta["doc_id"],
        strategy=meta["strategy"],
        index=int(meta["index"]),
        text=text,
        start=int(meta["start"]),
        end=int(meta["end"]),
        source=meta.get("source", ""),
        title=meta.get("title", ""),
        page_start=meta.get("page_start"),
        page_end=meta.get("page_end"),
        page_char_start=meta.get("page_char_start"),
        page_char_end=meta.get("page_char_end"),
        section=meta.get("section"),
        parent_id=meta.get("parent_id"),
        role=meta.get("role", "chunk"),
        ocr_confidence=meta.get("ocr_confidence"),
    )
