"""Issue 19, item 6: Gradio's copies of uploads live inside the index dir and are deleted once a file is
ingested or refused; `/gradio_api/file=` serves no upload; `/documents` gives names, not server paths,
to a default gradio_client. The app runs in-process on a free loopback port (tests/e2e/test_web.py)."""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from pathlib import Path

import httpx

from tests.conftest import SAMPLES
from tests.e2e.test_web import _rows, free_port, serve


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def test_upload_copies_stay_in_the_index_dir_and_go_once_handled(make_app, tmp_path):
    from gradio_client import Client, handle_file

    qa = make_app(port=free_port())
    index = qa.settings.resolved_index_dir
    tag = uuid.uuid4().hex[:8]
    good = tmp_path / f"good_{tag}.md"
    good.write_text((SAMPLES / "solar_system_guide.md").read_text())
    bad = tmp_path / f"bad_{tag}.pdf"
    bad.write_bytes(b"%PDF-1.7\nnot really a pdf\n")
    system_gradio = Path(tempfile.gettempdir()) / "gradio"

    with serve(qa) as client:
        url = f"http://{qa.settings.host}:{qa.settings.port}"
        temp = Path(os.environ["GRADIO_TEMP_DIR"])
        assert temp == (index / "tmp").resolve()

        report, _ = client.predict([handle_file(str(good)), handle_file(str(bad))], "sentence", api_name="/upload")
        rows = {r[0]: r[1] for r in _rows(report)}
        assert "ingested" in rows[good.name] and "failed" in rows[bad.name], rows
        # ingested (docqa keeps its own copy under uploads/) or refused: Gradio's temp copies are gone
        assert not [p for p in _files(temp) if tag in p.name], sorted(_files(temp))
        assert not [p for p in _files(system_gradio) if tag in p.name]  # never written outside the index dir
        stored = Path(qa.store.get_document(good.name).path)
        assert stored.is_file() and stored.is_relative_to((index / "uploads").resolve())

        # The file route serves neither a fresh upload (before any ingest) nor docqa's stored copy.
        raw = httpx.post(f"{url}/gradio_api/upload", files={"files": (f"fresh_{tag}.txt", b"a secret note " * 10)})
        assert raw.status_code == 200, raw.text
        (fresh,) = raw.json()
        assert Path(fresh).resolve().is_relative_to(temp)
        for ref in (fresh, str(stored), str(index / "chroma" / "chroma.sqlite3")):
            got = httpx.get(f"{url}/gradio_api/file={ref}")
            assert got.status_code in (403, 404) and b"a secret note" not in got.content, (ref, got.status_code)
        assert httpx.get(f"{url}/gradio_api/info").status_code == 200  # the app itself still answers

        # /documents: names only, and a default client (download_files on) can call it.
        default = Client(url + "/", verbose=False, analytics_enabled=False)
        docs = default.predict(api_name="/documents")
        assert [d["name"] for d in docs] == [good.name]
        shown = json.dumps(docs)
        assert str(index) not in shown and str(tmp_path) not in shown and "path" not in docs[0]

        assert client.predict(good.name, api_name="/remove")["removed"] is True
        assert not stored.exists()
    assert not [p for p in _files(index / "tmp") if tag in p.name and "fresh" not in p.name]


def test_a_crash_leftover_in_the_temp_dir_is_cleared_at_launch(make_app):
    qa = make_app(port=free_port())
    leftover = qa.settings.resolved_index_dir / "tmp" / "abc123" / "zipbomb.pdf"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"%PDF-1.7 left by a killed server")
    with serve(qa):
        assert not leftover.exists() and not leftover.parent.exists()
