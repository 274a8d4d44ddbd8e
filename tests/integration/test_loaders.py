"""Loading real files: the sample documents, pypdf's own sample PDFs, long and Korean PDFs, and bad files
written into tmp_path. No mocks: every PDF goes through the real pypdf."""

from __future__ import annotations

import hashlib
import io
import os
import time

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject

from ingest import quality
from ingest.loaders import (
    CorruptFile,
    EmptyDocument,
    EncryptedPdf,
    LoadError,
    TooLarge,
    load_document,
    load_with_pages,
    normalize_pdf_text,
    ocr,
    read_pdf_pages,
)
from tests.conftest import SAMPLES, shared

HANGUL = range(0xAC00, 0xD7A4)


def pypdf_sample(*parts: str):
    return shared("pdf", "pypdf_sample_files", *parts)


def hangul_count(text: str) -> int:
    return sum(ord(c) in HANGUL for c in text)


def assert_consistent(doc, pages) -> None:
    """The invariants every later stage relies on."""
    assert doc.text == "\n\n".join(p.text for p in pages)
    assert doc.page_count == len(pages) == len(doc.pages)
    for span, page in zip(doc.pages, pages, strict=True):
        assert span.number == page.number
        assert doc.text[span.start : span.end] == page.text
    for offset, heading in doc.sections:
        assert 0 <= offset < len(doc.text) and heading


def assert_one_line(exc: BaseException) -> None:
    reason = str(exc)
    assert reason and "\n" not in reason and len(reason) <= 240, reason


# --------------------------------------------------------------------------------------------------
# the bundled sample documents (fast)
# --------------------------------------------------------------------------------------------------


def test_sample_pdf_has_three_numbered_pages_with_distinct_facts():
    path = SAMPLES / "heat_pumps.pdf"
    doc, pages = load_with_pages(path)
    assert_consistent(doc, pages)
    assert [p.number for p in doc.pages] == [1, 2, 3]
    assert doc.file_type == "pdf" and doc.page_count == 3
    assert doc.title == "Heat Pumps: A Practical Introduction"  # from the PDF metadata
    assert doc.source == "heat_pumps.pdf"
    assert doc.path == str(path.resolve()) and os.path.isabs(doc.path)
    assert doc.doc_id == hashlib.sha256(path.read_bytes()).hexdigest()[:32]
    assert doc.warnings == ()
    by_page = {span.number: doc.text[span.start : span.end] for span in doc.pages}
    assert "coefficient of performance" in by_page[1] and "Lord Kelvin" in by_page[1]
    assert "boreholes" in by_page[2] and "-25 °C" in by_page[2]
    assert "R-290" in by_page[3] and "12,000 kWh" in by_page[3]
    assert "R-290" not in by_page[1] + by_page[2]


def test_sample_markdown_guide_sections_and_title():
    doc, pages = load_with_pages(SAMPLES / "solar_system_guide.md")
    assert_consistent(doc, pages)
    assert doc.file_type == "md" and doc.page_count == 1 and doc.pages[0].number is None
    assert doc.title == "A Short Guide to the Solar System"
    titles = [h for _, h in doc.sections]
    assert titles[:3] == ["A Short Guide to the Solar System", "The Sun", "The Inner Planets"]
    assert "Jupiter" in titles and "Saturn" in titles  # setext headings
    assert pages[0].sections == doc.sections
    for offset, heading in doc.sections:
        line = doc.text[offset:].split("\n", 1)[0]
        assert heading in line
    assert doc.warnings == ()


def test_sample_text_files_load_as_one_unnumbered_page():
    doc = load_document(SAMPLES / "company_handbook.txt")
    assert doc.file_type == "txt" and doc.title == "company_handbook"
    assert doc.pages[0].number is None and doc.sections == ()
    assert "25 days of annual leave" in doc.text
    ko = load_document(SAMPLES / "korean_sample.txt")
    assert "세종대왕" in ko.text and hangul_count(ko.text) > 300
    assert ko.warnings == ()


# --------------------------------------------------------------------------------------------------
# real-world PDFs from ../shared/data
# --------------------------------------------------------------------------------------------------


def test_multi_page_pdf_numbers_and_spans():
    path = pypdf_sample("004-pdflatex-4-pages", "pdflatex-4-pages.pdf")
    doc, pages = load_with_pages(path)
    assert_consistent(doc, pages)
    assert [s.number for s in doc.pages] == [1, 2, 3, 4]
    starts = [s.start for s in doc.pages]
    assert starts == sorted(starts) and doc.pages[0].start == 0 and doc.pages[-1].end == len(doc.text)
    for previous, span in zip(doc.pages, doc.pages[1:], strict=False):
        assert span.start == previous.end + 2  # pages joined with one blank line
    assert all(p.text for p in pages)
    assert "\t" not in doc.text and "\r" not in doc.text and "\x00" not in doc.text


