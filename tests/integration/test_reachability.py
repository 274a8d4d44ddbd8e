"""Vector reachability (issue 19, item 3; Chroma #7758): every stored chunk must be found by its own vector.

The unreachable state is built the way the Chroma issue builds it: a collection with Chroma's default HNSW
settings (l2, ef 100), random 384-d vectors, inserts, deletes of half the documents and re-adds of the same
ids, all through docqa's ChunkStore. With docqa's own settings (cosine, ef 200) the same recipe left every
chunk reachable at the sizes a test can afford, so this is the state an older or hand-made index, or a
Chroma that loses links, leaves behind; what matters here is that check finds it and repair removes it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings as ChromaSettings

from rag.backends import chroma_health
from rag.backends.chroma_health import REBUILD_SUFFIX, ReachabilityReport
from rag.backends.chroma_records import collection_fingerprint
from rag.backends.chroma_store import ChunkStore
from rag.core.types import Chunk, DocumentRecord, Strategy
from tests.chroma_server import CHROMA, ChromaServer
from tests.conftest import REPO, SAMPLES, run_cli

DIM = 384
DOCS, PER_DOC = 20, 100  # 2,000 inserts, 1,000 deleted, 600 re-added: ~1% unreachable at top-10


def _client(path: Path):
    return chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))


def _store(path: Path) -> ChunkStore:
    return ChunkStore(_client(path), "docqa", "random-384", DIM, {"sentence": {}})


def _document(d: int) -> tuple[DocumentRecord, dict, dict]:
    vectors = np.random.default_rng(d).standard_normal((PER_DOC, DIM)).astype(np.float32)
    chunks = [
        Chunk(f"d{d}c{i}", f"doc{d}", "sentence", i, f"document {d}, chunk {i}", i, i + 1, f"f{d}.txt", f"T{d}")
        for i in range(PER_DOC)
    ]
    record = DocumentRecord(source=f"f{d}.txt", doc_id=f"doc{d}", chunks={"sentence": PER_DOC})
    return record, {"sentence": chunks}, {c.id: vectors[c.index] for c in chunks}


def _damaged_store(path: Path, verify: bool = False) -> ChunkStore:
    """The issue's pattern through ChunkStore: insert, delete half, re-add the same ids."""
    store = _store(path)
    store._client.create_collection(  # Chroma's default HNSW settings, the docqa fingerprint
        "docqa__sentence", metadata=collection_fingerprint("random-384", DIM, {}), embedding_function=None
    )
    store.verify_writes = verify
    for d in range(DOCS):
        store.replace_document(*_document(d))
    for d in range(0, DOCS, 2):
        store.remove_document(f"f{d}.txt")
    for d in range(0, DOCS, 2)[: int(DOCS * 0.3)]:
        store.replace_document(*_document(d))
    return store


def _snapshot(store: ChunkStore, kind: str = "sentence") -> dict:
    got = store.collection(kind).get(include=["embeddings", "documents", "metadatas"])
    out = {}
    for cid, vec, doc, meta in zip(got["ids"], got["embeddings"], got["documents"], got["metadatas"], strict=True):
        vec = np.asarray(vec, dtype=np.float64)
        out[cid] = (doc, json.dumps(meta, sort_keys=True), vec / np.linalg.norm(vec))
    return out


def _same(a: dict, b: dict) -> bool:
    """Same ids, texts and metadata; same vectors up to Chroma's cosine normalisation."""
    return a.keys() == b.keys() and all(a[k][:2] == b[k][:2] and float(a[k][2] @ b[k][2]) > 1 - 1e-6 for k in a)


def _leftovers(store: ChunkStore) -> tuple[set, list]:
    names = {c.name for c in store._client.list_collections()}
    markers = store._registry().get(where={"kind": "repair"})["ids"]
    return {n for n in names if n.endswith(REBUILD_SUFFIX)}, markers


