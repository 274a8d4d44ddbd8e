"""Real pathological PDFs, generated with pypdf, that get past pypdf's own safety limits.

pypdf 7 caps every decompression at 75 MB, the tokens of one content stream at 2 M, and Form XObject
invocations at 5,000 per page, so a plain FlateDecode bomb is stopped by the reader itself. These files
stay inside each of those limits and still take hours or gigabytes:

- `memory_bomb_pdf`: a font whose /ToUnicode CMap maps the byte 0x01 to 256 characters, a Form XObject
  that shows 200,000 such bytes (51 M characters of extracted text), and a page that draws that form
  5,000 times: ~256 G characters of text from a ~1.5 KB file. Memory grows by ~50 MB per form call.
- `cpu_bomb_pdf`: a Form XObject of 200,000 empty `() Tj` operators drawn 5,000 times: a ~3 KB file
  that parses 10^9 operators (hours of CPU) while its memory stays flat.

Never load these without the sandbox's limits.
"""

from __future__ import annotations

import io
import zlib
from pathlib import Path

from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, StreamObject


def _flate(writer: PdfWriter, data: bytes, extra: dict | None = None):
    stream = StreamObject()
    stream._data = zlib.compress(data, 9)
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    for key, value in (extra or {}).items():
        stream[NameObject(key)] = value
    return writer._add_object(stream)


def _form(writer: PdfWriter, content: bytes, resources: DictionaryObject):
    box = ArrayObject([NumberObject(0), NumberObject(0), NumberObject(200), NumberObject(200)])
    extra = {"/Type": NameObject("/XObject"), "/Subtype": NameObject("/Form"), "/BBox": box, "/Resources": resources}
    return _flate(writer, content, extra)


def _font(writer: PdfWriter, to_unicode: bytes | None = None) -> DictionaryObject:
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    if to_unicode is not None:
        font[NameObject("/ToUnicode")] = _flate(writer, to_unicode)
    return DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})})


def _page_drawing(writer: PdfWriter, form, calls: int) -> None:
    page = writer.add_blank_page(200, 200)
    xobjects = DictionaryObject({NameObject("/X1"): form})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/XObject"): xobjects})
    page[NameObject("/Contents")] = _flate(writer, b"/X1 Do\n" * calls)


def _bytes(writer: PdfWriter) -> bytes:
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def memory_bomb_pdf(path: Path, glyphs: int = 200_000, fanout: int = 256, calls: int = 5000) -> Path:
    cmap = (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CMapName /Bomb def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<00> <FF>\nendcodespacerange\n"
        f"1 beginbfchar\n<01> <{'0041' * fanout}>\nendbfchar\n"
        "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
    ).encode()
    writer = PdfWriter()
    content = b"BT /F1 12 Tf 10 10 Td (" + b"\x01" * glyphs + b") Tj ET"
    _page_drawing(writer, _form(writer, content, _font(writer, cmap)), calls)
    path.write_bytes(_bytes(writer))
    return path


def cpu_bomb_pdf(path: Path, operators: int = 200_000, calls: int = 5000) -> Path:
    writer = PdfWriter()
    content = b"BT /F1 12 Tf " + b"() Tj " * operators + b"ET"
    _page_drawing(writer, _form(writer, content, _font(writer)), calls)
    path.write_bytes(_bytes(writer))
    return path


def text_page_pdf(path: Path, pages: int, text: bytes = b"A short page about pumps and valves.") -> Path:
    """`pages` pages that share one small content stream showing `text` (a long but cheap PDF)."""
    writer = PdfWriter()
    resources = _font(writer)
    content = _flate(writer, b"BT /F1 12 Tf 20 100 Td (" + text + b") Tj ET")
    for _ in range(pages):
        page = writer.add_blank_page(200, 200)
        page[NameObject("/Resources")] = resources
        page[NameObject("/Contents")] = content
    path.write_bytes(_bytes(writer))
    return path


def page_tree_cycle_pdf(path: Path) -> Path:
    """A page tree whose /Kids lead back to its own root: a reader that follows it naively never stops."""
    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    page[NameObject("/Contents")] = _flate(writer, b"BT /F1 12 Tf 20 100 Td (cycle) Tj ET")
    pages = writer._pages
    middle = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Pages"),
                NameObject("/Kids"): ArrayObject([pages]),
                NameObject("/Count"): NumberObject(1),
                NameObject("/Parent"): pages,
            }
        )
    )
    pages.get_object()[NameObject("/Kids")].append(middle)
    path.write_bytes(_bytes(writer))
    return path


def deep_nesting_pdf(path: Path, depth: int = 200_000) -> Path:
    """A content stream that opens `depth` nested arrays: recursive parsers run out of stack."""
    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    page[NameObject("/Resources")] = _font(writer)
    page[NameObject("/Contents")] = _flate(writer, b"BT /F1 12 Tf " + b"[" * depth + b"]" * depth + b" TJ ET")
    path.write_bytes(_bytes(writer))
    return path
