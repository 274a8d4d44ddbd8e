"""Long steps show progress where the user waits (issue 14): a full keyword-index build in the CLI and in
the web UI's chat and uploads. (The first ONNX export's stages: tests/integration/test_embedding_backends.py.)"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import SAMPLES, run_cli
from ui.callbacks import Callbacks


def test_the_cli_says_when_it_builds_the_keyword_index(cli_env):
    ingested = run_cli("ingest", str(SAMPLES / "company_handbook.txt"), "--strategy", "sentence", env=cli_env)
    assert ingested.returncode == 0, ingested.stderr[-2000:]
    lexical = Path(cli_env["DOCQA_INDEX_DIR"]) / "lexical"
    assert lexical.is_dir()
    shutil.rmtree(lexical)  # lost (or an upgrade changed its format): the next question builds it in full

    asked = run_cli("ask", "How many vacation days?", "--strategy", "sentence", "--no-judge", env=cli_env)
    assert asked.returncode == 0, asked.stderr[-2000:]
    assert "building the keyword index (sentence) (" in asked.stderr and " chunks)…" in asked.stderr, asked.stderr
    assert "building the keyword index (sentence): done in" in asked.stderr, asked.stderr

    again = run_cli("ask", "How many vacation days?", "--strategy", "sentence", "--no-judge", env=cli_env)
    assert again.returncode == 0 and "keyword index" not in again.stderr, again.stderr  # loaded, not built

    shutil.rmtree(lexical)
    as_json = run_cli("ask", "How many vacation days?", "--strategy", "sentence", "--json", env=cli_env)
    assert as_json.returncode == 0 and "keyword index" not in as_json.stderr, as_json.stderr
    assert json.loads(as_json.stdout)["answer"]


def test_the_web_chat_shows_a_keyword_index_build_in_its_steps(make_app):
    qa = make_app()
    qa.ingestor.ingest_file(SAMPLES / "solar_system_guide.md", qa.settings.strategies)
    shutil.rmtree(qa.retriever.lexical_folder, ignore_errors=True)
    cb = Callbacks(qa)
    settings = ["parent-child", 6, "hybrid", False, 0.0, [], qa.settings.llm_model, 0.2, 512, True]
    updates = list(cb.chat("What is the hottest planet?", [], [], [], *settings))
    pending = [m["metadata"]["title"] for u in updates if isinstance(u[1], list) for m in u[1] if "metadata" in m]
    assert any(t.startswith("Building the keyword index (parent-child)") for t in pending), pending
    steps_log = next(m["content"] for m in updates[-1][1] if "metadata" in m)
    assert "Building the keyword index (parent-child)…" in steps_log, steps_log
    assert "Venus" in updates[-1][1][-1]["content"]

    again = list(cb.chat("What is the hottest planet?", [], [], [], *settings))
    assert "keyword index" not in json.dumps([str(u) for u in again])  # built once


def test_an_upload_shows_a_full_keyword_index_build_on_its_bar(make_app):
    qa = make_app()
    qa.ingestor.ingest_file(SAMPLES / "solar_system_guide.md", qa.settings.strategies)
    shown: list[tuple[float | None, str]] = []
    copy = Path(qa.settings.resolved_index_dir).parent / "upload" / "company_handbook.txt"
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(SAMPLES / "company_handbook.txt", copy)
    bar = lambda v, desc="": shown.append((v, desc))  # noqa: E731 (gr.Progress's call signature)
    *_, (rows, _) = Callbacks(qa).upload([str(copy)], "parent-child", progress=bar)
    assert "ingested" in rows[0][1]
    built = [d for _, d in shown if d.startswith("Building the keyword index (parent-child)")]
    assert built and built[-1].endswith(" chunks"), shown
