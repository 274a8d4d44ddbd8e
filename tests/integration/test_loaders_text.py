"""Loading text and Markdown files (encodings, headings, line endings), file-type checks, and the quality
checks on extracted text. Real files written into tmp_path; PDFs are in test_loaders.py."""

from __future__ import annotations

import codecs
import os

import pytest

from ingest import quality
from ingest.loaders import (
    SUPPORTED_SUFFIXES,
    LoadError,
    TooLarge,
    UnsupportedFileType,
    WrongContent,
    load_document,
    load_with_pages,
)
from ingest.loaders.text import markdown_headings
from tests.conftest import SAMPLES
from tests.integration.test_loaders import assert_consistent


def test_text_named_pdf_is_not_a_pdf(tmp_path):
    path = tmp_path / "report.pdf"
    path.write_text("This is a plain text file that pretends to be a PDF.\n" * 20)
    with pytest.raises(WrongContent, match=r"^not a PDF"):
        load_document(path)


def test_pdf_header_may_follow_a_little_junk(tmp_path):
    path = tmp_path / "junk-prefixed.pdf"
    path.write_bytes(b"\r\n" * 10 + (SAMPLES / "heat_pumps.pdf").read_bytes())
    doc = load_document(path)
    assert doc.page_count == 3
    assert any(w.startswith("the PDF needed repairs while reading") for w in doc.warnings)


def test_binary_renamed_txt_is_rejected(tmp_path):
    path = tmp_path / "archive.txt"
    path.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(WrongContent, match=r"^binary file, not text"):
        load_document(path)
    png = tmp_path / "image.md"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2000))
    with pytest.raises(WrongContent, match="binary file, not text"):
        load_document(png)


def test_pdf_renamed_txt_says_what_it_is(tmp_path):
    path = tmp_path / "heat_pumps.txt"
    path.write_bytes((SAMPLES / "heat_pumps.pdf").read_bytes())
    with pytest.raises(WrongContent, match="looks like a PDF"):
        load_document(path)


def test_unsupported_suffix_names_the_supported_ones(tmp_path):
    path = tmp_path / "notes.pptx"
    path.write_bytes(b"PK\x03\x04whatever")
    with pytest.raises(UnsupportedFileType) as info:
        load_document(path)
    for suffix in SUPPORTED_SUFFIXES:
        assert suffix in str(info.value)
    bare = tmp_path / "README"
    bare.write_text("hello")
    with pytest.raises(UnsupportedFileType, match="no file extension"):
        load_document(bare)


def test_text_with_terminal_colours_is_still_text(tmp_path):
    path = tmp_path / "build.txt"
    path.write_text("\x1b[32mok\x1b[0m step passed\n" * 50 + "\fPage two of the log\n", encoding="utf-8")
    assert "step passed" in load_document(path).text


def test_byte_limit(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000)
    with pytest.raises(TooLarge, match="over the limit"):
        load_document(path, max_bytes=1000)
    assert load_document(path, max_bytes=10_000).text.startswith("word word")


def test_missing_file(tmp_path):
    with pytest.raises(LoadError, match="file not found"):
        load_document(tmp_path / "nope.txt")


KOREAN = (SAMPLES / "korean_sample.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("encoding", ["cp949", "euc-kr", "utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "utf-8"])
def test_korean_text_in_any_common_encoding(tmp_path, encoding):
    path = tmp_path / f"ko-{encoding}.txt"
    path.write_bytes(KOREAN.encode(encoding))  # utf-16 writes a BOM; -le/-be do not
    doc = load_document(path)
    assert doc.text == KOREAN.strip()
    assert not doc.text.startswith("\ufeff")


def test_short_cp949_text(tmp_path):
    path = tmp_path / "memo.txt"
    path.write_bytes("회의는 내일 오후 3시에 본관 2층 회의실에서 열립니다.\n".encode("cp949"))
    assert load_document(path).text == "회의는 내일 오후 3시에 본관 2층 회의실에서 열립니다."


def test_english_utf16_without_bom(tmp_path):
    text = "Annual leave is 25 days per year.\nUnused days expire on 31 March.\n"
    path = tmp_path / "policy.txt"
    path.write_bytes(text.encode("utf-16-le"))
    assert load_document(path).text == text.strip()


def test_latin1_text_decodes_as_western(tmp_path):
    text = "Café au lait in Zürich, a naïve façade, smørrebrød in Århus and a résumé of déjà vu.\n" * 5
    path = tmp_path / "latin.txt"
    path.write_bytes(text.encode("latin-1"))
    assert load_document(path).text == text.strip()


def test_line_endings_are_normalised(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"first line\r\nsecond line\rthird line\n")
    assert load_document(path).text == "first line\nsecond line\nthird line"


