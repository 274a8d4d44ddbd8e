"""Word .docx: python-docx for the package, the styles and the body order; runs walked in the XML itself.

python-docx was measured against docx2python and mammoth on ../shared/data/office/docx and a generated
Korean file (README, "Formats and OCR"): it is the only one that gives paragraphs and tables in body order
with their style names (headings) and exposes the page breaks. Its `Paragraph.text` drops page breaks and
text-box text, so a paragraph's runs are read from its XML: `w:t` text, tabs and line breaks, explicit page
breaks (`w:br w:type="page"`, `w:pageBreakBefore`) and the breaks Word rendered when it last saved the file
(`w:lastRenderedPageBreak`), which number the pages as the author saw them. A file with no break at all is
one page without a number. Footnotes and endnotes, which python-docx does not read, come from their parts
at the end; headers and footers are left out (they repeat on every page and say little).

python-docx (and lxml) are imported on the first .docx, not with this module.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from ingest.loaders.blocks import PageBuilder, open_zip
from ingest.loaders.common import Extracted
from ingest.loaders.errors import CorruptFile, LoadError, TooLarge, WrongContent
from ingest.loaders.errors import reason as _reason
from ingest.loaders.pdf_text import clean_title

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_HEADING_STYLE = re.compile(r"^(?:heading|제목)\s*(\d)$", re.IGNORECASE)
_BREAK = object()  # marks a page break inside a paragraph's run stream


def load(data: bytes, path: Path, *, max_pages: int | None) -> Extracted:
    """The registry's entry for `.docx` (see ingest/loaders/__init__.py)."""
    archive = open_zip(data, "Word .docx")
    if "word/document.xml" not in archive.namelist():
        raise WrongContent("not a Word .docx file: the package has no word/document.xml")
    import docx  # lazy: ~0.3 s, paid by the first Word file only
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        builder = PageBuilder()
        first_title = None
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                builder.table(_row_texts(row) for row in block.rows)
                continue
            level = _heading_level(block)
            if level == 0 and first_title is None:
                first_title = block.text
            _paragraph(builder, block._p, heading=level is not None)
        notes = _notes(document)
    except LoadError:
        raise
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors on damaged parts
        raise CorruptFile(f"unreadable Word file ({_reason(exc)})") from None
    for note in notes:
        builder.paragraph(note)
    if max_pages is not None and builder.breaks + 1 > max_pages:
        raise TooLarge(f"{builder.breaks + 1} pages, over the limit of {max_pages}")
    title = clean_title(document.core_properties.title or "") or clean_title(first_title or "")
    return builder.extracted(title, empty_reason="no text: the document is blank or holds only images or empty tables")


def _row_texts(row) -> list[str]:
    """python-docx repeats a horizontally merged cell once per grid column: keep the first."""
    seen: set[int] = set()
    texts = []
    for cell in row.cells:
        if id(cell._tc) not in seen:
            seen.add(id(cell._tc))
            texts.append(cell.text)
    return texts


def _heading_level(paragraph) -> int | None:
    """0 for the Title style, 1-9 for Heading N (or an outline level set on the paragraph), else None."""
    try:
        name = (paragraph.style.name or "") if paragraph.style is not None else ""
    except Exception:
        name = ""
    if name.lower() in ("title", "제목"):
        return 0
    if m := _HEADING_STYLE.match(name.strip()):
        return int(m.group(1))
    outline = paragraph._p.find(f"{W}pPr/{W}outlineLvl")
    if outline is not None and (val := outline.get(f"{W}val", "")).isdigit() and int(val) < 9:
        return int(val) + 1
    return None


def _paragraph(builder: PageBuilder, p, *, heading: bool) -> None:
    before = p.find(f"{W}pPr/{W}pageBreakBefore")
    if before is not None and before.get(f"{W}val", "true") not in ("0", "false", "off"):
        builder.page_break()
    parts: list[object] = []
    for el in _runs_content(p):
        tag = el.tag
        if tag == f"{W}t":
            parts.append(el.text or "")
        elif tag in (f"{W}tab", f"{W}ptab"):
            parts.append(" ")
        elif tag == f"{W}br":
            parts.append(_BREAK if el.get(f"{W}type") == "page" else "\n")
        elif tag == f"{W}cr":
            parts.append("\n")
        elif tag == f"{W}lastRenderedPageBreak":
            parts.append(_BREAK)
        elif tag == f"{W}noBreakHyphen":
            parts.append("-")
        elif tag == f"{W}p":  # a text box's own paragraph
            parts.append("\n")
    text = ""
    for part in parts:
        if part is _BREAK:
            _emit(builder, text, heading)
            builder.page_break()
            text = ""
        else:
            text += part  # type: ignore[operator]
    _emit(builder, text, heading)


def _runs_content(p):
    """The paragraph's elements in document order, without the fallback copy of text boxes (Word writes
    each text box twice, as a drawing and as a VML fallback) and without deleted text."""
    stack = [iter(p)]
    while stack:
        el = next(stack[-1], None)
        if el is None:
            stack.pop()
            continue
        if not isinstance(el.tag, str) or el.tag in (_MC_FALLBACK, f"{W}del", f"{W}pPr", f"{W}rPr"):
            continue
        yield el
        stack.append(iter(el))


def _emit(builder: PageBuilder, text: str, heading: bool) -> None:
    if heading:
        builder.heading(text.replace("\n", " "))
    else:
        builder.paragraph(text)


def _notes(document) -> list[str]:
    """'[1] text' for every footnote and endnote (ids 0 and -1 are Word's separator lines)."""
    from lxml import etree

    notes: list[str] = []
    for part in document.part.package.iter_parts():
        name = str(part.partname)
        if not name.endswith(("/footnotes.xml", "/endnotes.xml")):
            continue
        root = etree.fromstring(part.blob, parser=etree.XMLParser(resolve_entities=False, no_network=True))
        for note in root:
            note_id = note.get(f"{W}id", "")
            if not note_id.lstrip("-").isdigit() or int(note_id) < 1:
                continue
            text = " ".join("".join(t.text or "" for t in para.iter(f"{W}t")) for para in note.iter(f"{W}p"))
            if text.strip():
                notes.append(f"[{note_id}] {text.strip()}")
    return notes