def test_the_issue_pattern_leaves_unreachable_chunks_that_check_finds_and_repair_fixes(tmp_path):
    store = _damaged_store(tmp_path / "chroma")
    before = _snapshot(store)
    assert len(before) == 1600
    sampled = store.check_reachability("sentence")  # the default: a sample of 200
    assert (sampled.checked, sampled.total) == (200, 1600) and not sampled.full
    report = store.check_reachability("sentence", None)
    assert report.full and report.unreachable, "the recipe left every chunk reachable"
    lost = report.unreachable[0]
    (chunk,), vectors = store.get_chunks("sentence", [lost], with_embeddings=True)  # get() still returns it ...
    assert chunk.id == lost
    assert lost not in {c.id for c, _ in store.query("sentence", vectors[0], 10)}  # ... no query finds it

    collection_id, generation = store.collection("sentence").id, store.generation()
    repaired = store.repair("sentence")
    assert repaired.rebuilt and repaired.unreachable_before == report.unreachable
    assert repaired.ok and repaired.records == 1600
    assert store.check_reachability("sentence", None).ok
    assert _same(before, _snapshot(store))
    assert store.query("sentence", vectors[0], 1)[0][0].id == lost
    # The lexical index compares both: a new collection id and generation make it rebuild.
    assert store.collection("sentence").id != collection_id and store.generation() > generation
    assert _leftovers(store) == (set(), [])
    store.close()
    reopened = _store(tmp_path / "chroma")  # and it stays so in a new client
    assert reopened.check_reachability("sentence", None).ok and _same(before, _snapshot(reopened))
    reopened.close()


def test_recover_after_a_crash_samples_the_collections_and_repairs_a_lost_chunk(tmp_path, monkeypatch):
    store = _store(tmp_path / "chroma")
    store.replace_document(*_document(1))
    store._registry().upsert(  # a kill between the marker and the commit of another document
        ids=["pending:x.txt"],
        embeddings=[[1.0]],
        metadatas=[{"kind": "pending", "source": "x.txt", "doc_id": "docx", "old_doc_id": "", "adding": "[]"}],
        documents=[""],
    )
    seen = []
    real_check, real_repair = ChunkStore.check_reachability, ChunkStore.repair

    def check(self, kind, sample=200, **kw):
        seen.append(sample)
        report = real_check(self, kind, sample, **kw)
        if len(seen) == 1:  # the sampled check after recovery: pretend a chunk is lost
            report.unreachable = ["d1c0"]
        return report

    monkeypatch.setattr(ChunkStore, "check_reachability", check)
    monkeypatch.setattr(ChunkStore, "repair", lambda self, kind, **kw: seen.append("repair") or real_repair(self, kind))
    before = _snapshot(store)
    assert store.recover() == 1
    assert seen[:2] == [200, "repair"] and _same(before, _snapshot(store))
    store.close()


def test_check_passes_on_a_clean_library_and_repair_rebuilds_it_identically_without_embedding(make_app, monkeypatch):
    qa = make_app()
    qa.library.add_paths([SAMPLES / "solar_system_guide.md", SAMPLES / "company_handbook.txt"], [Strategy.SENTENCE])
    (report,) = qa.library.check(full=True)
    assert isinstance(report, ReachabilityReport) and report.ok and report.full and report.total > 50
    before = _snapshot(qa.store)

    def top(mode: str) -> list[str]:
        return [
            h.chunk.id
            for h in qa.retriever.retrieve("How tall is Olympus Mons?", strategy="sentence", mode=mode, k=5).hits
        ]

    dense, lexical = top("dense"), top("lexical")

    def no_embedding(*args, **kwargs):
        raise AssertionError("repair must not embed")

    for name in ("embed", "embed_query"):
        monkeypatch.setattr(qa.embedder, name, no_embedding)
    (repaired,) = qa.library.repair(force=True)
    assert repaired.rebuilt and repaired.ok and not repaired.unreachable_before
    assert _same(before, _snapshot(qa.store))
    monkeypatch.undo()
    assert (top("dense"), top("lexical")) == (dense, lexical)
    (unforced,) = qa.library.repair()  # nothing unreachable: left as it is
    assert not unforced.rebuilt and unforced.ok


