"""Bad input, real files, the real sandboxed loader: every file is ingested or rejected with one line.

The batch always goes on, the store stays consistent, and the library lists exactly what was ingested.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from rag.core.types import FileReport, Strategy
from tests.conftest import SAMPLES, shared
from tests.e2e.test_ingest import store_consistent
from tests.pathological import (
    cpu_bomb_pdf,
    deep_nesting_pdf,
    memory_bomb_pdf,
    page_tree_cycle_pdf,
    text_page_pdf,
)

SENTENCE = [Strategy.SENTENCE]

# pypdf's sample files that docqa rejects, and why; every other sample PDF must be ingested.
REJECTED_SAMPLES = {
    "005-libreoffice-writer-password/libreoffice-writer-password.pdf": "encrypted PDF: a password is needed",
    "007-imagemagick-images/imagemagick-ASCII85Decode.pdf": "no extractable text",
    "007-imagemagick-images/imagemagick-CCITTFaxDecode.pdf": "no extractable text",
    "007-imagemagick-images/imagemagick-lzw.pdf": "no extractable text",
    "017-unreadable-meta-data/unreadablemetadata.pdf": "unreadable PDF",
    "019-grayscale-image/grayscale-image.pdf": "no extractable text",
    "023-cmyk-image/cmyk-image.pdf": "no extractable text",
}


def one_line(report: FileReport) -> None:
    """A failure reason fit for a table cell: one short line, no traceback, no exception dump."""
    assert report.error, report
    assert "\n" not in report.error and len(report.error) <= 240, report.error
    assert "Traceback" not in report.error and 'File "' not in report.error, report.error


def check_batch(qa, reports: list[FileReport]) -> None:
    for r in reports:
        assert r.status in ("ingested", "unchanged", "failed"), r
        if r.status == "failed":
            one_line(r)
        else:
            assert r.chunks and all(n > 0 for n in r.chunks.values()), r
    ok = {r.source for r in reports if r.status != "failed"}
    assert {d.source for d in qa.store.list_documents()} == ok
    store_consistent(qa.store)


def test_every_sample_pdf_loads_or_is_rejected_with_a_reason(make_app):
    """Loader level, all of pypdf's sample files (fast): the expected verdict for each."""
    root = shared("pdf", "pypdf_sample_files")
    qa = make_app()
    from ingest.loaders import LoadError

    pdfs = sorted(root.rglob("*.pdf"))
    assert len(pdfs) >= 30
    verdicts = {}
    for path in pdfs:
        key = path.relative_to(root).as_posix()
        try:
            doc = qa.loader(path, max_bytes=qa.ingestor.max_bytes, max_pages=qa.ingestor.max_pages)
            assert doc.text.strip() and doc.page_count >= 1
            verdicts[key] = "ok"
        except LoadError as exc:
            assert str(exc) and "\n" not in str(exc)
            verdicts[key] = str(exc)
    for key, verdict in verdicts.items():
        if key in REJECTED_SAMPLES:
            assert REJECTED_SAMPLES[key] in verdict, (key, verdict)
        else:
            assert verdict == "ok", (key, verdict)


@pytest.mark.slow
def test_every_sample_pdf_is_ingested_or_rejected_and_the_store_stays_consistent(make_app):
    """Batch level: ingest the whole folder, twice; the second run redoes nothing."""
    root = shared("pdf", "pypdf_sample_files")
    qa = make_app()
    reports = qa.ingestor.ingest_paths([root], SENTENCE, glob="**/*.pdf")
    assert len(reports) == len(list(root.rglob("*.pdf")))
    by_source = {r.source: r for r in reports}
    for key, reason in REJECTED_SAMPLES.items():
        assert by_source[key].status == "failed" and reason in by_source[key].error, by_source[key]
    for key, r in by_source.items():
        if key not in REJECTED_SAMPLES:
            assert r.status == "ingested", (key, r.error)
    check_batch(qa, reports)
    again = {r.source: r for r in qa.ingestor.ingest_paths([root], SENTENCE, glob="**/*.pdf")}
    for key, r in again.items():
        expected = "failed" if key in REJECTED_SAMPLES else "unchanged"
        assert r.status == expected and r.embedded == 0, r
        if expected == "failed":
            assert r.error == by_source[key].error
    check_batch(qa, list(again.values()))


