"""Issue 19, item 1: secrets leave through no channel. A runbook full of credentials is ingested for real
(real MiniLM, Chroma in a tmp dir); every way an answer leaves the Answerer is checked for every secret:
the answer text, sources, citations, the question fields, an off-topic refusal, streamed text, the
semantic cache's stored rows and the logs. The CLI and web JSON are checked in tests/e2e/test_redaction_io.py."""

from __future__ import annotations

import json
import logging
import shutil

import pytest

from rag.answer.answerer import AskOptions
from rag.core.settings import Settings
from rag.core.types import Strategy
from rag.safety.outbound import StreamRedactor
from rag.safety.redact import SECRET_RULES, redact, scrub_secrets
from tests.conftest import SAMPLES

# Each secret in the runbook, by kind of rule that must catch it.
SECRETS = {
    "password is:": "Winter2025-staging",
    "sk- key": "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx1234",
    "AWS access key": "AKIAIOSFODNN7EXAMPLE",
    "AWS secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "GitHub token": "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "bearer token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZXBsb3kifQ.c2lnbmF0dXJlLXNhbXBsZQ",
    "passwd=": "letmein42",
    "pwd:": "Tr0ub4dor&3",
    "private key": "MIIEowIBAAKCAQEAvbRUNBOOKPRIVATE",
}
RUNBOOK = f"""# Deployment runbook for the billing service

The staging database password is: {SECRETS["password is:"]}. Rotate the staging database password every quarter.

Deploy the billing service with the API key {SECRETS["sk- key"]} in the environment.

The AWS access key for backups is {SECRETS["AWS access key"]} and aws_secret_access_key = {SECRETS["AWS secret"]}.

The release pipeline pushes tags with the GitHub token {SECRETS["GitHub token"]} every Friday.

Webhook requests carry the header Authorization: Bearer {SECRETS["bearer token"]} for the billing service.

The legacy FTP mirror still uses passwd={SECRETS["passwd="]} and the router console uses pwd: {SECRETS["pwd:"]} today.

The signing key of the billing service is kept here:

-----BEGIN RSA PRIVATE KEY-----
{SECRETS["private key"]}
-----END RSA PRIVATE KEY-----
"""


def leaked(text: str) -> list[str]:
    return [kind for kind, secret in SECRETS.items() if secret in text]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("redaction")
    docs = root / "docs"
    docs.mkdir()
    (docs / "runbook.md").write_text(RUNBOOK)
    shutil.copy(SAMPLES / "company_handbook.txt", docs / "company_handbook.txt")
    return root


@pytest.fixture(scope="module")
def qa(root, embedder):
    from rag.app import build_app

    settings = Settings(_env_file=None, data_dir=root / "data", index_dir=root / "index", cache_enabled=True)
    app = build_app(settings, embedder=embedder)
    reports = app.library.add_paths([root / "docs"], [Strategy.PARENT_CHILD, Strategy.SENTENCE])
    assert all(r.status == "ingested" for r in reports), [(r.source, r.error) for r in reports]
    # the secrets really are in the store: what the filter has to catch on the way out
    stored = " ".join(c.text for c in app.store.iter_chunks(Strategy.SENTENCE.value))
    assert set(leaked(stored)) == set(SECRETS)
    yield app
    app.close()


def test_every_rule_catches_its_secret():
    cleaned, kinds = redact(RUNBOOK, SECRET_RULES)
    assert leaked(cleaned) == [], cleaned
    assert {"password", "API key", "access token", "private key"} <= set(kinds)
    assert redact(cleaned, SECRET_RULES)[1] == []  # idempotent: a second pass finds nothing
    for ok in ("the password is required to log in", "token: a piece of a word", "Password reset takes 2 days"):
        assert redact(ok, SECRET_RULES)[1] == [], ok