def test_repair_interrupted_by_an_exception_mid_copy_loses_nothing(tmp_path, monkeypatch):
    store = _store(tmp_path / "chroma")
    for d in range(3):
        store.replace_document(*_document(d))
    before = _snapshot(store)
    monkeypatch.setattr(chroma_health, "PAGE", 50)
    pages = []
    real_copy = chroma_health.copy_records

    def failing_copy(src, dst, ids):
        real_add = dst.add

        def add(**kw):
            pages.append(1)
            if len(pages) == 3:
                raise OSError("disk full")
            real_add(**kw)

        dst.add = add
        return real_copy(src, dst, ids)

    monkeypatch.setattr(chroma_health, "copy_records", failing_copy)
    with pytest.raises(OSError, match="disk full"):
        store.repair("sentence", force=True)
    assert _same(before, _snapshot(store))  # the live collection was never touched
    store.close()
    reopened = _store(tmp_path / "chroma")
    assert reopened.recover() == 0
    assert _leftovers(reopened) == (set(), []) and _same(before, _snapshot(reopened))
    reopened.close()


# A repair in its own process that SIGKILLs itself at a chosen point of the protocol.
KILLER = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {repo!r})
    import chromadb
    from chromadb.config import Settings
    from rag.backends import chroma_health
    from rag.backends.chroma_store import ChunkStore
    point = sys.argv[2]
    client = chromadb.PersistentClient(path=sys.argv[1], settings=Settings(anonymized_telemetry=False))
    store = ChunkStore(client, "docqa", "random-384", 384, {{"sentence": {{}}}})
    die = lambda: os.kill(os.getpid(), signal.SIGKILL)
    if point == "copy":
        chroma_health.PAGE = 50
        real = chroma_health.copy_records
        def copy(src, dst, ids):
            add = dst.add
            def first_page_then_die(**kw):
                add(**kw)
                die()
            dst.add = first_page_then_die
            return real(src, dst, ids)
        chroma_health.copy_records = copy
    else:
        delete = store._delete_collection
        def deleting(name):
            delete(name)
            if name == "docqa__sentence":
                die()  # the live collection is gone, the copy not yet renamed
        store._delete_collection = deleting
        if point == "renamed":
            swap_marker = store._registry().delete
            def after_rename(ids):
                if ids == ["repair:sentence"]:
                    die()
                swap_marker(ids=ids)
            store._delete_collection = delete
            store._registry().delete = after_rename
    store.repair("sentence", force=True)
    print("finished")
    """
)


@pytest.mark.e2e
@pytest.mark.parametrize("point", ["copy", "swap", "renamed"])
def test_repair_killed_at_each_step_is_finished_or_rolled_back_by_recover(tmp_path, point):
    path = tmp_path / "chroma"
    store = _store(path)
    for d in range(3):
        store.replace_document(*_document(d))
    before = _snapshot(store)
    store.close()
    script = KILLER.format(repo=str(REPO))
    proc = subprocess.run([sys.executable, "-c", script, str(path), point], capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9 and "finished" not in proc.stdout, proc.stderr[-2000:]
    store = _store(path)
    names = {c.name for c in store._client.list_collections()}
    if point == "swap":
        assert "docqa__sentence" not in names  # the kill landed where only the copy holds the chunks
        assert store.repair("sentence").ok  # a new repair first finishes the old one, never drops its copy
    else:
        store.recover()
    assert _leftovers(store) == (set(), [])
    assert _same(before, _snapshot(store))
    assert store.check_reachability("sentence", None).ok
    store.close()


# --- the CLI ----------------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_index_check_and_repair_exit_codes(make_app, cli_env, tmp_path):
    qa = make_app(data_dir=tmp_path / "data", index_dir=tmp_path / "index")
    store = qa.store  # the app's own index, its sentence collection made with Chroma's defaults
    name = store.collection_name("sentence")
    store._client.create_collection(name, metadata=store._fingerprint("sentence"), embedding_function=None)
    col = store.collection("sentence")
    vectors = np.random.default_rng(5).standard_normal((1600, store.dimension)).astype(np.float32)

    def put(ids: range) -> None:
        metas = [{"doc_id": "noise", "strategy": "sentence", "index": i, "start": 0, "end": 1} for i in ids]
        col.add(
            ids=[f"r{i}" for i in ids],
            embeddings=vectors[ids.start : ids.stop : ids.step],
            metadatas=metas,
            documents=[f"noise {i}" for i in ids],
        )

    put(range(1600))
    col.delete(ids=[f"r{i}" for i in range(0, 1600, 2)])
    put(range(0, 1600, 2))
    lost = store.check_reachability("sentence", None).unreachable
    qa.close()
    assert lost, "no unreachable chunk to find"

    found = run_cli("index", "check", "--full", "--json", env=cli_env)
    assert found.returncode == 1, found.stderr
    (collection,) = json.loads(found.stdout)["collections"]
    assert collection["kind"] == "sentence" and set(lost) <= set(collection["unreachable"])
    assert "index repair" in found.stderr and "Traceback" not in found.stderr

    repaired = run_cli("index", "repair", env=cli_env)
    assert repaired.returncode == 0, repaired.stderr
    assert "sentence: rebuilt 1600 chunks" in repaired.stdout and "now all reachable" in repaired.stdout

    clean = run_cli("index", "check", "--full", env=cli_env)
    assert clean.returncode == 0 and "all 1600 of 1600 chunks checked, all reachable" in clean.stdout, clean.stderr

    bad = run_cli("index", "repair", "--strategy", "bogus", env=cli_env)
    assert bad.returncode == 2 and "unknown strategy" in bad.stderr and "Traceback" not in bad.stderr
    down = run_cli("index", "check", env={**cli_env, "DOCQA_CHROMA_HOST": "127.0.0.1", "DOCQA_CHROMA_PORT": "9"})
    assert down.returncode == 2 and "error:" in down.stderr and "Traceback" not in down.stderr


@pytest.mark.server
def test_repair_through_a_chroma_server_keeps_other_clients_working(tmp_path):
    """Server mode: the rename works over HTTP, and a second client (another process sharing the server)
    whose cached collection handle the swap made stale reopens it when it sees the new generation."""
    if not CHROMA.exists():
        pytest.skip(f"the chroma CLI is not installed at {CHROMA}")
    (tmp_path / "server").mkdir()
    server = ChromaServer(tmp_path / "server").start()
    try:
        make = lambda: ChunkStore(  # noqa: E731
            chromadb.HttpClient(
                host=server.host, port=server.port, settings=ChromaSettings(anonymized_telemetry=False)
            ),
            "docqa",
            "random-384",
            DIM,
            {"sentence": {}},
        )
        writer, other = make(), make()
        for d in range(3):
            writer.replace_document(*_document(d))
        before = _snapshot(writer)
        (_, vectors) = other.get_chunks("sentence", ["d1c7"], with_embeddings=True)
        assert other.query("sentence", vectors[0], 1)[0][0].id == "d1c7" and other.list_documents()
        repaired = writer.repair("sentence", force=True)
        assert repaired.rebuilt and repaired.ok and _same(before, _snapshot(writer))
        assert len(other.list_documents()) == 3  # sees the new generation, drops its stale handles
        assert other.query("sentence", vectors[0], 1)[0][0].id == "d1c7"
        assert _leftovers(writer) == (set(), [])
    finally:
        server.stop()