def test_encrypted_pdf_is_rejected_with_the_password_reason():
    with pytest.raises(EncryptedPdf) as info:
        load_document(pypdf_sample("005-libreoffice-writer-password", "libreoffice-writer-password.pdf"))
    assert str(info.value) == "encrypted PDF: a password is needed"


def test_pdf_encrypted_without_user_password_loads(tmp_path):
    writer = PdfWriter(clone_from=SAMPLES / "heat_pumps.pdf")
    writer.encrypt(user_password="", owner_password="owner-secret", algorithm="AES-256")
    path = tmp_path / "owner-only.pdf"
    with path.open("wb") as fh:
        writer.write(fh)
    doc = load_document(path)
    assert doc.page_count == 3 and "R-290" in doc.text


def test_pdf_with_user_password_is_rejected(tmp_path):
    writer = PdfWriter(clone_from=SAMPLES / "heat_pumps.pdf")
    writer.encrypt(user_password="secret", owner_password="owner-secret", algorithm="AES-128")
    path = tmp_path / "locked.pdf"
    with path.open("wb") as fh:
        writer.write(fh)
    with pytest.raises(EncryptedPdf, match="a password is needed"):
        load_document(path)


def test_unreadable_metadata_pdf_fails_cleanly():
    path = pypdf_sample("017-unreadable-meta-data", "unreadablemetadata.pdf")
    try:
        doc = load_document(path)
    except LoadError as exc:  # pypdf 7.1 cannot walk its page tree: "Invalid object in /Pages"
        assert isinstance(exc, CorruptFile)
        assert str(exc).startswith("unreadable PDF")
        assert_one_line(exc)
    else:  # a newer pypdf may repair it: then it must be a sane document
        assert doc.page_count >= 1 and doc.text


@pytest.mark.parametrize(
    "parts",
    [
        ("007-imagemagick-images", "imagemagick-ASCII85Decode.pdf"),
        ("007-imagemagick-images", "imagemagick-CCITTFaxDecode.pdf"),
        ("007-imagemagick-images", "imagemagick-lzw.pdf"),
        ("019-grayscale-image", "grayscale-image.pdf"),
        ("023-cmyk-image", "cmyk-image.pdf"),
    ],
)
def test_image_only_pdf_is_rejected_as_having_no_text_layer(parts):
    with pytest.raises(EmptyDocument) as info:
        load_document(pypdf_sample(*parts))
    assert str(info.value) == "no extractable text (scanned PDF without a text layer?)"


def test_mostly_image_pdf_loads_with_merged_page_warnings():
    # Six image pages; four also carry the one word "Background" as real text.
    # Pages 4-5 are pictures: with Tesseract, OCR reads them and finds no text; without it they stay
    # "scanned?" and the document says once that OCR is not available.
    doc, pages = load_with_pages(pypdf_sample("007-imagemagick-images", "imagemagick-images.pdf"))
    assert_consistent(doc, pages)
    image_only = quality.OCR_NO_TEXT if ocr.tesseract() else quality.NO_TEXT_LAYER
    assert f"pages 4–5: {image_only}" in doc.warnings
    assert f"pages 1–3, 6: {quality.LITTLE_TEXT}" in doc.warnings
    assert pages[3].warnings == (f"page 4: {image_only}",)


@pytest.mark.parametrize(
    ("name", "title", "phrase"),
    [
        ("wikibook_langchain_sample_flying_car_law.pdf", "하늘을 나는 자동차 관련 법제도", "자동차"),
        # its metadata title is the conference's paper template, so the file stem is used
        ("KorQuAD_2.0_paper.pdf", "KorQuAD_2.0_paper", "기계독해"),
    ],
)
def test_korean_pdf_extracts_hangul(name, title, phrase):
    doc, pages = load_with_pages(shared("pdf", "ko", name))
    assert_consistent(doc, pages)
    assert doc.title == title
    assert phrase in doc.text.replace(" ", "")
    assert hangul_count(doc.text) > 1000
    assert not any("garbled" in w for w in doc.warnings)


def test_thinkpython_run_together_words_are_read_again_per_page():
    path = shared("pdf", "long_en", "thinkpython2.pdf")
    page5, page9 = read_pdf_pages(path, [5, 9])  # the preface (pypdf glues its words); a clean page
    assert page5.number == 5
    assert "Thestrangehistoryofthisbook" in normalize_pdf_text(PdfReader(path).pages[4].extract_text())
    assert "The strange history of this book" in page5.text  # PDFium's second reading
    assert page5.warnings == page9.warnings == ()
    glued = quality.check_text("Thestrangehistoryofthisbook and Anotherwordthatrunstogetherhere too")
    assert glued[0].message().startswith("words run together (missing spaces?)")  # the flag still exists


