"""Word, HTML, HWP and HWPX: every real file in ../shared/data/office loads with its words or is refused
with a specific reason; a batch of all of them goes on either way; files made here check what the shared
ones cannot (page breaks, headings, boilerplate, encodings, hostile packages). Real libraries, no mocks."""

from __future__ import annotations

import io
import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ingest.loaders import (
    SUPPORTED_SUFFIXES,
    CorruptFile,
    EmptyDocument,
    EncryptedDocument,
    LoadError,
    TooLarge,
    WrongContent,
    load_with_pages,
    supported_types,
)
from ingest.loaders import blocks as blocks_module
from rag.answer.answerer import AskOptions
from rag.core.types import Strategy
from tests.conftest import REPO, SAMPLES, shared
from tests.scans import scanned_pdf

# Every file of ../shared/data/office: the words it must yield, or the error class and reason it is refused with.
EXPECTED: dict[str, list[str] | tuple[type[LoadError], str]] = {
    "docx/par-known-paragraphs.docx": ["Heading Paragraph", "Normal paragraph"],
    "docx/test.docx": ["python-docx was here"],
    "docx/having-images.docx": (EmptyDocument, "holds only images"),
    "docx/tbl-having-tables.docx": (EmptyDocument, "empty tables"),
    "hwp/표.hwp": ["ABC", "GHI", "UVM", "456"],
    "hwp/각주미주.hwp": ["sssd"],  # the endnote: the file has no body text
    "hwp/구버전(5.0.2.2) Picture 컨트롤.hwp": ["누름틀", "테이블안"],
    "hwp/머리글꼬리글.hwp": ["aaa", "8944454545343434"],
    "hwp/문단번호 1-10 수준.hwp": ["양쪽 정렬", "글머리표", "1. 문단번호"],
    "hwp/blank.hwp": (EmptyDocument, "blank"),
    "hwp/ole.hwp": (EmptyDocument, "objects/images"),
    "hwp/distribution.hwp": (EncryptedDocument, "distribution document"),
    "hwpx/Table.hwpx": ["기말고사", "개똥이 | 89 | 65 | 78", "칠득이 | 77 | 77 | 77"],
    "hwpx/multipara.hwpx": ["김하성", "샌디에이고"],
    "hwpx/no_manifest.hwpx": ["울산광역시", "주민세"],
    "hwpx/프로젝트 계획서.hwpx": ["PROJECT PROPOSAL", "고길동"],
}


def office(*parts: str) -> Path:
    return shared("office", *parts)


def test_the_table_covers_every_shared_office_file():
    found = {f"{p.parent.name}/{p.name}" for p in office().glob("*/*") if p.suffix.lower() in SUPPORTED_SUFFIXES}
    assert found == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shared_office_file_loads_with_its_words_or_is_refused_with_a_reason(name):
    expected = EXPECTED[name]
    path = office(*name.split("/"))
    if isinstance(expected, tuple):
        cls, reason = expected
        with pytest.raises(cls) as err:
            load_with_pages(path)
        assert reason in str(err.value) and "\n" not in str(err.value)
        return
    doc, pages = load_with_pages(path)
    assert doc.file_type == path.suffix[1:]
    for word in expected:
        assert word in doc.text, (word, doc.text[:300])
    assert doc.text == "\n\n".join(p.text for p in pages)
    assert not any(c in doc.text for c in "\x00\x02\ufffd")


def test_batch_of_every_office_file_goes_on_and_says_why_each_failure(make_app):
    qa = make_app(safety_level="off")  # the off-topic check would judge a Korean question with English MiniLM
    reports = qa.library.add_paths([office()], [Strategy.SENTENCE])
    by_name = {r.source: r for r in reports}  # sources are relative to the folder added
    assert by_name.pop("README.txt").status == "ingested"
    assert set(by_name) == set(EXPECTED)
    for name, expected in EXPECTED.items():
        report = by_name[name]
        if isinstance(expected, tuple):
            assert report.status == "failed" and expected[1] in report.error, (name, report.error)
        else:
            assert report.status == "ingested" and report.chunks["sentence"] > 0, (name, report.error)
    answer = qa.answerer.answer("개똥이 국어 점수", options=AskOptions(strategy=Strategy.SENTENCE))
    assert any(s.chunk.source.endswith("Table.hwpx") and "개똥이 | 89" in s.chunk.text for s in answer.sources)


