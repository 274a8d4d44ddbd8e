"""Turn a file into a `LoadedDocument`: a registry of formats keyed by the file name's extension.

The extension picks the format and the content must then match it (a `.pdf` needs a `%PDF-` header, a
`.txt` must decode to text). Every failure is a `LoadError` (ingest/loaders/errors.py) whose `str()` is a
one-line reason fit to show a user.

To add a format: write one module with a function

    def load(data: bytes, path: Path, *, max_pages: int | None) -> Extracted

that turns the file's bytes into pages (`common.make_page`) and their quality issues, raising a
`LoadError` subclass for a file it cannot read, and add one line to `REGISTRY`:

    Format("Word", (".docx",), "docx", "ingest.loaders.docx:load"),

Reading the bytes under the size cap, the document id, joining pages, merging page warnings and the
title fallback (the file name) are done here and in common.py for every format alike. The loader is named
as a string and imported on first use, so importing this package (the pipeline does, for the supported
extensions) never imports pypdf or charset-normalizer; the sandbox worker imports them all up front
(`preload`). A function taking `registry=` accepts another tuple of formats, which is how tests add one.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.loaders.common import PAGE_SEPARATOR, Extracted, Format, assemble, document_id, read_bytes
from ingest.loaders.errors import (
    CorruptFile,
    EmptyDocument,
    EncryptedDocument,
    EncryptedPdf,
    LoadError,
    TooLarge,
    UnsupportedFileType,
    WrongContent,
)
from rag.core.types import LoadedDocument, Page

if TYPE_CHECKING:
    from ingest.loaders.pdf import (
        SANDBOX_PDF_ELEMENTS,
        extract_page,
        open_pdf,
        pdf_title,
        pypdf_only,
        read_pdf_pages,
        sandbox_pdf_limits,
    )
    from ingest.loaders.pdf_text import normalize_pdf_text

REGISTRY: tuple[Format, ...] = (
    Format("PDF", (".pdf",), "pdf", "ingest.loaders.pdf:load"),
    Format("TXT", (".txt",), "txt", "ingest.loaders.text:load_text"),
    Format("Markdown", (".md", ".markdown"), "md", "ingest.loaders.text:load_markdown"),
    Format("Word", (".docx",), "docx", "ingest.loaders.docx:load"),
    Format("HTML", (".html", ".htm"), "html", "ingest.loaders.html:load"),
    Format("HWP", (".hwp",), "hwp", "ingest.loaders.hwp:load_hwp"),
    Format("HWPX", (".hwpx",), "hwpx", "ingest.loaders.hwp:load_hwpx"),
)


def by_suffix(registry: Iterable[Format]) -> dict[str, Format]:
    """Suffix -> format, refusing a registry where a suffix is claimed twice or spelled so it never matches."""
    table: dict[str, Format] = {}
    for fmt in registry:
        for suffix in fmt.suffixes:
            if not suffix.startswith(".") or suffix != suffix.lower():
                raise ValueError(f"{fmt.name}: suffix {suffix!r} must be lower case and start with a dot")
            if suffix in table:
                raise ValueError(f"{suffix} is claimed by both {table[suffix].name} and {fmt.name}")
            table[suffix] = fmt
    return table


_BY_SUFFIX = by_suffix(REGISTRY)
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_BY_SUFFIX)


def supported_types(registry: Iterable[Format] = REGISTRY, *, suffixes: bool = False) -> str:
    """For help texts: 'PDF, TXT or Markdown', or with `suffixes` 'PDF (.pdf), TXT (.txt) or Markdown (.md,
    .markdown)', so a new format shows up in the UI and CLI without editing them."""
    names = [f"{f.name} ({', '.join(f.suffixes)})" if suffixes else f.name for f in registry]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def format_for(path: str | Path, registry: Iterable[Format] = REGISTRY) -> Format:
    """The format that reads `path`, by its extension; `UnsupportedFileType` names the supported ones."""
    table = _BY_SUFFIX if registry is REGISTRY else by_suffix(registry)
    suffix = Path(path).suffix.lower()
    if suffix not in table:
        supported = ", ".join(sorted(table))
        kind = f"'{suffix}'" if suffix else "(no file extension)"
        raise UnsupportedFileType(f"unsupported file type {kind}: supported are {supported}")
    return table[suffix]


def load_document(path: str | Path, *, max_bytes: int | None = None, max_pages: int | None = None) -> LoadedDocument:
    """Load one file. Raises a `LoadError` subclass with a user-facing reason on any failure."""
    return load_with_pages(path, max_bytes=max_bytes, max_pages=max_pages)[0]


def load_with_pages(
    path: str | Path,
    *,
    max_bytes: int | None = None,
    max_pages: int | None = None,
    registry: Iterable[Format] = REGISTRY,
) -> tuple[LoadedDocument, tuple[Page, ...]]:
    """Like `load_document`, also returning the `Page`s (with their page-level warnings)."""
    path = Path(path)
    fmt = format_for(path, registry)
    data = read_bytes(path, max_bytes)
    out = fmt.loader()(data, path, max_pages=max_pages)
    doc = assemble(
        out.pages,
        out.issues,
        source=path.name,
        path=str(path.resolve()),
        doc_id=document_id(data),
        title=out.title or path.stem,
        file_type=fmt.file_type,
        extra_warnings=out.warnings,
    )
    return doc, tuple(out.pages)


def preload(registry: Iterable[Format] = REGISTRY) -> None:
    """Import every format's reader now: the sandbox worker does, so that no file's time limit pays for it."""
    for fmt in registry:
        fmt.loader()


# PDF helpers callers import from here (the sandbox, the evaluation's PDF sets, tests); resolved on first
# access so that importing the package does not import pypdf.
_LAZY: Mapping[str, str] = {
    "SANDBOX_PDF_ELEMENTS": "ingest.loaders.pdf",
    "sandbox_pdf_limits": "ingest.loaders.pdf",
    "pypdf_only": "ingest.loaders.pdf",
    "open_pdf": "ingest.loaders.pdf",
    "pdf_title": "ingest.loaders.pdf",
    "extract_page": "ingest.loaders.pdf",
    "read_pdf_pages": "ingest.loaders.pdf",
    "normalize_pdf_text": "ingest.loaders.pdf_text",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "PAGE_SEPARATOR",
    "REGISTRY",
    "SANDBOX_PDF_ELEMENTS",
    "SUPPORTED_SUFFIXES",
    "CorruptFile",
    "EmptyDocument",
    "EncryptedDocument",
    "EncryptedPdf",
    "Extracted",
    "Format",
    "LoadError",
    "TooLarge",
    "UnsupportedFileType",
    "WrongContent",
    "assemble",
    "by_suffix",
    "extract_page",
    "format_for",
    "load_document",
    "load_with_pages",
    "normalize_pdf_text",
    "open_pdf",
    "pdf_title",
    "preload",
    "pypdf_only",
    "read_pdf_pages",
    "sandbox_pdf_limits",
    "supported_types",
]
