"""Issue 19, items 1 and 2 through the interfaces: `docqa ask` (text and --json) and the web `/ask` API
print no secret from a document or a question, and `ask --doc A` is never answered from an entry cached
for another document (the semantic cache is shared by every process over the same index)."""

from __future__ import annotations

import json

from rag.core.types import Strategy
from tests.conftest import SAMPLES, run_cli
from tests.e2e.test_web import free_port, serve
from tests.integration.test_redaction import RUNBOOK, leaked

QUESTION_KEY = "sk-live-CLIQUESTIONKEY0123456789abc"


def _docs(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "runbook.md").write_text(RUNBOOK)
    (folder / "handbook.txt").write_text((SAMPLES / "company_handbook.txt").read_text())
    return folder


def test_cli_ask_prints_no_secret_as_text_or_json(cli_env, tmp_path):
    env = {**cli_env, "DOCQA_CACHE_ENABLED": "true"}
    ingested = run_cli("ingest", str(_docs(tmp_path)), "--strategy", "sentence", env=env)
    assert ingested.returncode == 0, ingested.stderr
    question = f"My key is {QUESTION_KEY}. What is the staging database password?"
    for _ in range(2):  # the second answer comes from the cache: the same check applies
        as_json = run_cli("ask", question, "--strategy", "sentence", "--json", env=env)
        assert as_json.returncode == 0, as_json.stderr
        result = json.loads(as_json.stdout)
        assert any(s["file"] == "runbook.md" for s in result["sources"])
        everything = as_json.stdout + as_json.stderr
        assert leaked(everything) == [] and QUESTION_KEY not in everything, everything
        assert "[REDACTED" in json.dumps(result["sources"])
    assert result["cached"] is True
    text = run_cli("ask", "How does the release pipeline push tags?", "--strategy", "sentence", env=env)
    assert text.returncode == 0, text.stderr
    assert "runbook.md" in text.stdout  # the passage table is printed...
    assert leaked(text.stdout + text.stderr) == []  # ...without the token


def test_web_ask_api_returns_no_secret(make_app, tmp_path):
    qa = make_app(port=free_port(), cache_enabled=True)
    runbook = tmp_path / "runbook.md"
    runbook.write_text(RUNBOOK)
    assert qa.library.add_upload(runbook, "runbook.md", [Strategy.PARENT_CHILD]).status == "ingested"
    with serve(qa) as client:
        for question in (f"{QUESTION_KEY} what is the staging database password?", "Who won the 2018 FIFA World Cup?"):
            text, result = client.predict(question, None, {"judge": False}, api_name="/ask")
            shown = text + json.dumps(result, ensure_ascii=False)
            assert result["sources"], result
            assert leaked(shown) == [] and QUESTION_KEY not in shown, shown


def test_ask_doc_is_never_answered_from_another_documents_cache(cli_env, tmp_path, embedder):
    """Item 2: the answer cached for document B (or the whole library) must not be served to a question
    limited to document A, in a later process over the same index."""
    from rag.answer.answerer import AskOptions
    from rag.app import build_app
    from rag.core.settings import Settings

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "secrets_doc.md").write_text(
        "# Vault rotation\n\nThe vault is rotated every 30 days by the security team. Rotation is logged.\n"
    )
    (folder / "public_doc.md").write_text(
        "# Office rotation\n\nThe office plants are rotated every 7 days by the facilities team.\n"
    )
    question = "How often is it rotated?"
    settings = Settings(
        _env_file=None, data_dir=cli_env["DOCQA_DATA_DIR"], index_dir=cli_env["DOCQA_INDEX_DIR"], cache_enabled=True
    )
    with build_app(settings, embedder=embedder) as qa:  # the same index the CLI opens below
        qa.library.add_paths([folder], [Strategy.SENTENCE])
        for scope in (None, ["public_doc.md"]):  # cached: the whole library, and document B
            opts = AskOptions(strategy=Strategy.SENTENCE, judge=False, documents=scope)
            qa.answerer.answer(question, options=opts)
            assert qa.answerer.answer(question, options=opts).cached  # the cache is on and keyed per filter

    env = {**cli_env, "DOCQA_CACHE_ENABLED": "true"}
    done = run_cli(
        "ask", question, "--strategy", "sentence", "--no-judge", "--json", "--doc", "secrets_doc.md", env=env
    )
    assert done.returncode == 0, done.stderr
    secret = json.loads(done.stdout)
    assert secret["cached"] is False
    assert {s["file"] for s in secret["sources"]} == {"secrets_doc.md"}
    assert "30 days" in secret["answer"] and "7 days" not in secret["answer"]