@pytest.fixture
def bad_batch(tmp_path) -> Path:
    folder = tmp_path / "batch"
    folder.mkdir()
    pdf = (SAMPLES / "heat_pumps.pdf").read_bytes()
    (folder / "truncated.pdf").write_bytes(pdf[: len(pdf) // 2])
    (folder / "header_only.pdf").write_bytes(b"%PDF-1.7\n")
    (folder / "zero.pdf").write_bytes(b"")
    (folder / "zero.txt").write_bytes(b"")
    (folder / "whitespace.md").write_text("   \n\n\t \n")
    (folder / "pdf_named.txt").write_bytes(pdf)  # wrong extension: a PDF called .txt
    (folder / "text_named.pdf").write_text("Just some notes, not a PDF.\n")  # and the reverse
    (folder / "binary.txt").write_bytes(os.urandom(4096))
    (folder / "png.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2048))
    korean = "열펌프는 바깥 공기의 열을 실내로 옮깁니다. 겨울에도 영하 이십도까지 작동합니다. " * 8
    (folder / "korean_cp949.txt").write_bytes(korean.encode("cp949"))
    french = "La pompe à chaleur fonctionne très bien en hiver. Le défi est l'entretien régulier du système. " * 6
    (folder / "french_cp1252.txt").write_bytes(french.encode("cp1252"))
    page_tree_cycle_pdf(folder / "cycle.pdf")
    deep_nesting_pdf(folder / "nested.pdf")
    shutil.copy(SAMPLES / "company_handbook.txt", folder / "good.txt")
    (tmp_path / "report.docx").write_bytes(b"PK\x03\x04" + os.urandom(256))
    (tmp_path / "deck.pptx").write_bytes(b"PK\x03\x04" + os.urandom(256))
    return folder


def test_generated_bad_files_fail_alone_with_one_line_reasons(make_app, bad_batch):
    qa = make_app()
    docx, pptx = bad_batch.parent / "report.docx", bad_batch.parent / "deck.pptx"
    reports = qa.ingestor.ingest_paths([bad_batch, docx, pptx], SENTENCE)
    by = {r.source: r for r in reports}
    expected_failures = {
        "truncated.pdf": "damaged",
        "header_only.pdf": "PDF",
        "zero.pdf": "empty file",
        "zero.txt": "empty file",
        "whitespace.md": "only whitespace",
        "pdf_named.txt": "PDF",
        "text_named.pdf": "not a PDF",
        "binary.txt": "",
        "png.txt": "PNG",
        "cycle.pdf": "cyclic",
        "nested.pdf": "unreadable PDF",
        "report.docx": "damaged Word .docx file",
        "deck.pptx": "unsupported file type '.pptx'",
    }
    for name, reason in expected_failures.items():
        assert by[name].status == "failed", by[name]
        assert reason in by[name].error, (name, by[name].error)
    for name in ("good.txt", "korean_cp949.txt", "french_cp1252.txt"):
        assert by[name].status == "ingested", (name, by[name].error)
    check_batch(qa, reports)
    texts = " ".join(c.text for c in qa.store.iter_chunks("sentence"))
    assert "열펌프는 바깥 공기의 열을" in texts and "très bien en hiver" in texts  # decoded, not mojibake


def test_two_thousand_page_pdf_against_the_page_limit(make_app, tmp_path):
    folder = tmp_path / "long"
    folder.mkdir()
    text_page_pdf(folder / "long.pdf", pages=2000)
    strict = make_app(max_pages=1000, index_dir=tmp_path / "strict")
    (rejected,) = strict.ingestor.ingest_paths([folder], SENTENCE)
    assert rejected.status == "failed" and rejected.error == "2000 pages, over the limit of 1000"
    check_batch(strict, [rejected])
    roomy = make_app(max_pages=3000, index_dir=tmp_path / "roomy")
    (ingested,) = roomy.ingestor.ingest_paths([folder], SENTENCE)
    assert ingested.status == "ingested" and ingested.pages == 2000, ingested.error
    assert ingested.embedded < 10  # 2,000 identical pages: each distinct text is embedded once
    pages = {c.page_start for c in roomy.store.iter_chunks("sentence")}
    assert pages == set(range(1, 2001))
    check_batch(roomy, [ingested])


def test_memory_bomb_fails_alone_and_the_next_file_is_ingested(make_app, tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    memory_bomb_pdf(folder / "a_expands.pdf")
    shutil.copy(SAMPLES / "heat_pumps.pdf", folder / "b_good.pdf")
    qa = make_app(file_memory_mb=768)
    bomb, good = qa.ingestor.ingest_paths([folder], SENTENCE)
    assert bomb.status == "failed" and bomb.error == "ran out of memory (limit 768 MB) while reading"
    assert good.status == "ingested" and good.pages > 1
    check_batch(qa, [bomb, good])


class PidsAtStart:
    """Notes the sandbox's worker pids as each file starts being read."""

    def __init__(self, loader) -> None:
        self.loader, self.pids = loader, {}

    def file_started(self, source, index, total):
        self.pids[source] = self.loader.worker_pids()

    def chunks_planned(self, n):
        pass

    def chunks_embedded(self, n):
        pass

    def file_done(self, report):
        pass


def test_looping_pdf_times_out_its_worker_is_killed_and_the_batch_goes_on(make_app, tmp_path):
    from tests.integration.test_sandbox import gone

    folder = tmp_path / "batch"
    folder.mkdir()
    shutil.copy(SAMPLES / "company_handbook.txt", folder / "a_first.txt")
    cpu_bomb_pdf(folder / "b_spins.pdf")
    shutil.copy(SAMPLES / "solar_system_guide.md", folder / "c_after.md")
    qa = make_app(file_timeout_s=4)
    progress = PidsAtStart(qa.loader)
    read = qa.ingestor.loader

    def noting_read(path, **limits):  # files are read ahead of file_started now: note the pids as each is read
        progress.file_started(path.name, 0, 0)
        return read(path, **limits)

    qa.ingestor.loader = noting_read
    read(SAMPLES / "heat_pumps.pdf")  # a warm worker, reused by whichever file comes first (smallest first)
    first, bomb, after = qa.ingestor.ingest_paths([folder], SENTENCE)
    assert first.status == "ingested" and after.status == "ingested"
    assert bomb.status == "failed" and bomb.error == "timed out after 4 s while reading"
    assert bomb.seconds < 15
    (stuck,) = progress.pids["b_spins.pdf"]  # the reused worker that got the bomb...
    assert gone(stuck, wait_s=1)  # ...was killed, not left spinning
    assert stuck not in qa.loader.worker_pids()
    check_batch(qa, [first, bomb, after])
    qa.loader.close()
