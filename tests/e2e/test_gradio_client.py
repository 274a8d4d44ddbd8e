"""Every named endpoint of the web app through a DEFAULT gradio_client (`Client(url)`: it downloads any
dict with a "path" key, so an endpoint that leaks one fails here), and the MCP server behind DOCQA_MCP."""

from __future__ import annotations

import re
from contextlib import contextmanager

import httpx
import pytest

from tests.conftest import REPO, SAMPLES
from tests.e2e.test_web import free_port

PDF = SAMPLES / "heat_pumps.pdf"
# Every named endpoint this test calls; a new one must be added here (and called below).
ENDPOINTS = {"/ask", "/upload", "/documents", "/remove", "/lab"}


@contextmanager
def serve_default(qa):
    """Launch the UI and yield a gradio_client Client with its defaults (files are downloaded)."""
    from gradio_client import Client

    from ui.web import launch

    demo = launch(qa, block=False, quiet=True)
    try:
        yield Client(f"http://{qa.settings.host}:{qa.settings.port}/", verbose=False, analytics_enabled=False)
    finally:
        demo.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder):
    """One app over a tmp store for the whole module (launching costs seconds). The tests that use it come
    first in this file: Gradio's upload folder is per process (ui/uploads.py), and the MCP tests below
    launch apps of their own."""
    from rag.app import build_app
    from rag.core.settings import Settings

    root = tmp_path_factory.mktemp("client")
    settings = Settings(_env_file=None, data_dir=root / "data", index_dir=root / "index", port=free_port())
    qa = build_app(settings, embedder=embedder)
    try:
        with serve_default(qa) as client:
            yield client
    finally:
        qa.close()


def _rows(table) -> list[list]:
    return table["data"] if isinstance(table, dict) else table


def test_the_named_endpoints_are_the_ones_tested(served):
    names = set(served.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert names == ENDPOINTS, f"untested or missing endpoints: {names ^ ENDPOINTS}"


def test_every_endpoint_with_a_default_client(served):
    from gradio_client import handle_file

    report, summary = served.predict([handle_file(str(PDF))], "all", api_name="/upload")
    row = _rows(report)[0]
    assert row[0] == "heat_pumps.pdf" and "ingested" in row[1] and row[2] == 3
    assert "1 ingested" in summary

    docs = served.predict(api_name="/documents")
    assert [d["name"] for d in docs] == ["heat_pumps.pdf"]
    assert docs[0]["pages"] == 3 and set(docs[0]["chunks"]) == {"sentence", "overlap", "parent-child"}
    assert not any("path" in d for d in docs)  # a "path" key makes the default client download (HTTP 403)

    options = {"k": 3, "strategy": "sentence"}
    text, result = served.predict("How efficient is a heat pump?", None, options, api_name="/ask")
    assert text and result["answer"] == text and result["mode"] == "extractive"
    assert result["citations"][0]["file"] == "heat_pumps.pdf" and result["citations"][0]["page"] in (1, 2, 3)
    assert 1 <= len(result["sources"]) <= 3 and {s["strategy"] for s in result["sources"]} == {"sentence"}

    message, method, table, image, recommendation = served.predict(5, ["sentence"], api_name="/lab")
    assert "sentence" in str(_rows(table)), (message, table)
    assert method and recommendation, (message, method, recommendation)
    assert image is None or str(image).endswith(".png")  # the chart comes back as a downloaded file

    gone = served.predict("heat_pumps.pdf", api_name="/remove")
    assert gone == {"removed": True, "name": "heat_pumps.pdf", "message": "Removed heat_pumps.pdf."}
    assert served.predict(api_name="/documents") == []
    assert served.predict("heat_pumps.pdf", api_name="/remove")["removed"] is False


def test_readme_gradio_client_snippet_runs(served, monkeypatch, capsys):
    from tests.integration.test_readme_api import snippet

    code = snippet("gradio-client").replace("http://127.0.0.1:7860/", served.src)
    monkeypatch.chdir(REPO)  # the snippet uploads data/heat_pumps.pdf
    exec(compile(code, "README.md", "exec"), {})
    printed = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("Loaded as API")]
    assert re.search(r"\('heat_pumps\.pdf', [123]\)", printed[0]), printed
    assert printed[1] == "['heat_pumps.pdf']"
    assert "'removed': True" in printed[2]
    assert served.predict(api_name="/documents") == []


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"strategy": "paragraph"}, "strategy"),
        ({"retrieval_mode": "fuzzy"}, "retrieval_mode"),
        ({"k": 0}, "k"),
        ({"threshold": 3}, "threshold"),
        ({"topk": 3}, "unknown option"),
    ],
)
def test_bad_ask_options_give_a_clear_error(served, options, expected):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as caught:
        served.predict("How efficient is a heat pump?", None, options, api_name="/ask")
    message = str(caught.value)
    assert expected in message and "upstream Gradio app has raised an exception" not in message, message


def test_mcp_server_lists_ask_when_enabled(make_app):
    pytest.importorskip("mcp", reason="Gradio's MCP server needs the `mcp` package (README: MCP)")
    qa = make_app(port=free_port(), mcp=True)
    with serve_default(qa):
        schema = httpx.get(f"http://127.0.0.1:{qa.settings.port}/gradio_api/mcp/schema", timeout=30).json()
    tools = {tool["meta"]["endpoint_name"]: tool for tool in schema}
    assert "ask" in tools, schema
    assert "question" in tools["ask"]["inputSchema"]["properties"]
    assert "Ask a question" in tools["ask"]["description"]


def test_mcp_server_is_off_by_default(make_app):
    qa = make_app(port=free_port())
    with serve_default(qa):
        response = httpx.get(f"http://127.0.0.1:{qa.settings.port}/gradio_api/mcp/schema", timeout=30)
    assert response.status_code == 404 or not response.text.strip().startswith("[")
