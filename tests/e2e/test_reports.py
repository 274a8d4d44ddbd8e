"""Issue 19, items 7 and 8 through `docqa ingest` and `docqa-ingest`: names with terminal escapes or bidi
overrides are cleaned where they are stored and shown; a PDF with JavaScript is ingested with a warning;
unsupported files in a folder are listed as skipped; a byte-identical duplicate is "skipped (same content
as ...)" with exit code 0, not a failure."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from ingest.loaders.pdf import pdf_javascript
from rag.core.names import printable_name
from rag.library import safe_name
from tests.conftest import REPO, SAMPLES, run_cli

ESCAPED = "evil\x1b[2J\x1b[31mname\x1b]0;pwned\x07.md"
BIDI = "invoice\u202etxt.md"


def _js_action() -> DictionaryObject:
    return DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert('hi');")}
    )


def pdf_with_javascript(where: str) -> bytes:
    """heat_pumps.pdf (real text) with JavaScript as an open action or in the document's name tree."""
    writer = PdfWriter(clone_from=str(SAMPLES / "heat_pumps.pdf"))
    if where == "open action":
        writer._root_object[NameObject("/OpenAction")] = _js_action()
    else:
        names = DictionaryObject(
            {NameObject("/Names"): ArrayObject([TextStringObject("x"), writer._add_object(_js_action())])}
        )
        writer._root_object[NameObject("/Names")] = DictionaryObject({NameObject("/JavaScript"): names})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_printable_names():
    assert printable_name(ESCAPED) == "evilname.md"
    assert printable_name(BIDI) == "invoicetxt.md"
    for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\x00\x07\x7f":
        assert printable_name(f"a{ch}b.pdf") == "ab.pdf", repr(ch)
    assert printable_name("보고서 été.pdf") == "보고서 été.pdf"
    assert safe_name(BIDI) == "invoicetxt.md" and safe_name("../\x1b[31mred.txt") == "red.txt"


def test_javascript_is_found_where_a_pdf_keeps_it():
    for where in ("open action", "document names"):
        assert pdf_javascript(PdfReader(io.BytesIO(pdf_with_javascript(where)))) == where
    assert pdf_javascript(PdfReader(str(SAMPLES / "heat_pumps.pdf"))) == ""


def test_folder_ingest_reports_names_javascript_skips_and_duplicates(cli_env, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    text = (SAMPLES / "solar_system_guide.md").read_bytes()
    (folder / "guide.md").write_bytes(text)
    (folder / "guide_copy.md").write_bytes(text)  # byte-identical
    (folder / ESCAPED).write_text("# Escapes\n\nThis file name tries to clear the terminal.\n")
    (folder / BIDI).write_text("# Bidi\n\nThis file name hides its real extension.\n")
    (folder / "scripted.pdf").write_bytes(pdf_with_javascript("open action"))
    (folder / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (folder / "data.xyz").write_text("unsupported")

    run = run_cli("ingest", str(folder), "--strategy", "sentence", env=cli_env)
    seen = run.stdout + run.stderr
    assert run.returncode == 0, seen  # a duplicate and unsupported files are not failures
    assert "\x1b" not in seen and "\u202e" not in seen and "pwned" not in seen
    assert "failed" not in run.stdout
    assert "skipped guide_copy.md (same content as guide.md)" in " ".join(run.stderr.split()), run.stderr
    for name in ("photo.png", "data.xyz"):
        assert f"skipped {name} (unsupported file type" in run.stderr, run.stderr
    assert "contains JavaScript" in " ".join(run.stdout.split())

    script = [sys.executable, "-c", "from ui.cli import ingest_main; ingest_main()"]  # the docqa-ingest entry point
    again = subprocess.run(
        [*script, str(folder), "--strategy", "sentence", "--json"],
        cwd=REPO,
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr
    reports = {r["source"]: r for r in json.loads(again.stdout)}
    assert reports["guide_copy.md"]["status"] == "skipped"
    assert reports["guide_copy.md"]["warnings"] == ["same content as guide.md"]
    assert reports["photo.png"]["status"] == reports["data.xyz"]["status"] == "skipped"
    assert reports["guide.md"]["status"] == "unchanged"
    assert any("JavaScript" in w for w in reports["scripted.pdf"]["warnings"])

    listed = run_cli("docs", "list", "--json", env=cli_env)
    names = {d["source"] for d in json.loads(listed.stdout)}
    assert names == {"guide.md", "evilname.md", "invoicetxt.md", "scripted.pdf"}, names


def test_an_uploaded_duplicate_is_skipped_not_failed(make_app, tmp_path):
    qa = make_app()
    first, second = tmp_path / "a" / "guide.md", tmp_path / "b" / "same guide.md"
    for path in (first, second):
        path.parent.mkdir()
        path.write_bytes((SAMPLES / "solar_system_guide.md").read_bytes())
    assert qa.library.add_upload(first, first.name, ["sentence"]).status == "ingested"
    report = qa.library.add_upload(second, second.name, ["sentence"])
    assert (report.status, report.error, report.warnings) == ("skipped", "", ["same content as guide.md"])
    assert [d.source for d in qa.library.documents()] == ["guide.md"]
    assert not list((qa.library.upload_dir).rglob("same guide.md"))  # no stored copy of the duplicate