def make_docx(path: Path) -> Path:
    import docx
    from docx.enum.text import WD_BREAK

    document = docx.Document()
    document.core_properties.title = "Heat pump handbook"
    document.add_heading("Heat pump handbook", level=0)
    document.add_heading("1. Choosing a pump", level=1)
    document.add_paragraph("Air-source pumps are the cheapest to install.")
    table = document.add_table(rows=2, cols=3)
    for r, row in enumerate([("Type", "SCOP", "Cost"), ("Ground", "4.5", "high")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    document.add_heading("2. 설치", level=1)
    document.add_paragraph("실외기는 벽에서 30 cm 이상 떨어져야 한다.")
    document.save(path)
    return path


def test_docx_headings_tables_and_page_breaks(tmp_path):
    doc, pages = load_with_pages(make_docx(tmp_path / "handbook.docx"))
    assert doc.title == "Heat pump handbook"
    assert [p.number for p in pages] == [1, 2]
    assert [h for _, h in doc.sections] == ["Heat pump handbook", "1. Choosing a pump", "2. 설치"]
    assert "Type | SCOP | Cost\nGround | 4.5 | high" in pages[0].text
    assert pages[1].text.startswith("2. 설치") and "30 cm" in pages[1].text
    for offset, heading in doc.sections:
        assert doc.text[offset : offset + len(heading)] == heading


PAGE = """<!DOCTYPE html><html><head><meta charset="euc-kr"><title>열펌프 안내</title>
<link rel="stylesheet" href="http://198.51.100.7/site.css"><script src="http://198.51.100.7/t.js">alert(1)</script></head>
<body><header><a href="/">홈</a> <a href="/news">뉴스</a> 로그인</header>
<nav><ul><li><a href="/a">메뉴 하나</a></li><li><a href="/b">메뉴 둘</a></li></ul></nav>
<div class="toc"><a href="#s1">목차 하나</a> <a href="#s2">목차 둘</a></div>
<main><h1>열펌프 안내<a class="anchor" href="#top">#</a></h1><p>열펌프는 바깥 공기의 열을 <b>실내로</b> 옮긴다.</p>
<img src="http://198.51.100.7/photo.jpg" alt="photo"><iframe src="http://198.51.100.7/ad"></iframe>
<h2>효율</h2><p>계절 성능 계수는 보통 3에서 4 사이다.<br>지열식은 더 높다.</p>
<table><tr><th>종류</th><th>SCOP</th></tr><tr><td>공기열</td><td>3.2</td></tr></table>
<pre>line one
    line two</pre></main>
<aside>많이 본 기사</aside><footer>Copyright 2024 회사소개</footer></body></html>"""


def test_html_main_text_headings_and_no_network(tmp_path, monkeypatch):
    path = tmp_path / "page.html"
    path.write_bytes(PAGE.encode("euc-kr"))

    def refuse(*args, **kwargs):
        raise AssertionError("the HTML loader tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    doc, _pages = load_with_pages(path)
    assert doc.title == "열펌프 안내" and doc.file_type == "html"
    assert [h for _, h in doc.sections] == ["열펌프 안내", "효율"]
    text = doc.text
    assert "열펌프는 바깥 공기의 열을 실내로 옮긴다." in text
    assert "계절 성능 계수는 보통 3에서 4 사이다.\n지열식은 더 높다." in text
    assert "종류 | SCOP\n공기열 | 3.2" in text
    assert "line one\n    line two" in text
    for boilerplate in ("뉴스", "메뉴", "목차", "많이 본", "Copyright", "alert", "#"):
        assert boilerplate not in text


def test_html_without_declared_charset_and_binary_renamed(tmp_path):
    plain = tmp_path / "plain.htm"
    plain.write_text("<p>Heat pumps move heat.</p><p>They last 20 years.</p>", encoding="utf-8")
    doc, _ = load_with_pages(plain)
    assert doc.text == "Heat pumps move heat.\n\nThey last 20 years." and doc.title == "plain"
    fake = tmp_path / "fake.html"
    fake.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 4)
    with pytest.raises(WrongContent):
        load_with_pages(fake)
    empty = tmp_path / "nav.html"
    empty.write_text("<nav><a href='/'>home</a></nav><footer>(c)</footer>", encoding="utf-8")
    with pytest.raises(EmptyDocument, match="no readable main text"):
        load_with_pages(empty)


def test_hostile_and_wrong_packages_fail_with_specific_reasons(tmp_path):
    def write(name: str, data: bytes) -> Path:
        (tmp_path / name).write_bytes(data)
        return tmp_path / name

    good = office("hwpx", "Table.hwpx").read_bytes()
    encrypted = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(encrypted, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "META-INF/manifest.xml":  # what Hancom writes for a password-protected file
                data = (
                    b'<odf:manifest xmlns:odf="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
                    b'<odf:file-entry odf:full-path="Contents/section0.xml"><odf:encryption-data/></odf:file-entry>'
                    b"</odf:manifest>"
                )
            dst.writestr(item, data)
    cases = {
        "old.hwp": (b"HWP Document File V3.00 \x1a\x01\x02\x03\x04\x05" + b"\0" * 200, WrongContent, "HWP 3.0"),
        "random.hwp": (bytes(range(256)) * 8, WrongContent, "not an HWP file"),
        "cut.hwp": (office("hwp", "표.hwp").read_bytes()[:3000], CorruptFile, "damaged HWP document"),
        "locked.hwpx": (encrypted.getvalue(), EncryptedDocument, "password-protected HWPX"),
        "text.docx": (b"just some text, not a package\n" * 10, WrongContent, "not a ZIP package"),
        "cut.docx": (office("docx", "test.docx").read_bytes()[:5000], CorruptFile, "damaged"),
        "legacy.docx": (blocks_module.OLE_MAGIC + b"\0" * 600, WrongContent, "old binary Office file"),
    }
    for name, (data, cls, reason) in cases.items():
        with pytest.raises(cls) as err:
            load_with_pages(write(name, data))
        assert reason in str(err.value), (name, str(err.value))


def test_zip_bomb_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(blocks_module, "MAX_UNZIPPED_BYTES", 10_000_000)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", b"<w/>" + b" " * 20_000_000)
    (tmp_path / "bomb.docx").write_bytes(bomb.getvalue())
    with pytest.raises(TooLarge, match="expands to"):
        load_with_pages(tmp_path / "bomb.docx")


def test_new_types_are_listed_and_importing_the_registry_stays_cheap():
    assert {".docx", ".html", ".htm", ".hwp", ".hwpx"} <= SUPPORTED_SUFFIXES
    assert "Word (.docx)" in supported_types(suffixes=True) and "HWPX" in supported_types()
    code = (
        "import sys, ingest.loaders; heavy = {'docx', 'hwpx', 'lxml', 'pypdfium2', 'pypdf', 'charset_normalizer'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"


def test_web_upload_of_docx_hwpx_html_and_a_scan_ingests_each_and_lists_it(make_app, tmp_path):
    """The web UI's upload callback (what Gradio calls) stores every new kind of file; the scanned PDF
    goes through OCR and needs Tesseract, so that part is skipped without it."""
    from ui.callbacks import Callbacks

    uploads = tmp_path / "uploads"
    uploads.mkdir()
    paths = [make_docx(uploads / "handbook.docx"), uploads / "Table.hwpx", uploads / "page.html"]
    paths[1].write_bytes(office("hwpx", "Table.hwpx").read_bytes())
    paths[2].write_bytes(PAGE.encode("euc-kr"))
    tesseract = shutil.which("tesseract")
    if tesseract:
        paths.append(uploads / "heat_pumps_scan.pdf")
        paths[3].write_bytes(scanned_pdf(SAMPLES / "heat_pumps.pdf", pages=[2]))
    qa = make_app()
    *_, (rows, summary) = Callbacks(qa).upload([str(p) for p in paths], "sentence", progress=lambda *a, **k: None)
    names = [p.name for p in paths]
    assert [row[0] for row in rows] == names
    for row in rows:
        assert row[1].endswith("ingested") and not row[5], row
    assert f"{len(names)} ingested" in summary, summary
    records = {r.source: r for r in qa.library.documents()}
    assert set(records) == set(names)
    assert all(r.chunks.get("sentence", 0) > 0 for r in records.values())
    assert {records[n].file_type for n in names[:3]} == {"docx", "hwpx", "html"}
    if not tesseract:
        pytest.skip(
            "the scanned-PDF part needs Tesseract (apt-get install tesseract-ocr tesseract-ocr-eng); "
            "docx, hwpx and html were uploaded and checked"
        )
    scan = records["heat_pumps_scan.pdf"]
    assert scan.file_type == "pdf" and any("OCR (confidence" in w for w in scan.warnings), scan.warnings
