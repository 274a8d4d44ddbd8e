"""`docqa ask` streams the answer as the language model writes it (the local OpenAI-compatible server holds
the last word back until the test has seen the first ones), `--no-stream` waits, and `-v` logging shows
index rebuilds but never a secret from the question."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

from tests.conftest import REPO, SAMPLES, run_cli
from tests.openai_server import Reply

FILLER = " ".join(f"word{i}" for i in range(60))  # longer than what the stream redactor holds back
ANSWER = f"The Sun is the star at the centre of the Solar System [1]. {FILLER} FINALWORD"


@pytest.fixture
def llm_env(cli_env, llm):
    """A CLI environment with the local model server configured and one Markdown file ingested."""
    env = {**cli_env, "OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "test-key"}
    ingested = run_cli("ingest", str(SAMPLES / "solar_system_guide.md"), "--strategy", "sentence", env=env)
    assert ingested.returncode == 0, ingested.stderr[-2000:]
    return env


def _read_until(fd: int, needle: bytes, buf: bytearray) -> bool:
    """Read the pipe until `needle` shows up (True) or it closes (False)."""
    while needle not in buf:
        data = os.read(fd, 4096)
        if not data:
            return False
        buf.extend(data)
    return True


def test_ask_streams_the_answer_while_it_is_written(llm_env, llm, tmp_path):
    gate = threading.Event()
    llm.script.default = lambda body: Reply(content=ANSWER, hold_last=gate) if body.get("stream") else Reply("ok")
    stderr = (tmp_path / "stderr.txt").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui", "ask", "What is the Sun?", "--strategy", "sentence", "--no-judge"],
        cwd=REPO,
        env=llm_env,
        stdout=subprocess.PIPE,
        stderr=stderr,
    )
    buf = bytearray()
    try:
        seen = _read_until(proc.stdout.fileno(), b"The Sun is the star", buf)
        # The server has not sent the last word yet: what the CLI printed so far came while generating.
        assert seen and not gate.is_set(), (bytes(buf), stderr.seek(0) or stderr.read()[-2000:])
        assert b"FINALWORD" not in buf and proc.poll() is None
    finally:
        gate.set()
    rest, _ = proc.communicate(timeout=600)
    output = (bytes(buf) + rest).decode()
    assert proc.returncode == 0, stderr.seek(0) or stderr.read()[-2000:]
    assert output.count("FINALWORD") == 1 and output.count("The Sun is the star") == 1  # printed once
    assert output.index("FINALWORD") < output.index("Citations")
    assert "solar_system_guide.md" in output


def test_no_stream_and_json_print_the_whole_answer_once(llm_env, llm):
    llm.script.default = lambda body: Reply(content=ANSWER)
    waited = run_cli("ask", "What is the Sun?", "--strategy", "sentence", "--no-judge", "--no-stream", env=llm_env)
    assert waited.returncode == 0, waited.stderr[-2000:]
    assert waited.stdout.count("FINALWORD") == 1 and "Citations" in waited.stdout

    as_json = run_cli("ask", "What is the Sun?", "--strategy", "sentence", "--no-judge", "--json", env=llm_env)
    assert as_json.returncode == 0, as_json.stderr[-2000:]
    result = json.loads(as_json.stdout)
    assert result["mode"] == "llm" and result["answer"].endswith("FINALWORD")
    assert result["citations"][0]["file"] == "solar_system_guide.md"


def test_bad_option_is_a_usage_error(cli_env):
    bad = run_cli("ask", "What is the Sun?", "--mode", "fuzzy", env=cli_env)
    assert bad.returncode == 2 and "retrieval_mode" in bad.stderr and "Traceback" not in bad.stderr, bad.stderr


def test_verbose_logs_an_index_rebuild_and_never_a_secret(cli_env):
    ingested = run_cli("ingest", str(SAMPLES / "company_handbook.txt"), "--strategy", "sentence", env=cli_env)
    assert ingested.returncode == 0, ingested.stderr[-2000:]
    secret = "sk-proj-" + "Zx8" * 12
    quiet = run_cli("ask", f"my key is {secret}; how many vacation days?", "--strategy", "sentence", env=cli_env)
    loud = run_cli(
        "-v", "index", "repair", "--force", "--strategy", "sentence", env={**cli_env, "DOCQA_LOG_LEVEL": "WARNING"}
    )
    asked = run_cli("-v", "ask", f"my key is {secret}; how many vacation days?", "--strategy", "sentence", env=cli_env)
    assert quiet.returncode == 0 and loud.returncode == 0 and asked.returncode == 0, (loud.stderr, asked.stderr)
    assert "rebuil" in loud.stderr and "sentence" in loud.stderr, loud.stderr  # DEBUG wins over WARNING
    assert "question: my key is" in asked.stderr, asked.stderr  # the question is logged at DEBUG...
    for run in (quiet, loud, asked):
        assert secret not in run.stderr + run.stdout  # ...but never the secret in it
    assert "question:" not in quiet.stderr  # without -v: INFO, no DEBUG lines
