"""What the structured formats (Word, HTML, HWP/HWPX) share: turning a stream of headings, paragraphs,
table rows and page breaks into pages with sections, and a size check of ZIP packages before parsing.

Each of those readers walks its own document model, but the text they hand on must look the same, so that
chunking, citations and the quality checks treat a Word heading like an HTML one: a heading is a line of its
own and a section (an offset into its page's text), a paragraph is a block separated by a blank line, a
table row is one line with its cells joined by " | " (a row stays one retrievable unit, and BM25 sees every
cell's words), and a page break starts a new page only when the current one has text, so a document that
carries both an explicit break and Word's rendered one does not get empty pages.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field

from ingest import quality
from ingest.loaders.common import Extracted, make_page
from ingest.loaders.errors import CorruptFile, EmptyDocument, TooLarge, WrongContent
from rag.core.types import Page

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Declared uncompressed size of a package's parts. Real office files expand 3-20x; a ZIP bomb expands
# 1000x. Checked before any part is parsed; the worker's memory limit is the backstop for lying headers.
MAX_UNZIPPED_BYTES = 512 * 1024 * 1024
MAX_ZIP_MEMBERS = 20_000

_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_inline(text: str) -> str:
    """One paragraph's text: control characters dropped, runs of spaces and tabs collapsed."""
    return _SPACES.sub(" ", _CONTROL.sub("", text)).strip()


@dataclass
class _Page:
    parts: list[str] = field(default_factory=list)
    sections: list[tuple[int, str]] = field(default_factory=list)
    length: int = 0


class PageBuilder:
    """Collects blocks in reading order; `extracted` turns them into numbered pages (when the file had page
    breaks) or one page without a number (when it had none, like a text file)."""

    def __init__(self) -> None:
        self._pages: list[_Page] = [_Page()]
        self.breaks = 0

    def _add(self, text: str) -> int:
        page = self._pages[-1]
        offset = page.length + (2 if page.parts else 0)
        page.parts.append(text)
        page.length = offset + len(text)
        return offset

    def heading(self, text: str) -> None:
        text = clean_inline(text)
        if text:
            self._pages[-1].sections.append((self._add(text), text))

    def paragraph(self, text: str) -> None:
        lines = [clean_inline(line) for line in text.split("\n")]
        text = "\n".join(line for line in lines if line)
        if text:
            self._add(text)

    def preformatted(self, text: str) -> None:
        """Code and other preformatted text: line breaks and indentation kept, blank lines dropped."""
        lines = [_CONTROL.sub("", line).rstrip().replace("\t", "    ") for line in text.split("\n")]
        text = "\n".join(line for line in lines if line.strip())
        if text:
            self._add(text)

    def table(self, rows: Iterable[Iterable[str]]) -> None:
        """Rows of cell texts (a merged cell given once); empty cells are left out."""
        lines = []
        for row in rows:
            cells = [c for c in (clean_inline(cell.replace("\n", " ")) for cell in row) if c]
            if cells:
                lines.append(" | ".join(cells))
        if lines:
            self._add("\n".join(lines))

    def page_break(self) -> None:
        if self._pages[-1].parts:
            self._pages.append(_Page())
            self.breaks += 1

    def has_text(self) -> bool:
        return any(p.parts for p in self._pages)

    def extracted(self, title: str | None, warnings: Iterable[str] = (), *, empty_reason: str) -> Extracted:
        pages = [p for p in self._pages if p.parts]
        if not pages:
            raise EmptyDocument(empty_reason)
        numbered = len(pages) > 1
        out: list[Page] = []
        issues: list[list[quality.Issue]] = []
        for i, p in enumerate(pages):
            text = "\n\n".join(p.parts)
            page_issues = quality.check_text(text)
            out.append(make_page(i + 1 if numbered else None, text, page_issues, p.sections))
            issues.append(page_issues)
        return Extracted(out, issues, title, tuple(warnings))


def open_zip(data: bytes, kind: str) -> zipfile.ZipFile:
    """The package as a ZipFile after checking that it is one and that it does not expand absurdly."""
    if data.startswith(OLE_MAGIC):
        raise WrongContent(f"not a {kind} file: an old binary Office file or an encrypted package")
    if not data.startswith(ZIP_MAGIC):
        raise WrongContent(f"not a {kind} file: it is not a ZIP package")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise CorruptFile(f"damaged {kind} file (broken ZIP package: {exc})") from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise TooLarge(f"{kind} package holds {len(members)} parts, over the limit of {MAX_ZIP_MEMBERS}")
    expanded = sum(m.file_size for m in members)
    if expanded > MAX_UNZIPPED_BYTES:
        limit = MAX_UNZIPPED_BYTES / 2**20
        raise TooLarge(f"{kind} package expands to {expanded / 2**20:.0f} MB, over the limit of {limit:.0f} MB")
    return archive
