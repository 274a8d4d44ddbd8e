"""The key store and ingest checks in both deployments: embedded Chroma and a real `chroma run` server.

The server is the `chroma` CLI that ships with the chromadb package, started once per session on a free
loopback port with a tmp persistence folder, and stopped at the end. Each test gets its own collection
base name on it, so tests never see each other's documents. chromadb 1.5's server (Rust) has no
authentication of its own, so the bearer-token path is tested through a loopback reverse proxy that
enforces the token, which is also how a real deployment adds auth.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from rag.backends.chroma_client import make_client
from rag.backends.chroma_store import ChunkStore
from rag.core.errors import FingerprintMismatch, StoreUnavailable
from rag.core.types import ALL_STRATEGIES, Chunk, DocumentRecord, Strategy
from tests.chroma_server import CHROMA, AuthProxy, ChromaServer, free_port
from tests.conftest import REPO, SAMPLES
from tests.e2e.test_ingest import CountingEmbedder, store_consistent


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    if not CHROMA.exists():
        pytest.skip(f"the chroma CLI is not installed at {CHROMA}")
    server = ChromaServer(tmp_path_factory.mktemp("chroma_server")).start()
    yield server
    server.stop()


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.server)])
def mode(request) -> ChromaServer | None:
    """None for the embedded store, else the running server."""
    return request.getfixturevalue("chroma_server") if request.param == "server" else None


@pytest.fixture
def mode_app(mode, make_app):
    """make_app in the parametrized mode; apps made in one test share one store."""
    base = f"t{uuid.uuid4().hex[:12]}"

    def make(components: dict | None = None, **overrides: object):
        if mode is not None:
            overrides = {"chroma_host": mode.host, "chroma_port": mode.port, "collection": base, **overrides}
        qa = make_app(components, **overrides)
        assert bool(qa.settings.chroma_host) == (mode is not None)
        return qa

    return make


@pytest.fixture
def samples(tmp_path) -> Path:
    folder = tmp_path / "docs"
    shutil.copytree(SAMPLES, folder, ignore=shutil.ignore_patterns(".*", "*.py"))
    return folder


# --- the same checks in both modes ------------------------------------------------------------------


def test_ingest_samples(mode_app, samples):
    qa = mode_app()
    reports = qa.ingestor.ingest_paths([samples], ALL_STRATEGIES)
    assert reports and all(r.status == "ingested" for r in reports), [(r.source, r.error) for r in reports]
    assert {d.source for d in qa.store.list_documents()} == {r.source for r in reports}
    for r in reports:
        assert set(r.chunks) == {s.value for s in ALL_STRATEGIES} and all(n > 0 for n in r.chunks.values())
    parent_ids = {c.id for c in qa.store.iter_chunks("parents")}
    assert {c.parent_id for c in qa.store.iter_chunks("parent-child")} <= parent_ids
    store_consistent(qa.store)


def test_unchanged_files_are_skipped(mode_app, samples, embedder):
    counting = CountingEmbedder(embedder)
    qa = mode_app({"embedder": counting})
    first = qa.ingestor.ingest_paths([samples], [Strategy.SENTENCE])
    embedded = counting.texts
    generation = qa.store.generation()
    qa2 = mode_app({"embedder": counting})  # a second app on the same store
    again = qa2.ingestor.ingest_paths([samples], [Strategy.SENTENCE])
    assert [r.status for r in again] == ["unchanged"] * len(first)
    assert counting.texts == embedded and qa.store.generation() == generation
    store_consistent(qa.store)


def test_changed_file_replaces_old_chunks(mode_app, tmp_path):
    doc = tmp_path / "notes.txt"
    doc.write_text("The pump runs at 40 degrees. The fan spins at 900 rpm. The coil is copper.\n")
    qa = mode_app()
    qa.ingestor.ingest_paths([doc], ALL_STRATEGIES)
    old_ids = {c.id for s in ALL_STRATEGIES for c in qa.store.iter_chunks(s.value)}
    doc.write_text("The pump now runs at 55 degrees. A new valve was added in 2024.\n")
    (report,) = qa.ingestor.ingest_paths([doc], ALL_STRATEGIES)
    assert report.status == "ingested"
    texts = " ".join(c.text for c in qa.store.iter_chunks("sentence"))
    assert "55 degrees" in texts and "900 rpm" not in texts
    assert old_ids.isdisjoint({c.id for s in ALL_STRATEGIES for c in qa.store.iter_chunks(s.value)})
    store_consistent(qa.store)


def test_removal(mode_app, samples):
    qa = mode_app()
    qa.ingestor.ingest_paths([samples / "company_handbook.txt", samples / "solar_system_guide.md"], ALL_STRATEGIES)
    generation = qa.store.generation()
    assert qa.store.remove_document("company_handbook.txt")
    assert not qa.store.remove_document("company_handbook.txt")
    assert [d.source for d in qa.store.list_documents()] == ["solar_system_guide.md"]
    assert qa.store.generation() > generation
    for kind in [*(s.value for s in ALL_STRATEGIES), "parents"]:
        assert {c.source for c in qa.store.iter_chunks(kind)} == {"solar_system_guide.md"}
    store_consistent(qa.store)


def test_fingerprint_mismatch(mode_app, samples):
    qa = mode_app()
    qa.ingestor.ingest_paths([samples / "company_handbook.txt"], [Strategy.SENTENCE])
    base = qa.settings.collection
    other = ChunkStore(make_client(qa.settings), base, "intfloat/multilingual-e5-small", 384, {})
    with pytest.raises(FingerprintMismatch, match="--rebuild"):
        other.collection("sentence")
    wider = ChunkStore(make_client(qa.settings), base, qa.embedder.name, 768, qa.store.params)
    with pytest.raises(FingerprintMismatch, match="dimension"):
        wider.collection("sentence")


def test_document_list_follows_other_writers(mode_app, tmp_path):
    """list_documents() is memoised per generation: writes by another store instance still show at once."""
    doc = tmp_path / "x.txt"
    doc.write_text("The pump runs at 40 degrees.\n")
    reader, writer = mode_app(), mode_app()
    assert reader.store.list_documents() == []
    writer.ingestor.ingest_paths([doc], [Strategy.SENTENCE])
    assert [d.source for d in reader.store.list_documents()] == ["x.txt"]
    writer.store.remove_document("x.txt")
    assert reader.store.list_documents() == []


def test_query_asks_for_more_than_there_is(mode_app, embedder):
    qa = mode_app()
    vector = embedder.embed_query("pump temperature")
    assert qa.store.query("sentence", vector, 50) == []  # empty collection
    assert qa.store.query_ids("sentence", vector, 50) == []
    doc = qa.settings.data_dir / "x.txt"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text("The pump runs at 40 degrees. The fan spins at 900 rpm. The coil is copper.\n")
    qa.ingestor.ingest_paths([doc], [Strategy.SENTENCE])
    found = qa.store.query("sentence", vector, 50)
    assert 1 < len(found) == qa.store.count("sentence") < 50
    assert "pump" in found[0][0].text and found[0][1] > found[-1][1]
    assert qa.store.query("sentence", vector, 50, doc_ids=["no-such-doc"]) == []
    ids = qa.store.query_ids("sentence", vector, 50)  # the lazy dense leg: the same ranking, ids only
    assert [(cid, round(cos, 5)) for cid, cos in ids] == [(c.id, round(cos, 5)) for c, cos in found]
    assert qa.store.query_ids("sentence", vector, 50, doc_ids=["no-such-doc"]) == []
    vectors = qa.store.get_vectors("sentence", [ids[0][0], "no-such-id"])
    assert list(vectors) == [ids[0][0]] and float(vectors[ids[0][0]] @ vector) == pytest.approx(ids[0][1], abs=1e-5)


def test_recover_after_injected_failure(mode_app):
    """A batch the store rejects half-way through a document leaves nothing visible; recover() cleans up."""
    qa = mode_app(store_batch_size=4)
    store, dim = qa.store, qa.embedder.dimension
    words = ["One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten"]
    chunks = [Chunk(f"c{i}", "doc1", "sentence", i, w, i, i + 1, "x.txt", "x") for i, w in enumerate(words)]
    vectors = {c.id: np.ones(dim, dtype=np.float32) / np.sqrt(dim) for c in chunks}
    vectors["c9"] = np.ones(7, dtype=np.float32)  # the third batch fails inside Chroma
    record = DocumentRecord(source="x.txt", doc_id="doc1", chunks={"sentence": len(chunks)})
    with pytest.raises(Exception):  # noqa: B017 - Chroma's own error type (local or HTTP)
        store.replace_document(record, {"sentence": chunks}, vectors, batch_size=4)
    assert store.get_document("x.txt") is None
    assert len(list(store.iter_chunks("sentence"))) == 8  # written, but never committed
    fresh = mode_app().store  # e.g. the next process
    assert fresh.recover() == 1
    assert list(fresh.iter_chunks("sentence")) == []
    store_consistent(fresh)


def test_retrieval_and_lexical_index(mode_app, samples):
    qa = mode_app()
    qa.ingestor.ingest_paths(
        [samples / "company_handbook.txt", samples / "solar_system_guide.md"],
        [Strategy.SENTENCE, Strategy.PARENT_CHILD],
    )
    question = "How many days of annual leave do full-time employees get?"
    for strategy in ("sentence", "parent-child"):
        for leg in ("hybrid", "dense", "lexical"):
            hits = qa.retriever.retrieve(question, strategy=strategy, k=3, mode=leg).hits
            assert hits and hits[0].chunk.source == "company_handbook.txt", (strategy, leg)
            assert "25 days" in " ".join(h.chunk.text for h in hits), (strategy, leg)
    lexical = qa.retriever.lexical("sentence")
    assert _size(lexical) == qa.store.count("sentence") > 0  # built from the store's chunks
    assert (qa.settings.resolved_index_dir / "lexical").is_dir()
    # The BM25 index follows the store: after a removal it is rebuilt without that document.
    qa.store.remove_document("company_handbook.txt")
    found = qa.retriever.retrieve(question, strategy="sentence", k=3, mode="lexical").hits
    assert all(h.chunk.source == "solar_system_guide.md" for h in found)
    assert _size(lexical) == qa.store.count("sentence")


def test_semantic_cache_is_shared_by_app_instances(mode_app, samples):
    qa = mode_app()
    qa.ingestor.ingest_paths([samples / "company_handbook.txt"], [Strategy.PARENT_CHILD])
    question = "How many days of annual leave do full-time employees get?"
    first = qa.answerer.answer(question)
    assert not first.cached
    replica = mode_app()  # another process on the same store
    again = replica.answerer.answer("how many days of annual leave do full-time employees get")
    assert again.cached and again.text == first.text
    assert qa.store.collection_name("cache") in {c.name for c in qa.store._client.list_collections()}
    qa.store.remove_document("company_handbook.txt")  # removed through the first instance
    assert not replica.answerer.answer(question).cached


def _size(index) -> int:
    return index.size() if callable(index.size) else index.size


# --- server mode only --------------------------------------------------------------------------------


def test_unreachable_server_is_one_clear_error(make_settings):
    port = free_port()  # nothing listens here
    settings = make_settings(chroma_host="127.0.0.1", chroma_port=port)
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailable, match=f"127.0.0.1:{port}") as err:
        make_client(settings)
    assert time.monotonic() - t0 < 10
    assert "DOCQA_CHROMA_HOST" in str(err.value)


def test_silent_server_times_out(make_settings):
    with socket.socket() as silent:  # accepts connections (kernel backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        settings = make_settings(chroma_host="127.0.0.1", chroma_port=port, chroma_timeout_s=1.0)
        t0 = time.monotonic()
        with pytest.raises(StoreUnavailable, match=rf"127.0.0.1:{port} did not answer within 1 s"):
            make_client(settings)
        assert time.monotonic() - t0 < 10


def test_cli_reports_an_unreachable_server_without_a_traceback(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCQA_")}
    env.update(
        DOCQA_DATA_DIR=str(tmp_path / "data"),
        DOCQA_INDEX_DIR=str(tmp_path / "index"),
        DOCQA_CHROMA_HOST="127.0.0.1",
        DOCQA_CHROMA_PORT=str(port),
        COLUMNS="200",
    )
    doc = tmp_path / "a.txt"
    doc.write_text("Some text.")
    for args in (["docs", "list"], ["ingest", str(doc)]):
        run = subprocess.run(
            [sys.executable, "-m", "ui", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
        )
        assert run.returncode == 2, (args, run.stdout, run.stderr)
        assert f"127.0.0.1:{port}" in run.stderr, run.stderr
        assert "Traceback" not in run.stderr + run.stdout, run.stderr


@pytest.mark.server
def test_auth_token_is_sent_and_enforced(chroma_server, make_app, samples):
    proxy = AuthProxy(chroma_server.port, token="s3cret-token")
    try:
        base = f"t{uuid.uuid4().hex[:12]}"
        qa = make_app(
            chroma_host="127.0.0.1", chroma_port=proxy.port, chroma_auth_token="s3cret-token", collection=base
        )
        (report,) = qa.ingestor.ingest_paths([samples / "solar_system_guide.md"], [Strategy.SENTENCE])
        assert report.status == "ingested"
        assert [d.source for d in qa.store.list_documents()] == ["solar_system_guide.md"]
        assert qa.retriever.retrieve("Which volcano is the largest?", strategy="sentence", k=2).hits
        assert len(proxy.seen) > 5 and set(proxy.seen) == {"Bearer s3cret-token"}  # every request carried it

        for token in ("wrong-token", None):
            settings = make_app(chroma_host="127.0.0.1", chroma_port=proxy.port, chroma_auth_token=token).settings
            with pytest.raises(StoreUnavailable, match=r"refused the credentials \(HTTP 401\).*AUTH_TOKEN"):
                make_client(settings)
    finally:
        proxy.stop()


@pytest.mark.server
def test_losing_the_server_mid_session_is_a_clear_error(chroma_server, make_app):
    proxy = AuthProxy(chroma_server.port, token="t")
    qa = make_app(chroma_host="127.0.0.1", chroma_port=proxy.port, chroma_auth_token="t", chroma_timeout_s=5.0)
    assert qa.store.list_documents() == []
    proxy.stop()  # the server goes away
    with pytest.raises(StoreUnavailable, match=f"127.0.0.1:{proxy.port}"):
        qa.store.list_documents()
