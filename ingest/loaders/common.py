"""What every format shares: the format contract, reading the bytes under the size cap, and assembling a
format's pages into one `LoadedDocument`.

A format module only turns bytes into pages; everything a user could tell apart between formats (how a
missing file is reported, how pages are joined, how page warnings are merged, what the document id is)
happens here once, so a new format cannot get it subtly different.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ingest import quality
from ingest.loaders.errors import EmptyDocument, LoadError, TooLarge
from rag.core.types import LoadedDocument, Page, PageSpan

PAGE_SEPARATOR = "\n\n"
_MB = 1024 * 1024  # settings.max_file_mb is converted with the same factor


@dataclass(frozen=True)
class Extracted:
    """What a format's `load` returns. `issues[i]` are the quality issues of `pages[i]` (the per-page
    warnings are already in the page; the issues are kept to merge them into document warnings)."""

    pages: Sequence[Page]
    issues: Sequence[Sequence[quality.Issue]]
    title: str | None = None  # None: the file name without its extension
    warnings: Sequence[str] = ()  # document-level, listed after the merged page warnings


class LoadFunction(Protocol):
    """The one function a format module provides. It gets the whole file (already size-checked and not
    empty) and raises a `LoadError` subclass for a file it cannot read."""

    def __call__(self, data: bytes, path: Path, *, max_pages: int | None) -> Extracted: ...


@dataclass(frozen=True)
class Format:
    """One line of the registry. The loader is named, not imported, so that listing the supported types
    costs nothing and a reader library (pypdf, ~200 ms) is imported only when a file of its kind arrives."""

    name: str  # for help texts: "PDF", "Markdown"
    suffixes: tuple[str, ...]  # lower case, with the dot: (".md", ".markdown")
    file_type: str  # `LoadedDocument.file_type`: "pdf", "md"
    load: str  # "package.module:function", a `LoadFunction`

    def loader(self) -> LoadFunction:
        module, _, function = self.load.partition(":")
        return getattr(importlib.import_module(module), function)


def make_page(
    number: int | None,
    text: str,
    issues: Sequence[quality.Issue],
    sections: Iterable[tuple[int, str]] = (),
    *,
    ocr_confidence: float | None = None,
) -> Page:
    """A `Page` carrying its own warnings ('page 3: …'; no prefix for a file without pages)."""
    return Page(number, text, quality.page_warnings(number, issues), tuple(sections), ocr_confidence)


def document_id(data: bytes) -> str:
    """The content hash that identifies a document (ingest/pipeline.py's `file_digest` is the same)."""
    return hashlib.sha256(data).hexdigest()[:32]


def read_bytes(path: Path, max_bytes: int | None) -> bytes:
    """The file's bytes, with the size checked before reading so an oversized file is never read."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise LoadError("not a regular file")
    except FileNotFoundError:
        raise LoadError("file not found") from None
    except PermissionError:
        raise LoadError("cannot read the file: permission denied") from None
    if size == 0:
        raise EmptyDocument("empty file")
    if max_bytes is not None and size > max_bytes:
        raise TooLarge(f"file is {size / _MB:.1f} MB, over the limit of {max_bytes / _MB:.3g} MB")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"cannot read the file: {exc.strerror or exc}") from None
    if not data:
        raise EmptyDocument("empty file")
    return data


def assemble(
    pages: Sequence[Page],
    issues: Sequence[Sequence[quality.Issue]],
    *,
    source: str,
    path: str,
    doc_id: str,
    title: str,
    file_type: str,
    extra_warnings: Iterable[str] = (),
) -> LoadedDocument:
    """Join pages with a blank line; page spans and section offsets point into the joined text."""
    spans: list[PageSpan] = []
    sections: list[tuple[int, str]] = []
    pos = 0
    for i, p in enumerate(pages):
        if i:
            pos += len(PAGE_SEPARATOR)
        spans.append(PageSpan(p.number, pos, pos + len(p.text), p.ocr_confidence))
        sections.extend((pos + offset, heading) for offset, heading in p.sections)
        pos += len(p.text)
    warnings = quality.summarize(zip((p.number for p in pages), issues, strict=True))
    return LoadedDocument(
        source=source,
        path=path,
        doc_id=doc_id,
        title=title,
        text=PAGE_SEPARATOR.join(p.text for p in pages),
        pages=tuple(spans),
        sections=tuple(sections),
        warnings=tuple(dict.fromkeys([*warnings, *extra_warnings])),
        page_count=len(pages),
        file_type=file_type,
    )
