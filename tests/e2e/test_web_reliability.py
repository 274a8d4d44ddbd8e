"""Web-facing reliability and security: concurrent sessions, upload hygiene (names, types, limits,
storage), login on the API, and secrets kept out of answers and logs. The app runs in-process on a free
loopback port (see tests/test_web.py) and is driven with gradio_client."""

from __future__ import annotations

import json
import logging
import shutil
import time
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import httpx
import pytest

from rag.library import MAX_NAME_BYTES, safe_name
from tests.conftest import SAMPLES
from tests.e2e.test_web import PDF, _rows, free_port, serve
from ui.callbacks import Callbacks

ASK_OPTIONS = {"strategy": "parent-child", "judge": False}
QUESTIONS = [
    "How efficient is a heat pump?",
    "What temperatures suit a heat pump?",
    "What is the largest planet in the solar system?",
    "How far is the Earth from the Sun?",
    "How many vacation days do employees get?",
    "What is the policy on remote work?",
]


def _client(url: str, **kwargs):
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False, download_files=False, **kwargs)


def _key(result: dict) -> tuple:
    """What must not change under load: the answer text and the cited files and pages."""
    return result["answer"], [(c["file"], c["page"]) for c in result["citations"]]


# --- 1. concurrency --------------------------------------------------------------------------------
@pytest.mark.slow
def test_twenty_sessions_and_an_upload_get_single_user_answers(make_app):
    """20 sessions (own client each) ask 1–2 questions while a file is uploaded: no errors, every
    answer equals the answer the same question gets alone, and the upload finishes before the chats."""
    from gradio_client import handle_file

    qa = make_app(port=free_port(), cache_enabled=False)
    for name in ("heat_pumps.pdf", "solar_system_guide.md", "company_handbook.txt"):
        assert qa.ingestor.ingest_file(SAMPLES / name, qa.settings.strategies).status == "ingested"
    with serve(qa) as solo:
        url = f"http://{qa.settings.host}:{qa.settings.port}/"
        expected = {}
        for q in QUESTIONS:
            text, result = solo.predict(q, None, ASK_OPTIONS, api_name="/ask")
            assert result["mode"] == "extractive" and text == result["answer"]
            expected[q] = _key(result)
        assert any(cites for _, cites in expected.values())

        def session(i: int) -> list[tuple[str, tuple]]:
            client = _client(url)
            asked = [QUESTIONS[i % len(QUESTIONS)]] + ([QUESTIONS[(i + 1) % len(QUESTIONS)]] if i % 2 else [])
            out = []
            for q in asked:
                _, result = client.predict(q, None, ASK_OPTIONS, api_name="/ask")
                out.append((q, _key(result)))
            return out

        def upload() -> tuple[float, list]:
            time.sleep(1.0)  # let the chats get going first
            report, _ = _client(url).predict(
                [handle_file(str(SAMPLES / "korean_sample.txt"))], "sentence", api_name="/upload"
            )
            return time.perf_counter(), _rows(report)

        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=21) as pool:
            chats = [pool.submit(session, i) for i in range(20)]
            up = pool.submit(upload)
            _done, pending = wait([*chats, up], timeout=300)
            assert not pending, f"{len(pending)} jobs still running after 300 s"
        chats_end = time.perf_counter()
        upload_end, rows = up.result()
        assert "ingested" in rows[0][1], rows
        answers = [pair for job in chats for pair in job.result()]  # re-raises any session's error
        assert len(answers) == 30
        for q, got in answers:
            assert got == expected[q], q
        assert upload_end < chats_end
        print(f"30 answers + upload in {chats_end - t0:.1f} s; upload done {chats_end - upload_end:.1f} s early")


# --- 2. uploads ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\win.ini.txt", "win.ini.txt"),
        ("/abs/path/notes.md", "notes.md"),
        ("a\x00b\x01c\x1f.txt", "abc.txt"),
        ("..", "upload"),
        ("", "upload"),
        (".hidden.txt", "hidden.txt"),
        ("line\nbreak .md", "line break.md"),  # a line break shows as a space (rag.core.names)
        ("한국어 문서.pdf", "한국어 문서.pdf"),
    ],
)
def test_safe_name(raw, expected):
    assert safe_name(raw) == expected