def test_pdf_tabs_between_words_become_spaces():
    path = shared("pdf", "long_en", "google_prompt_engineering_whitepaper_2024.pdf")
    raw = PdfReader(path).pages[1].extract_text()
    assert "\t" in raw  # pypdf separates words with TABs in this PDF
    (page,) = read_pdf_pages(path, [2])
    assert "\t" not in page.text and page.warnings == ()
    assert " ".join(raw.split()) == " ".join(page.text.split())


@pytest.mark.slow
def test_long_pdf_loads_whole_with_compact_warnings():
    start = time.perf_counter()
    doc, pages = load_with_pages(shared("pdf", "long_en", "thinkpython2.pdf"))
    seconds = time.perf_counter() - start
    assert_consistent(doc, pages)
    assert doc.page_count == 288 and [s.number for s in doc.pages] == list(range(1, 289))
    assert not [w for w in doc.warnings if w.endswith("words run together (missing spaces?)")]  # read again
    blank = [w for w in doc.warnings if w.endswith("empty page (no text)")]  # the book's blank pages
    assert len(blank) == 1 and blank[0].startswith("pages 2, 20, ")  # one merged line, not one per page
    assert seconds < 120, seconds


def test_page_limit_is_enforced_before_extraction():
    path = pypdf_sample("004-pdflatex-4-pages", "pdflatex-4-pages.pdf")
    with pytest.raises(TooLarge) as info:
        load_document(path, max_pages=3)
    assert str(info.value) == "4 pages, over the limit of 3"
    assert load_document(path, max_pages=4).page_count == 4


# --------------------------------------------------------------------------------------------------
# bad files made in tmp_path
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["empty.pdf", "empty.txt", "empty.md"])
def test_zero_byte_file_is_rejected(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(EmptyDocument, match=r"^empty file$"):
        load_document(path)


def test_whitespace_only_text_is_rejected(tmp_path):
    path = tmp_path / "blank.txt"
    path.write_text("  \n\n\t \r\n")
    with pytest.raises(EmptyDocument, match="only whitespace"):
        load_document(path)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "source",
    [
        ("pdf", "pypdf_sample_files", "004-pdflatex-4-pages", "pdflatex-4-pages.pdf"),
        ("pdf", "ko", "KorQuAD_2.0_paper.pdf"),
        ("pdf", "long_en", "thinkpython2.pdf"),
        None,  # the bundled sample PDF
    ],
)
def test_truncated_pdf_fails_cleanly_and_fast(tmp_path, source):
    original = shared(*source) if source else SAMPLES / "heat_pumps.pdf"
    data = original.read_bytes()
    path = tmp_path / "truncated.pdf"
    path.write_bytes(data[: len(data) // 2])
    start = time.perf_counter()
    try:
        doc = load_document(path)
    except LoadError as exc:
        assert isinstance(exc, CorruptFile | EmptyDocument), exc
        assert_one_line(exc)
    else:  # loading what is readable is allowed too
        assert doc.page_count >= 1
    assert time.perf_counter() - start < 30


def test_truncated_pdf_reason_mentions_damage(tmp_path):
    data = (SAMPLES / "heat_pumps.pdf").read_bytes()
    path = tmp_path / "half.pdf"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFile, match=r"^damaged PDF \(truncated or incomplete\?\)"):
        load_document(path)


def _pdf_with_broken_pages(tmp_path, broken: list[int]):
    """The sample PDF rewritten by pypdf with an unterminated string in some pages' content streams."""
    writer = PdfWriter(clone_from=SAMPLES / "heat_pumps.pdf")
    for number in broken:
        stream = DecodedStreamObject()
        stream.set_data(b"BT /F1 12 Tf (Unterminated Tj ET")
        writer.pages[number - 1].replace_contents(stream)
    path = tmp_path / "broken.pdf"
    with path.open("wb") as fh:
        writer.write(fh)
    return path


def test_one_failing_page_becomes_an_empty_page_with_a_warning(tmp_path):
    doc, pages = load_with_pages(_pdf_with_broken_pages(tmp_path, [2]))
    assert_consistent(doc, pages)
    assert pages[1].text == "" and pages[0].text and pages[2].text
    assert pages[1].warnings[0].startswith("page 2: text extraction failed, PdfStreamError")
    assert "page 2: text extraction failed" in doc.warnings


def test_every_page_failing_is_a_corrupt_file(tmp_path):
    with pytest.raises(CorruptFile, match="text extraction failed on every page"):
        load_document(_pdf_with_broken_pages(tmp_path, [1, 2, 3]))


def test_pdf_text_normalisation():
    raw = "Word\tword\x00s\r\nnext  line \r\nthe ﬁrst ﬂoor\xad\n\n\n\nexam-\nple\f"
    assert normalize_pdf_text(raw) == "Word words\nnext line\nthe first floor\n\nexam-\nple"


def test_normalisation_keeps_a_real_pdf_intact():
    data = (SAMPLES / "heat_pumps.pdf").read_bytes()
    raw = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert " ".join(normalize_pdf_text(raw).split()) == " ".join(raw.split())
