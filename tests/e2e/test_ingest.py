"""Ingestion end to end: real loaders, real MiniLM, real Chroma in a tmp dir."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from rag.backends.chroma_client import make_client
from rag.backends.chroma_store import ChunkStore
from rag.core.errors import FingerprintMismatch
from rag.core.types import ALL_STRATEGIES, PARENTS, DocumentRecord, Strategy
from tests.conftest import REPO, SAMPLES, run_cli, shared


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner):
        self.inner, self.name, self.texts = inner, inner.name, 0

    def warm_up(self):
        self.inner.warm_up()

    @property
    def dimension(self):
        return self.inner.dimension

    def embed(self, texts):
        self.texts += len(texts)
        return self.inner.embed(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def store_consistent(store: ChunkStore) -> None:
    """Every committed document has exactly its chunks; no chunk belongs to an uncommitted document."""
    records = {r.doc_id: r for r in store.list_documents()}
    for strategy in ALL_STRATEGIES:
        per_doc = Counter(c.doc_id for c in store.iter_chunks(strategy.value))
        for doc_id, n in per_doc.items():
            assert doc_id in records, f"orphan chunks of {doc_id} in {strategy}"
            assert records[doc_id].chunks.get(strategy.value) == n, (strategy, records[doc_id].source)
        for doc_id, rec in records.items():
            if strategy.value in rec.chunks:
                assert per_doc.get(doc_id, 0) == rec.chunks[strategy.value]
    parents = Counter(c.doc_id for c in store.iter_chunks(PARENTS))
    assert set(parents) <= set(records)
    assert store.recover() == 0  # nothing pending


@pytest.fixture
def samples(tmp_path) -> Path:
    folder = tmp_path / "docs"
    shutil.copytree(SAMPLES, folder, ignore=shutil.ignore_patterns(".*", "*.py"))
    return folder


def test_ingest_samples_with_every_strategy(make_app, samples):
    qa = make_app()
    reports = qa.ingestor.ingest_paths([samples], ALL_STRATEGIES)
    assert reports and all(r.status == "ingested" for r in reports), [(r.source, r.error) for r in reports]
    for r in reports:
        assert set(r.chunks) == {s.value for s in ALL_STRATEGIES}
        assert all(n > 0 for n in r.chunks.values())
    # Sentence chunks and parent-child children share texts: each distinct text was embedded once.
    total = sum(sum(r.chunks.values()) for r in reports)
    assert sum(r.embedded for r in reports) < total
    listed = {d.source: d for d in qa.store.list_documents()}
    assert set(listed) == {r.source for r in reports}
    pdf = next(r for r in reports if r.source.endswith(".pdf"))
    assert listed[pdf.source].pages == pdf.pages > 1
    pages = {c.page_start for c in qa.store.iter_chunks("sentence") if c.source == pdf.source}
    assert pages == set(range(1, pdf.pages + 1))
    for child in qa.store.iter_chunks("parent-child"):
        assert child.role == "child" and child.parent_id
    parent_ids = {c.id for c in qa.store.iter_chunks(PARENTS)}
    assert {c.parent_id for c in qa.store.iter_chunks("parent-child")} <= parent_ids
    store_consistent(qa.store)


def test_reingest_unchanged_file_does_no_embedding_work(make_app, samples, embedder):
    counting = CountingEmbedder(embedder)
    qa = make_app(components={"embedder": counting})
    first = qa.ingestor.ingest_paths([samples], [Strategy.SENTENCE])
    embedded = counting.texts
    assert embedded > 0
    again = qa.ingestor.ingest_paths([samples], [Strategy.SENTENCE])
    assert [r.status for r in again] == ["unchanged"] * len(first)
    assert counting.texts == embedded
    # Adding a strategy later embeds only that strategy's new texts.
    more = qa.ingestor.ingest_paths([samples], [Strategy.SENTENCE, Strategy.OVERLAP])
    assert all(set(r.chunks) == {"sentence", "overlap"} for r in more)
    assert all(r.chunks["sentence"] == f.chunks["sentence"] for r, f in zip(more, first, strict=True))
    store_consistent(qa.store)


def test_changed_file_replaces_all_old_chunks(make_app, tmp_path):
    doc = tmp_path / "notes.txt"
    doc.write_text("The pump runs at 40 degrees. The fan spins at 900 rpm. The coil is copper.\n")
    qa = make_app()
    (_r1,) = qa.ingestor.ingest_paths([doc], ALL_STRATEGIES)
    old_ids = {c.id for s in ALL_STRATEGIES for c in qa.store.iter_chunks(s.value)}
    doc.write_text("The pump now runs at 55 degrees. A new valve was added in 2024.\n")
    (r2,) = qa.ingestor.ingest_paths([doc], ALL_STRATEGIES)
    assert r2.status == "ingested"
    texts = " ".join(c.text for c in qa.store.iter_chunks("sentence"))
    assert "55 degrees" in texts and "900 rpm" not in texts
    new_ids = {c.id for s in ALL_STRATEGIES for c in qa.store.iter_chunks(s.value)}
    assert old_ids.isdisjoint(new_ids)
    assert [d.source for d in qa.store.list_documents()] == ["notes.txt"]
    store_consistent(qa.store)


def test_opening_with_another_embedder_fails_with_reindex_advice(make_app, samples):
    qa = make_app()
    qa.ingestor.ingest_paths([samples / "company_handbook.txt"], [Strategy.SENTENCE])
    other = ChunkStore(make_client(qa.settings), qa.settings.collection, "intfloat/multilingual-e5-small", 384, {})
    with pytest.raises(FingerprintMismatch, match="--rebuild"):
        other.collection("sentence")
    wider = ChunkStore(make_client(qa.settings), qa.settings.collection, qa.embedder.name, 768, qa.store.params)
    with pytest.raises(FingerprintMismatch, match="dimension"):
        wider.collection("sentence")


def test_bad_files_fail_alone_with_reasons(make_app, tmp_path, samples):
    bad = tmp_path / "batch"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "fake.pdf").write_text("this is not a pdf at all")
    real = next(samples.glob("*.pdf")).read_bytes()
    (bad / "truncated.pdf").write_bytes(real[: len(real) // 3])
    shutil.copy(samples / "company_handbook.txt", bad / "good.txt")
    encrypted = shared("pdf", "pypdf_sample_files", "005-libreoffice-writer-password")
    shutil.copy(next(encrypted.glob("*.pdf")), bad / "locked.pdf")
    images = shared("pdf", "pypdf_sample_files", "007-imagemagick-images")
    shutil.copy(next(images.glob("*.pdf")), bad / "scanned.pdf")
    qa = make_app()
    reports = {r.source: r for r in qa.ingestor.ingest_paths([bad], [Strategy.SENTENCE])}
    assert reports["good.txt"].status == "ingested"
    for name in ("empty.txt", "fake.pdf", "truncated.pdf", "locked.pdf", "scanned.pdf"):
        assert reports[name].status == "failed" and reports[name].error, name
    assert "encrypt" in reports["locked.pdf"].error.lower()
    assert "text" in reports["scanned.pdf"].error.lower()
    assert [d.source for d in qa.store.list_documents()] == ["good.txt"]
    store_consistent(qa.store)


def test_failed_write_leaves_no_partial_document(make_app, samples):
    """A store error half-way through a document (wrong-sized vector in a later batch) stores nothing."""
    qa = make_app(store_batch_size=4)
    store = qa.store
    text = "One. Two. Three. Four. Five. Six. Seven. Eight. Nine. Ten."
    chunks = []
    from rag.core.types import Chunk

    for i, word in enumerate(text.split()):
        chunks.append(Chunk(f"c{i}", "doc1", "sentence", i, word, i, i + 1, "x.txt", "x"))
    vectors = {c.id: np.ones(qa.embedder.dimension, dtype=np.float32) for c in chunks}
    vectors["c9"] = np.ones(7, dtype=np.float32)  # third batch fails inside Chroma
    record = DocumentRecord(source="x.txt", doc_id="doc1", chunks={"sentence": len(chunks)})
    with pytest.raises(Exception):  # noqa: B017 - Chroma's own error type
        store.replace_document(record, {"sentence": chunks}, vectors, batch_size=4)
    assert store.get_document("x.txt") is None
    assert store.recover() == 1
    assert list(store.iter_chunks("sentence")) == []
    store_consistent(store)


def test_cli_ingest_list_remove_and_exit_status(cli_env, samples, tmp_path):
    broken = samples / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n garbage")
    run = run_cli("ingest", str(samples), "--strategy", "sentence", env=cli_env, timeout=600)
    assert run.returncode == 1, run.stderr  # one file failed -> non-zero
    assert "ingest summary" in run.stdout and "broken.pdf" in run.stdout and "failed" in run.stdout
    listing = run_cli("docs", "list", env=cli_env, timeout=120)
    assert listing.returncode == 0 and "company_handbook.txt" in listing.stdout
    assert "broken.pdf" not in listing.stdout
    removed = run_cli("docs", "remove", "company_handbook.txt", env=cli_env, timeout=120)
    assert removed.returncode == 0
    assert "company_handbook.txt" not in run_cli("docs", "list", env=cli_env, timeout=120).stdout
    missing = run_cli("docs", "remove", "nope.txt", env=cli_env, timeout=120)
    assert missing.returncode == 1 and "no document named" in missing.stderr


@pytest.mark.slow
def test_killed_batch_reruns_to_a_consistent_store(cli_env, tmp_path, make_settings, embedder):
    """kill -9 the batch script at several points; a rerun finishes the rest, redoing nothing finished."""
    folder = tmp_path / "batch"
    folder.mkdir()
    for name in ("google_prompt_engineering_whitepaper_2024.pdf",):
        shutil.copy(shared("pdf", "long_en", name), folder / name)
    for f in SAMPLES.glob("*.*"):
        if f.suffix in {".pdf", ".txt", ".md"}:
            shutil.copy(f, folder / f.name)
    for delay in (6.0, 9.0, 12.0):
        proc = subprocess.Popen(
            [sys.executable, "-m", "ui", "ingest", str(folder), "--strategy", "sentence,parent-child"],
            cwd=REPO,
            env=cli_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    final = run_cli("ingest", str(folder), "--strategy", "sentence,parent-child", "--json", env=cli_env, timeout=900)
    assert final.returncode == 0, final.stderr
    settings = make_settings(data_dir=tmp_path / "data", index_dir=tmp_path / "index")
    from rag.app import build_app

    qa = build_app(settings, embedder=embedder)
    store_consistent(qa.store)
    assert len(qa.store.list_documents()) == len(list(folder.iterdir()))