def test_safe_name_caps_long_names_and_keeps_the_extension():
    name = safe_name("x" * 300 + ".pdf")
    assert name.endswith("x.pdf") and len(name.encode()) <= MAX_NAME_BYTES
    name = safe_name("가" * 200 + ".txt")
    assert name.endswith(".txt") and len(name.encode()) <= MAX_NAME_BYTES
    name.encode().decode()  # cut on a character boundary


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_uploads_are_renamed_checked_by_content_limited_and_stored_privately(make_app, tmp_path):
    from gradio_client import handle_file

    qa = make_app(port=free_port(), max_file_mb=0.007, max_pages=2)  # 7.3 KB: the 3-page sample PDF fits
    index = qa.settings.resolved_index_dir
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    odd = incoming / ("odd\x01name " + "n" * 200 + ".txt")  # a control character and a 200+ byte name
    odd.write_text((SAMPLES / "company_handbook.txt").read_text()[:3000])
    pdf_as_txt = incoming / "report.txt"
    shutil.copy(PDF, pdf_as_txt)
    txt_as_pdf = incoming / "notes.pdf"
    txt_as_pdf.write_text("Just plain text that claims to be a PDF. " * 10)
    too_big = incoming / "big.txt"
    too_big.write_text("A sentence of filler text for the size limit. " * 400)  # ~18 KB
    too_long = incoming / "long.pdf"
    shutil.copy(PDF, too_long)  # 3 pages > max_pages=2
    before = _files(tmp_path)

    with serve(qa) as client:
        url = f"http://{qa.settings.host}:{qa.settings.port}"
        # A traversal name sent straight to Gradio's upload route, then ingested under that orig_name.
        raw = httpx.post(
            f"{url}/gradio_api/upload", files={"files": ("../../etc/passwd.txt", b"Root is not here. " * 20)}
        )
        assert raw.status_code == 200, raw.text
        (uploaded,) = raw.json()
        traversal = {"path": uploaded, "orig_name": "../../etc/passwd.txt", "meta": {"_type": "gradio.FileData"}}

        files = [traversal, *(handle_file(str(p)) for p in (odd, pdf_as_txt, txt_as_pdf, too_big, too_long))]
        report, summary = client.predict(files, "sentence", api_name="/upload")
        rows = {r[0]: r for r in _rows(report)}
        assert len(rows) == 6, rows
        for name in rows:
            assert name == safe_name(name) and "/" not in name and "\\" not in name
            assert not any(ord(ch) < 32 for ch in name) and len(name.encode()) <= MAX_NAME_BYTES
        assert "passwd.txt" in rows and "ingested" in rows["passwd.txt"][1]
        odd_name = next(n for n in rows if n.startswith("odd"))
        assert odd_name.endswith("nnn.txt"), odd_name
        assert "ingested" in rows[odd_name][1]
        # type by content, not by extension, each with a clear reason
        assert "failed" in rows["report.txt"][1] and "looks like a PDF" in rows["report.txt"][5]
        assert "failed" in rows["notes.pdf"][1] and "not a PDF" in rows["notes.pdf"][5]
        # limits with clear messages
        assert "failed" in rows["big.txt"][1] and "over the limit of" in rows["big.txt"][5]
        assert "MB" in rows["big.txt"][5]
        assert "failed" in rows["long.pdf"][1] and "3 pages, over the limit of 2" in rows["long.pdf"][5]
        assert "2 ingested" in summary and "4 failed" in summary

        docs = {d["name"]: d for d in client.predict(api_name="/documents")}
        assert set(docs) == {"passwd.txt", odd_name}
        uploads = (index / "uploads").resolve()
        paths = {name: qa.store.get_document(name).path for name in docs}  # /documents gives names only
        for doc in docs.values():
            assert "path" not in doc
            stored = Path(paths[doc["name"]])
            assert stored.is_file() and stored.resolve().is_relative_to(uploads), stored
            assert stored.name == doc["name"]
            # not served: Gradio's file route refuses the stored copy
            for ref in (str(stored), str(stored.resolve())):
                assert httpx.get(f"{url}/gradio_api/file={ref}").status_code in (403, 404)
        assert Path(paths["passwd.txt"]).read_bytes() == b"Root is not here. " * 20

        # Nothing was written outside the index dir (Gradio's temp copies live in INDEX_DIR/tmp and are
        # deleted once handled); failed files left no copy behind.
        new = _files(tmp_path) - before
        assert all(p.resolve().is_relative_to(index.resolve()) for p in new), sorted(new)
        assert {p.name for p in _files(uploads)} == set(docs)

        # Removing a document deletes its stored copy.
        stored = Path(paths["passwd.txt"])
        assert client.predict("passwd.txt", api_name="/remove")["removed"] is True
        assert not stored.exists()


