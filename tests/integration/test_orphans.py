"""The orphan list (rag/backends/chroma_orphans.py): chunks HNSW cannot reach after a write are searched
exactly by every dense query instead of rebuilding the collection; past its limit the rebuild still runs.

Real Chroma in tmp_path; the stores and documents are test_reachability.py's.
"""

from __future__ import annotations

from rag.backends import chroma_orphans
from rag.backends.chroma_records import collection_fingerprint
from rag.backends.chroma_store import ChunkStore
from tests.integration.test_reachability import DIM, DOCS, _damaged_store, _document, _leftovers, _store


def test_a_write_that_lands_a_few_unreachable_chunks_keeps_them_findable_without_a_rebuild(tmp_path, monkeypatch):
    """chroma_orphans.py: the lost chunks go on the collection's orphan list, which every dense query
    searches exactly, instead of a whole-collection rebuild per lost chunk."""
    calls = []
    repair = ChunkStore.repair
    monkeypatch.setattr(ChunkStore, "repair", lambda self, kind, **kw: calls.append(kind) or repair(self, kind, **kw))
    store = _store(tmp_path / "chroma")
    store._client.create_collection(  # a sparse graph: fresh inserts alone leave ~3 % of the nodes unlinked
        "docqa__sentence",
        metadata=collection_fingerprint("random-384", DIM, {}),
        embedding_function=None,
        configuration={"hnsw": {"space": "cosine", "ef_construction": 20, "max_neighbors": 6, "ef_search": 20}},
    )
    for d in range(10):
        store.replace_document(*_document(d))
    orphans = store.orphan_ids("sentence")
    assert orphans, "no write was found unreachable"
    assert calls == [] and _leftovers(store) == (set(), [])
    # HNSW still misses them (or, linked again by later inserts, some of them); the check counts them found
    report = store.check_reachability("sentence", None)
    assert report.orphans and set(report.orphans) <= set(orphans) and not set(orphans) & set(report.unreachable)
    assert len(store.list_documents()) == 10

    col = store.collection("sentence")
    chunks, vectors = store.get_chunks("sentence", report.orphans, with_embeddings=True)
    for chunk, vector in zip(chunks, vectors, strict=True):
        assert chunk.id not in col.query(query_embeddings=[vector], n_results=10)["ids"][0]  # HNSW misses it ...
        (top, cos), *_ = store.query("sentence", vector, 10)  # ... the store's query finds it, first
        assert top.id == chunk.id and top.text == chunk.text and top.doc_id == chunk.doc_id and cos > 0.999
        assert store.query_ids("sentence", vector, 3)[0][0] == chunk.id
        assert store.query("sentence", vector, 5, doc_ids=[chunk.doc_id])[0][0].id == chunk.id
        others = [r.doc_id for r in store.list_documents() if r.doc_id != chunk.doc_id][:3]
        assert chunk.id not in {c.id for c, _ in store.query("sentence", vector, 5, doc_ids=others)}
    store.close()

    reopened = _store(tmp_path / "chroma")  # the list is stored, so a new client finds them too
    assert reopened.orphan_ids("sentence") == orphans
    assert [reopened.query("sentence", v, 10)[0][0].id for v in vectors] == [c.id for c in chunks]
    gone = chunks[0]
    reopened.remove_document(gone.source)
    assert gone.id not in {c.id for c, _ in reopened.query("sentence", vectors[0], 10)}
    # A full repair (the probes after each write missed some older chunks) rebuilds the graph, empties
    # the list, and puts the new graph's own few orphans on it: every chunk is found again.
    repaired = reopened.repair("sentence")
    assert repaired.rebuilt and repaired.ok and reopened.check_reachability("sentence", None).ok
    assert set(reopened.orphan_ids("sentence")) == set(reopened.check_reachability("sentence", None).orphans)
    reopened.drop(["sentence"])  # a dropped collection takes its list with it
    assert reopened.orphan_ids("sentence") == []
    reopened.close()


def test_past_the_orphan_limit_the_collection_is_rebuilt_before_the_commit(tmp_path, monkeypatch):
    monkeypatch.setattr(chroma_orphans, "ORPHAN_MIN", 0)
    monkeypatch.setattr(chroma_orphans, "ORPHAN_SHARE", 0.0)
    calls = []
    repair = ChunkStore.repair
    monkeypatch.setattr(ChunkStore, "repair", lambda self, kind, **kw: calls.append(kind) or repair(self, kind, **kw))
    store = _damaged_store(tmp_path / "chroma", verify=True)
    assert calls, "no write was found unreachable"
    report = store.check_reachability("sentence", None)
    assert report.ok and not report.orphans and store.orphan_ids("sentence") == []
    assert len(store.list_documents()) == DOCS // 2 + int(DOCS * 0.3)
    store.close()