MARKDOWN = """---
title: front matter is not a heading
---
Intro paragraph before any heading.

# Main Title #

Some text with a C# mention and a #hashtag.

Setext Heading
==============

A paragraph.

Second Level
------------

```bash
# a shell comment, not a heading
echo hi
```

- list item
---

## Closing hashes ##
#NoSpace is not a heading
    # indented code is not a heading
### Deep *heading*
"""


def test_markdown_headings_and_offsets(tmp_path):
    path = tmp_path / "guide.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    doc, pages = load_with_pages(path)
    assert_consistent(doc, pages)
    assert doc.text == MARKDOWN.strip()  # the markdown text itself is kept
    assert [h for _, h in doc.sections] == [
        "Main Title",
        "Setext Heading",
        "Second Level",
        "Closing hashes",
        "Deep *heading*",
    ]
    starts = {h: doc.text[o:].split("\n", 1)[0] for o, h in doc.sections}
    assert starts["Main Title"] == "# Main Title #"
    assert starts["Setext Heading"] == "Setext Heading"
    assert starts["Second Level"] == "Second Level"
    assert starts["Closing hashes"] == "## Closing hashes ##"
    assert doc.title == "Main Title"


def test_markdown_levels_and_title_fallback(tmp_path):
    assert [(level, h) for _, level, h in markdown_headings("Title\n===\n\n## Sub\n")] == [(1, "Title"), (2, "Sub")]
    path = tmp_path / "no-h1.markdown"
    path.write_text("## Only a subsection\n\ntext\n", encoding="utf-8")
    doc = load_document(path)
    assert doc.title == "no-h1" and doc.file_type == "md" and doc.sections == ((0, "Only a subsection"),)


def test_markdown_with_crlf_and_bom_keeps_offsets(tmp_path):
    path = tmp_path / "win.md"
    path.write_bytes(codecs.BOM_UTF8 + "# Título\r\n\r\nTexto.\r\n\r\n## Sección dos\r\nMás.\r\n".encode())
    doc = load_document(path)
    assert doc.text == "# Título\n\nTexto.\n\n## Sección dos\nMás."
    assert doc.sections == ((0, "Título"), (doc.text.index("## Sección dos"), "Sección dos"))


def test_garbled_text_file_gets_a_document_warning(tmp_path):
    path = tmp_path / "garbled.txt"
    path.write_text("Normal words here. " + "Mojibake \ufffd\ufffd\ufffd text " * 5, encoding="utf-8")
    doc = load_document(path)
    assert quality.GARBLED_REPLACEMENT in doc.warnings


# --------------------------------------------------------------------------------------------------
# the quality checks and normalisation on their own
# --------------------------------------------------------------------------------------------------

CLEAN = (
    "The heat pump moves heat from a cold place to a warm place. Its efficiency is expressed as the "
    "coefficient of performance, which is typically 3 to 4 at 7 °C. See https://example.org/some/very/long/"
    "path/to/a/document-about-heat-pumps.html for details, or call install_heat_pump_from_configuration()."
)


def kinds(text: str) -> set[str]:
    return {i.kind for i in quality.check_text(text)}


def test_quality_checks_pass_clean_text():
    assert kinds(CLEAN) == set()
    assert kinds(KOREAN) == set()
    toc = "\n".join(f"{i}.{j} Section title {'.' * 40} {i * 10 + j}" for i in range(1, 6) for j in range(1, 6))
    assert kinds(toc) == set()  # dot leaders of a table of contents are not garbage


def test_quality_checks_flag_bad_text():
    assert quality.GARBLED_CID in kinds("(cid:12)(cid:34)(cid:56) (cid:78) some text")
    assert quality.GARBLED_REPLACEMENT in kinds("abc \ufffd\ufffd\ufffd def")
    assert quality.GARBLED_SYMBOLS in kinds("!#%&*+;<>?@^~|" * 10)
    assert quality.MISSING_SPACES in kinds(
        "Thestrangehistoryofthisbook begins here. andnotenoughhigh-levelguidanceabouthowtoprogram."
    )
    (issue,) = quality.check_text("x " * 50 + "Programminglanguagesareformallanguages y")
    assert issue.kind == quality.MISSING_SPACES and "Programminglanguages" in issue.detail


def test_page_ranges_are_merged():
    assert quality.format_pages([3, 4, 5, 9]) == "pages 3–5, 9"
    assert quality.format_pages([7]) == "page 7"
    assert quality.format_pages(list(range(1, 40, 2))).endswith("… (20 pages)")
    no_text = [quality.check_empty_page(True)]
    summary = quality.summarize([(1, []), (3, no_text), (4, no_text), (5, no_text), (8, no_text)])
    assert summary == ["pages 3–5, 8: no text layer (scanned?)"]
    assert quality.page_warnings(3, no_text) == ("page 3: no text layer (scanned?)",)