def test_reingest_works_from_the_stored_copy_after_the_upload_cache_is_gone(make_app, tmp_path):
    qa = make_app()
    cache = tmp_path / "gradio-cache" / "abc123"
    cache.mkdir(parents=True)
    shutil.copy(SAMPLES / "solar_system_guide.md", cache / "solar_system_guide.md")
    cb = Callbacks(qa)
    *_, (rows, _) = cb.upload([str(cache / "solar_system_guide.md")], "sentence", progress=lambda *a, **k: None)
    assert "ingested" in rows[0][1]
    shutil.rmtree(cache)  # Gradio clears its cache
    record = qa.store.get_document("solar_system_guide.md")
    assert Path(record.path).is_file()
    assert "up to date" in cb.reingest("solar_system_guide.md", progress=lambda *a, **k: None)

    # A changed file with the same name replaces the old version and its stored copy.
    cache.mkdir(parents=True)
    changed = cache / "solar_system_guide.md"
    changed.write_text((SAMPLES / "solar_system_guide.md").read_text() + "\n\nPluto is a dwarf planet.\n")
    *_, (rows, _) = cb.upload([str(changed)], "sentence", progress=lambda *a, **k: None)
    assert "ingested" in rows[0][1]
    assert not Path(record.path).exists()
    assert Path(qa.store.get_document("solar_system_guide.md").path).is_file()


# --- 3. login --------------------------------------------------------------------------------------
def test_login_guards_the_api_too(make_app):
    from ui.web import launch

    qa = make_app(port=free_port(), auth="alice:s3cret")
    demo = launch(qa, block=False, quiet=True)
    try:
        url = f"http://127.0.0.1:{qa.settings.port}"
        for path in ("/config", "/gradio_api/info", "/gradio_api/info?all_endpoints=true"):
            assert httpx.get(url + path).status_code == 401, path
        call = httpx.post(f"{url}/gradio_api/call/documents", json={"data": []})
        assert call.status_code in (401, 403), call.text
        upload = httpx.post(f"{url}/gradio_api/upload", files={"files": ("a.txt", b"hello")})
        assert upload.status_code in (401, 403), upload.text
        with pytest.raises(Exception):  # noqa: B017 (gradio_client raises its own or httpx errors)
            _client(url + "/").predict(api_name="/documents")
        with pytest.raises(Exception):  # noqa: B017
            _client(url + "/", auth=("alice", "wrong")).predict(api_name="/documents")
        assert _client(url + "/", auth=("alice", "s3cret")).predict(api_name="/documents") == []
    finally:
        demo.close()


# --- 4. secrets ------------------------------------------------------------------------------------
def test_api_key_never_reaches_the_ui_the_api_or_the_logs(make_app, llm, monkeypatch, caplog, capfd):
    from tests.openai_server import Reply

    key = "sk-docqa-test-" + "7f3a9c2e1b" * 3
    monkeypatch.setenv("OPENAI_API_KEY", key)
    qa = make_app(port=free_port(), openai_base_url=llm.base_url, cache_enabled=False)
    assert qa.settings.openai_api_key.get_secret_value() == key
    qa.ingestor.ingest_file(SAMPLES / "solar_system_guide.md", qa.settings.strategies)
    llm.script.default = lambda body: Reply(status=401, error_message=f"bad key {key}")
    caplog.set_level(logging.DEBUG)
    with serve(qa) as client:
        text, result = client.predict("What is the Sun?", None, {"judge": False}, api_name="/ask")
        assert llm.script.requests, ("the LLM server was not called", text, result.get("mode"), result.get("notice"))
        assert result["mode"] != "llm"
        assert key not in text and key not in json.dumps(result)

        # The chat tab's HTML (the same callback the UI's submit runs), streamed steps included.
        cb = Callbacks(qa)
        settings = ["parent-child", 6, "hybrid", False, 0.0, [], qa.settings.llm_model, 0.2, 512, False]
        updates = list(cb.chat("What is the Sun?", [], [], [], *settings))
        shown = json.dumps([[str(v) for v in update] for update in updates], ensure_ascii=False)
        assert "What is the Sun?" in shown and key not in shown

        # The config page the browser loads does not carry it either.
        assert key not in httpx.get(f"http://{qa.settings.host}:{qa.settings.port}/config").text

    out, err = capfd.readouterr()
    assert key not in caplog.text and key not in out and key not in err
    record_text = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records)
    assert key not in record_text
