"""One handler, set up in one function: levels, plain lines off a terminal, and no secret in any record."""

from __future__ import annotations

import io
import logging

import pytest

from ui.logsetup import HANDLER_NAME, setup_logging


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, {n: logging.getLogger(n).level for n in ("rag", "ingest", "ui")})
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


def test_one_handler_plain_lines_and_levels(restore_logging):
    stream = io.StringIO()
    setup_logging("INFO", stream=stream)
    setup_logging("INFO", stream=stream)  # a second call replaces the handler: records are not doubled
    assert [h.get_name() for h in logging.getLogger().handlers].count(HANDLER_NAME) == 1
    logging.getLogger("rag.backends.bm25").info("lexical index sentence rebuilt: %d chunks", 12)
    logging.getLogger("rag.answer").debug("hidden at INFO")
    logging.getLogger("chromadb").info("other libraries stay at WARNING")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].endswith("INFO    rag.backends.bm25: lexical index sentence rebuilt: 12 chunks")

    stream.truncate(0)
    setup_logging("WARNING", verbose=1, stream=stream)  # -v: docqa's DEBUG, whatever DOCQA_LOG_LEVEL says
    logging.getLogger("rag.answer").debug("shown with -v")
    logging.getLogger("chromadb").debug("still hidden with one -v")
    assert "shown with -v" in stream.getvalue() and "still hidden" not in stream.getvalue()


def test_secrets_are_redacted_from_messages_arguments_and_tracebacks(restore_logging):
    stream = io.StringIO()
    configured = "corp-chroma-token-1234"
    setup_logging("DEBUG", stream=stream, secrets=[configured])
    key = "sk-proj-" + "Q7w" * 12
    log = logging.getLogger("ui.cli")
    log.debug("question: my key is %s", key)
    log.info(f"token {configured} in an f-string")
    try:
        raise RuntimeError(f"server said: bad key {key}")
    except RuntimeError:
        log.exception("request failed")
    text = stream.getvalue()
    assert key not in text and configured not in text
    assert "question: my key is [REDACTED" in text and "Traceback" in text and "server said: bad key [REDACTED" in text


def test_an_unknown_level_is_a_clear_error(restore_logging):
    with pytest.raises(ValueError, match="unknown log level 'LOUD'"):
        setup_logging("LOUD", stream=io.StringIO())