@pytest.mark.parametrize(
    "question",
    [
        "What is the staging database password?",
        "Which API key does the billing service use?",
        "Which AWS access key is used for backups?",
        "How does the release pipeline push tags?",
        "What header do webhook requests carry?",
        "What does the legacy FTP mirror use?",
        "Where is the signing key of the billing service kept?",
    ],
)
def test_answer_sources_and_citations_are_redacted(qa, question):
    answer = qa.answerer.answer(question, options=AskOptions(strategy=Strategy.SENTENCE, judge=True))
    shown = json.dumps(answer.to_dict(), ensure_ascii=False)
    assert answer.mode == "extractive" and answer.sources
    assert leaked(shown) == [], shown
    assert "[REDACTED" in shown  # the passages were shown, with the secret removed
    assert any(s.chunk.source == "runbook.md" for s in answer.sources)
    for c in answer.citations:
        assert not leaked(c.supporting_sentence)
    assert "Safety filter:" in answer.notice


def test_the_stored_chunks_are_untouched_by_redaction(qa):
    qa.answerer.answer("What is the staging database password?", options=AskOptions(strategy=Strategy.SENTENCE))
    stored = " ".join(c.text for c in qa.store.iter_chunks(Strategy.SENTENCE.value))
    assert SECRETS["password is:"] in stored  # redaction copies what it shows, never the index


def test_a_key_typed_in_the_question_is_not_echoed_or_cached(qa):
    key = "sk-live-QUESTIONKEY0123456789abcdef"
    question = f"My key is {key}. How many days of annual leave do employees get?"
    first = qa.answerer.answer(question, options=AskOptions(judge=False))
    again = qa.answerer.answer(question, options=AskOptions(judge=False))
    assert again.cached  # the cache is on and answered the repeat
    for answer in (first, again):
        shown = json.dumps(answer.to_dict(), ensure_ascii=False)
        assert key not in shown and "[REDACTED API key]" in answer.question
    rows = qa.store.collection("cache").get(include=["documents", "metadatas"])
    assert rows["ids"]
    assert key not in json.dumps(rows, ensure_ascii=False)


def test_the_cache_holds_no_secret_from_documents(qa):
    for question in ("What is the staging database password?", "How does the release pipeline push tags?"):
        qa.answerer.answer(question, options=AskOptions(strategy=Strategy.SENTENCE))
    rows = qa.store.collection("cache").get(include=["documents", "metadatas"])
    assert len(rows["ids"]) >= 2
    assert leaked(json.dumps(rows, ensure_ascii=False)) == []


def test_an_off_topic_refusal_returns_no_secret(qa):
    answer = qa.answerer.answer("Who won the 2018 FIFA World Cup?", options=AskOptions(strategy=Strategy.SENTENCE))
    assert answer.mode == "refused"
    assert answer.sources  # the closest passages are still shown...
    assert leaked(json.dumps(answer.to_dict(), ensure_ascii=False)) == []  # ...redacted


def test_streamed_text_never_shows_a_secret(qa):
    deltas = []
    final = None
    for event in qa.answerer.stream("What is the staging database password?", options=AskOptions(judge=False)):
        if event.kind == "delta":
            deltas.append(event.text)
        elif event.kind == "answer":
            final = event.answer
    assert deltas and final is not None
    assert leaked("".join(deltas)) == []
    assert leaked(final.text) == []


def test_a_secret_split_across_stream_pieces_is_held_back_until_redacted():
    text = f"The password is: {SECRETS['password is:']} and the key is {SECRETS['sk- key']} for prod. " * 3
    stream = StreamRedactor(lambda t: redact(t, SECRET_RULES)[0])
    shown = "".join(stream.feed(text[i : i + 3]) for i in range(0, len(text), 3)) + stream.flush()
    assert leaked(shown) == [] and shown == redact(text, SECRET_RULES)[0]


def test_logs_are_scrubbed_of_document_secrets(qa, caplog):
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("docqa.test.redaction")
    log.warning("passage: %s", RUNBOOK)
    log.info("db url postgres://admin:S3cretPw@db.internal/x")
    assert leaked(caplog.text) == [] and "S3cretPw" not in caplog.text
    assert leaked(scrub_secrets(RUNBOOK)) == []
