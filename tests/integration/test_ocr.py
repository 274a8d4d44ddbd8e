"""OCR of scanned PDFs with the real Tesseract: text PDFs are rendered to images, written back as image-only
PDFs, ingested through the app (the loader sandbox included) and asked about; the answer must cite the
right page and say the page was read by OCR. Without Tesseract these tests are skipped with the way to
install it, except the ones that check what happens without it (simulated by a PATH that lacks it)."""

from __future__ import annotations

import os

import pytest

from ingest import quality
from ingest.loaders import EmptyDocument, load_with_pages, ocr
from rag.core.types import Strategy
from tests.conftest import SAMPLES, shared
from tests.scans import mixed_pdf, scanned_pdf

requires_tesseract = pytest.mark.skipif(
    ocr.tesseract() is None or ocr.tesseract()[1] != "eng+kor",
    reason="Tesseract with English and Korean is not installed: run `make ocr` "
    "(apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-kor)",
)
HEAT_PUMPS = SAMPLES / "heat_pumps.pdf"


def flying_car_law():
    return shared("pdf", "ko", "wikibook_langchain_sample_flying_car_law.pdf")


@pytest.fixture
def no_tesseract(tmp_path, monkeypatch):
    """A PATH without Tesseract (the worker and the loader look it up on PATH)."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert ocr.tesseract() is None


@requires_tesseract
def test_scanned_pages_are_read_with_their_confidence(tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(scanned_pdf(HEAT_PUMPS))
    doc, pages = load_with_pages(path)
    assert [p.number for p in pages] == [1, 2, 3]
    assert all(p.ocr_confidence is not None and p.ocr_confidence > 0.8 for p in pages)
    assert "vertical loops use boreholes" in " ".join(pages[1].text.split())
    assert pages[0].warnings[0].startswith("page 1: OCR (confidence ") and pages[0].warnings[0].endswith("%)")
    assert doc.warnings[0].startswith("pages 1–3: OCR (confidence ")
    assert [s.ocr_confidence for s in doc.pages] == [p.ocr_confidence for p in pages]


@requires_tesseract
def test_english_scan_is_answered_with_a_citation_to_the_right_page(make_app, tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "heat_pumps_scan.pdf").write_bytes(scanned_pdf(HEAT_PUMPS))
    qa = make_app()
    (report,) = qa.library.add_paths([tmp_path / "docs"], [Strategy.PARENT_CHILD])
    assert report.status == "ingested", report.error
    assert any(w.startswith("pages 1–3: OCR (confidence") for w in report.warnings)
    (record,) = qa.library.documents()
    assert any("OCR (confidence" in w for w in record.warnings)
    answer = qa.answerer.answer("How deep are the boreholes of vertical ground loops?")
    cited = [c for c in answer.citations if c.cited and c.file == "heat_pumps_scan.pdf"]
    assert cited and cited[0].page == 2, [(c.file, c.page, c.supporting_sentence) for c in answer.citations]
    assert cited[0].ocr_confidence is not None
    assert answer.to_dict()["citations"][0]["ocr_confidence"] == cited[0].ocr_confidence
    assert "metres" in answer.text


@requires_tesseract
def test_korean_scan_is_answered_with_a_citation_to_the_right_page(make_app, tmp_path):
    (tmp_path / "docs").mkdir()
    # pages 3-5 of the statute: altitude, speed, routes; the scan's page 2 is the speed law
    (tmp_path / "docs" / "비행자동차법_스캔.pdf").write_bytes(scanned_pdf(flying_car_law(), [3, 4, 5]))
    qa = make_app(safety_level="off")  # the off-topic check would judge a Korean question with English MiniLM
    (report,) = qa.library.add_paths([tmp_path / "docs"], [Strategy.PARENT_CHILD])
    assert report.status == "ingested", report.error
    assert any("OCR (confidence" in w for w in report.warnings)
    answer = qa.answerer.answer("도심에서 비행 자동차의 최대 속도는 얼마인가요?")
    cited = [c for c in answer.citations if c.cited]
    assert cited and cited[0].page == 2, [(c.page, c.supporting_sentence) for c in answer.citations]
    assert "150" in answer.text and cited[0].ocr_confidence is not None


def test_without_tesseract_a_scanned_pdf_fails_saying_how_to_enable_ocr(make_app, tmp_path, no_tesseract):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "scan.pdf").write_bytes(scanned_pdf(HEAT_PUMPS, [1]))
    (report,) = make_app().library.add_paths([tmp_path / "docs"], [Strategy.SENTENCE])
    assert report.status == "failed"
    assert "no extractable text" in report.error and "OCR is not available" in report.error
    assert "apt-get install tesseract-ocr tesseract-ocr-kor" in report.error and "make ocr" in report.error


def test_without_tesseract_text_pages_load_and_the_skip_is_said_once(tmp_path, no_tesseract):
    path = tmp_path / "mixed.pdf"
    path.write_bytes(mixed_pdf(HEAT_PUMPS, 1, scanned_pdf(HEAT_PUMPS, [2, 3])))
    doc, pages = load_with_pages(path)
    assert "How a Heat Pump Works" in pages[0].text and pages[1].text == pages[2].text == ""
    skipped = [w for w in doc.warnings if "OCR is not available" in w]
    assert skipped == [
        "pages 2–3: scanned pages not read: OCR is not available; install Tesseract to read them: "
        "`apt-get install tesseract-ocr tesseract-ocr-kor` or `make ocr`"
    ]


@requires_tesseract
def test_ocr_stops_at_the_time_budget_and_says_which_pages_are_left(tmp_path):
    path = tmp_path / "mixed.pdf"
    path.write_bytes(mixed_pdf(HEAT_PUMPS, 1, scanned_pdf(HEAT_PUMPS, [2, 3])))
    with ocr.time_budget(0):
        doc, pages = load_with_pages(path)
    assert pages[0].text and not pages[1].text
    assert any(w.startswith("pages 2–3: scanned pages not read: the file's time limit ran out") for w in doc.warnings)


@requires_tesseract
def test_a_photograph_page_is_said_to_hold_no_text(tmp_path):
    import io

    from PIL import Image, ImageDraw

    image = Image.new("L", (800, 1000), 255)
    ImageDraw.Draw(image).ellipse((100, 100, 700, 900), fill=90)
    photo = io.BytesIO()
    image.save(photo, "PDF", resolution=100)
    (tmp_path / "photo.pdf").write_bytes(photo.getvalue())
    with pytest.raises(EmptyDocument, match="no extractable text"):
        load_with_pages(tmp_path / "photo.pdf")
    (tmp_path / "mixed.pdf").write_bytes(mixed_pdf(HEAT_PUMPS, 1, photo.getvalue()))
    _doc, pages = load_with_pages(tmp_path / "mixed.pdf")
    assert pages[1].warnings == (f"page 2: {quality.OCR_NO_TEXT}",) and pages[1].ocr_confidence is None


def test_a_tesseract_that_fails_is_a_page_warning_not_a_lost_document(tmp_path, monkeypatch):
    fake = tmp_path / "bin"
    fake.mkdir()
    script = fake / "tesseract"
    script.write_text(
        '#!/bin/sh\nif [ "$1" = --list-langs ]; then echo eng; echo kor; exit 0; fi\necho boom >&2\nexit 3\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}/usr/bin{os.pathsep}/bin")
    path = tmp_path / "mixed.pdf"
    path.write_bytes(mixed_pdf(HEAT_PUMPS, 1, scanned_pdf(HEAT_PUMPS, [2])))
    _doc, pages = load_with_pages(path)
    assert pages[0].text and "page 2: OCR failed, Tesseract failed (exit status 3: boom)" in pages[1].warnings
