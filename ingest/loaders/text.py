"""Text and Markdown files: encoding detection, binary rejection, and Markdown headings as sections.

The content decides, not only the name: a `.txt`/`.md` must decode to text, so a binary file renamed to
`.txt` is rejected (`WrongContent`) instead of indexing mojibake. A text file is one page without a number;
its text is kept as written (TABs included) apart from line endings, BOM and NULs.

Decoding order: a byte-order mark decides; else strict UTF-8 (most files, and all ASCII); else
charset-normalizer's guess, where among near-equal guesses the encodings people actually write text in
win (it otherwise likes to call Latin-1 text Baltic cp1257). charset-normalizer is imported with this
module, which the registry imports only when a text file is loaded.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from charset_normalizer import from_bytes

from ingest import quality
from ingest.loaders.common import Extracted, make_page
from ingest.loaders.errors import EmptyDocument, WrongContent

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_MAGIC = ((b"%PDF-", "a PDF"), (b"PK\x03\x04", "a ZIP/Office file"), (b"\x89PNG", "a PNG image"),
          (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"), (b"\x7fELF", "a program"))  # fmt: skip
# Among near-equal guesses, prefer the encodings people actually write text files in.
_PREFERRED = ("utf_8", "utf_16", "utf_16_le", "utf_16_be", "cp949", "euc_kr", "cp1252", "latin_1")
# C0 control characters that text files do not contain (TAB, line breaks, form feed and the ESC of
# coloured logs are fine). Binary data decoded with any single-byte code page is full of them.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
CONTROL_MAX_SHARE = 0.02
_NEWLINES = re.compile(r"\r\n?")


def decode_text(data: bytes) -> tuple[str, list[str]]:
    """Bytes of a text file -> (text with `\\n` line ends, warnings); binary data raises `WrongContent`."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            raise WrongContent(f"binary file, not text (it looks like {kind})")
    text, warnings = _decode(data)
    sample = text[:1_000_000]
    if sample and len(_CONTROL.findall(sample)) > max(2, len(sample) * CONTROL_MAX_SHARE):
        raise WrongContent("binary file, not text")
    text = _NEWLINES.sub("\n", text).replace("\x00", "").removeprefix("\ufeff")
    return text, warnings


def _decode(data: bytes) -> tuple[str, list[str]]:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), []
            except UnicodeDecodeError:
                return data.decode(encoding, errors="replace"), [f"some characters are not valid {encoding}"]
    if b"\x00" not in data:
        try:
            return data.decode("utf-8"), []
        except UnicodeDecodeError:
            pass
    matches = list(from_bytes(data))
    if not matches:
        raise WrongContent("binary file, not text (no text encoding fits)")
    best = matches[0]
    close = [m for m in matches if m.chaos <= best.chaos + 0.1 and m.coherence >= best.coherence - 0.05]
    chosen = min(close, key=lambda m: _PREFERRED.index(m.encoding) if m.encoding in _PREFERRED else 99)
    if b"\x00" in data and not chosen.encoding.startswith(("utf_16", "utf_32")):
        raise WrongContent("binary file, not text")
    return str(chosen), []


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_NOT_PARAGRAPH = re.compile(r"^(?: {4}|\t| {0,3}(?:[>|]|[-+*][ \t]|\d{1,9}[.)][ \t]|<))")


def markdown_headings(text: str) -> list[tuple[int, int, str]]:
    """(offset of the heading line, level, heading text) for ATX and setext headings outside code."""
    headings: list[tuple[int, int, str]] = []
    fence: str | None = None
    para_start, para_lines = -1, []  # the paragraph a setext underline would turn into a heading
    offset = 0
    lines = text.split("\n")
    if lines and lines[0].strip() == "---":  # YAML front matter: its closing '---' is no underline
        for i in range(1, len(lines)):
            if lines[i].strip() in ("---", "..."):
                offset = sum(len(line) + 1 for line in lines[: i + 1])
                lines = lines[i + 1 :]
                break
    for line in lines:
        start, offset = offset, offset + len(line) + 1
        if fence is not None:
            if line.strip().startswith(fence) and set(line.strip()) == {fence[0]}:
                fence = None
            continue
        if m := _FENCE.match(line):
            fence, para_lines = m.group(1), []
            continue
        if m := _ATX.match(line):
            if heading := (m.group(2) or "").strip():
                headings.append((start, len(m.group(1)), heading))
            para_lines = []
            continue
        if para_lines and (m := _SETEXT.match(line)):
            headings.append((para_start, 1 if m.group(1)[0] == "=" else 2, " ".join(para_lines)))
            para_lines = []
            continue
        if not line.strip():
            para_lines = []
        elif para_lines:
            para_lines.append(line.strip())
        elif not _NOT_PARAGRAPH.match(line):
            para_start, para_lines = start, [line.strip()]
    return headings


def load_text(data: bytes, path: Path, *, max_pages: int | None) -> Extracted:
    """The registry's entry for plain text (see ingest/loaders/__init__.py); `max_pages` does not apply."""
    return _load(data, markdown=False)


def load_markdown(data: bytes, path: Path, *, max_pages: int | None) -> Extracted:
    """Plain text plus its headings as sections, and the first level-1 heading as the title."""
    return _load(data, markdown=True)


def _load(data: bytes, *, markdown: bool) -> Extracted:
    text, warnings = decode_text(data)
    if not text.strip():
        raise EmptyDocument("no text: the file holds only whitespace")
    text = text.strip()
    sections: tuple[tuple[int, str], ...] = ()
    title = None
    if markdown:
        headings = markdown_headings(text)
        sections = tuple((offset, heading) for offset, _, heading in headings)
        title = next((h for _, level, h in headings if level == 1), None)
    issues = quality.check_text(text)
    return Extracted([make_page(None, text, issues, sections)], [issues], title, warnings)
