"""Hangul .hwp (HWP 5.x) and .hwpx (OWPML) documents through python-hwpx: body text, tables, foot- and
endnotes, outline headings as sections.

python-hwpx was measured against hwp-hwpx-parser, pyhwp, gethwp and hwpx-tomd on ../shared/data/office
(README, "Formats and OCR"): it read every readable file with all the expected words and no junk, is the
only one that refuses an encrypted "distribution" document with that reason instead of indexing its
"this is a distribution document" placeholder page, opens both formats (HWP 5 is converted to the same
document model), guards ZIP packages, and is Apache-2.0 and actively released. Its Markdown export is
used because it keeps what a reader needs and nothing else: outline headings as `#` lines, list labels
("1.", "가."), tables in reading order, notes where they sit ("1) text"); headers and footers are left
out. That Markdown is turned back into blocks here, so headings become sections and table rows lines
like every other format's (ingest/loaders/blocks.py).

HWP lays out pages only when it draws them, so a document is one page without a number; its headings
locate a citation. Distribution, password and DRM documents are refused: their body is encrypted, and a
distribution document's author chose to forbid copying its text.

python-hwpx (~0.9 s to import) is imported on the first HWP/HWPX file, not with this module.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from ingest.loaders.blocks import OLE_MAGIC, ZIP_MAGIC, PageBuilder, open_zip
from ingest.loaders.common import Extracted
from ingest.loaders.errors import CorruptFile, EncryptedDocument, LoadError, TooLarge, WrongContent
from ingest.loaders.errors import one_line as _one_line
from ingest.loaders.errors import reason as _reason

_REFUSED = {
    "hwp5-distribution": "HWP distribution document (배포용 문서): its body is encrypted and its author forbade "
    "copying the text, so it cannot be indexed; ask for an ordinary copy",
    "hwp5-password": "password-protected HWP document: remove the password in Hancom Office",
    "hwp5-drm": "DRM-protected HWP document: its body is encrypted",
}
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*$")
_TABLE_RULE = re.compile(r"^\|(?:\s*:?-{3,}:?\s*\|)+$")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)


def load_hwp(data: bytes, path: Path, *, max_pages: int | None) -> Extracted:
    """The registry's entry for `.hwp` (see ingest/loaders/__init__.py); `max_pages` does not apply."""
    if data.startswith(b"HWP Document File"):
        raise WrongContent("HWP 3.0 file (Hangul 97 or older): not supported; save it as .hwp (5.0) or .hwpx")
    if data.startswith(ZIP_MAGIC):  # an .hwpx saved under the old name: read it as what it is
        return load_hwpx(data, path, max_pages=max_pages)
    if not data.startswith(OLE_MAGIC):
        raise WrongContent("not an HWP file: it does not start with the HWP 5 (OLE compound file) header")
    return _load(data)


def load_hwpx(data: bytes, path: Path, *, max_pages: int | None) -> Extracted:
    """The registry's entry for `.hwpx`; a password-protected package is refused before parsing."""
    archive = open_zip(data, "HWPX")
    names = set(archive.namelist())
    if "META-INF/manifest.xml" in names and b"encryption-data" in archive.read("META-INF/manifest.xml"):
        raise EncryptedDocument("password-protected HWPX document: remove the password in Hancom Office")
    if not any(n.startswith("Contents/") for n in names):
        raise WrongContent("not an HWPX file: the package has no Contents/ part")
    return _load(data)


def _load(data: bytes) -> Extracted:
    from hwpx import HwpxDocument  # lazy: ~0.9 s, paid by the first Hangul file only
    from hwpx.errors import Hwp5Error
    from hwpx.tools.exporter import export_markdown

    notes: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            document = HwpxDocument.open(data)
            markdown = export_markdown(document, notes=True, list_labels=True, tab_token=" ")
        notes = [_one_line(str(w.message), 120) for w in caught if "Hwp5" in type(w.message).__name__]
    except Hwp5Error as exc:
        code = getattr(exc, "code", "")
        if code in _REFUSED:
            raise EncryptedDocument(_REFUSED[code]) from None
        if code == "hwp5-limit-exceeded":
            raise TooLarge(f"HWP document exceeds a safety limit of the reader: {_one_line(str(exc), 120)}") from None
        if code in ("hwp5-not-hwp5", "hwp5-version-unsupported"):
            raise WrongContent(f"not a readable HWP 5 file: {_one_line(str(exc), 120)}") from None
        raise CorruptFile(f"damaged HWP document: {_one_line(str(exc), 160)}") from None
    except LoadError:
        raise
    except Exception as exc:  # lxml syntax errors, the package's own errors, a bug in the reader
        if "암호" in str(exc) or "encrypt" in str(exc).lower():
            raise EncryptedDocument("password-protected HWPX document: remove the password in Hancom Office") from None
        raise CorruptFile(f"unreadable Hangul document ({_reason(exc)})") from None
    builder, title = _blocks(markdown)
    warned = [f"some content could not be converted: {notes[0]}"] if notes else []
    return builder.extracted(title, warned, empty_reason="no text: the document is blank or holds only objects/images")


def _blocks(markdown: str) -> tuple[PageBuilder, str | None]:
    """python-hwpx's Markdown back into blocks: '#' lines are headings, '|' lines table rows, the rest
    paragraphs (one per blank-line-separated block); '---' separates HWP sections (구역), not pages."""
    builder = PageBuilder()
    title = None
    table: list[list[str]] = []
    paragraph: list[str] = []

    def flush() -> None:
        if table:
            builder.table(table)
            table.clear()
        if paragraph:
            builder.paragraph("\n".join(paragraph))
            paragraph.clear()

    for line in markdown.split("\n"):
        stripped = line.strip()
        if stripped.startswith("|") and stripped.endswith("|") and len(stripped) > 1:
            if paragraph:
                flush()
            if not _TABLE_RULE.match(stripped):
                table.append([_BR.sub(" ", cell) for cell in stripped[1:-1].split("|")])
            continue
        if table:
            flush()
        if not stripped or stripped == "---":
            flush()
        elif m := _HEADING.match(stripped):
            flush()
            builder.heading(m.group(2))
            if title is None and len(m.group(1)) == 1:
                title = m.group(2).strip() or None
        else:
            paragraph.append(_BR.sub(" ", line))
    flush()
    return builder, title
