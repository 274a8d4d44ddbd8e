"""Retrieval end to end over the sample documents: real MiniLM, real Chroma and BM25 in tmp dirs."""

from __future__ import annotations

import shutil

import pytest

from rag.core.settings import Settings
from rag.core.types import ALL_STRATEGIES, Chunk, Strategy
from rag.retrieval.hybrid import Candidate, fuse, mmr_select
from tests.conftest import SAMPLES

MODES = ("dense", "lexical", "hybrid")


@pytest.fixture(scope="module")
def qa(tmp_path_factory, embedder):
    """The sample documents ingested with every strategy, shared by this module's read-only tests."""
    from rag.app import build_app

    root = tmp_path_factory.mktemp("retrieve")
    docs = root / "docs"
    shutil.copytree(SAMPLES, docs, ignore=shutil.ignore_patterns(".*", "*.py"))
    app = build_app(Settings(_env_file=None, data_dir=root / "data", index_dir=root / "index"), embedder=embedder)
    reports = app.ingestor.ingest_paths([docs], ALL_STRATEGIES)
    assert all(r.status == "ingested" for r in reports), [(r.source, r.error) for r in reports]
    app.refresh_indexes(ALL_STRATEGIES)
    return app


@pytest.mark.parametrize("strategy", [s.value for s in ALL_STRATEGIES])
@pytest.mark.parametrize("mode", MODES)
def test_every_mode_and_strategy_finds_the_answer(qa, strategy, mode):
    got = qa.retriever.retrieve("Which planet is the largest?", strategy=strategy, k=4, mode=mode)
    assert got.hits and not got.notice
    top = got.hits[0]
    assert top.chunk.source == "solar_system_guide.md"
    assert "Jupiter is the largest planet" in top.span.text
    assert [h.rank for h in got.hits] == list(range(1, len(got.hits) + 1))
    assert all(h.dense_score is not None for h in got.hits)  # cosine for every hit, in every mode
    if mode == "hybrid":
        assert top.lexical_score and top.lexical_score > 0
        assert all(a.score >= b.score for a, b in zip(got.hits, got.hits[1:], strict=False))


def test_korean_question_needs_the_lexical_leg(qa):
    """MiniLM is English-only: its dense ranking does not put the Korean answer first; BM25 bigrams do, and
    so does the multilingual e5 leg that DOCQA_MULTILINGUAL=auto (the default) adds for Korean questions."""
    from rag.retrieval.hybrid import Retriever

    question = "현대 한글로 만들 수 있는 완성형 음절은 모두 몇 자인가?"
    answer = "11,172"
    minilm_only = Retriever(
        qa.store, qa.embedder, qa.counter, qa.settings, qa.retriever.lexical_factory, qa.retriever.lexical_folder
    )
    dense = minilm_only.retrieve(question, strategy="sentence", k=10, mode="dense")
    assert answer not in dense.hits[0].chunk.text
    with_e5 = qa.retriever.retrieve(question, strategy="sentence", k=10, mode="dense")
    assert "e5" in with_e5.timings and answer in with_e5.hits[0].chunk.text
    lexical = qa.retriever.retrieve(question, strategy="sentence", k=10, mode="lexical")
    assert answer in lexical.hits[0].chunk.text
    hybrid = qa.retriever.retrieve(question, strategy="sentence", k=10, mode="hybrid")
    ranks = [h.rank for h in hybrid.hits if answer in h.chunk.text]
    dense_ranks = [h.rank for h in dense.hits if answer in h.chunk.text]
    assert ranks and (not dense_ranks or ranks[0] < dense_ranks[0])
    for q, expected in [("한글날은 언제 국경일이 되었나?", "2006년"), ("해례본은 어디에서 발견되었나?", "안동")]:
        got = qa.retriever.retrieve(q, strategy="parent-child", k=3, mode="hybrid")
        assert expected in " ".join(h.chunk.text for h in got.hits[:2])


def test_parent_child_returns_each_parent_once_with_its_matched_child(qa):
    got = qa.retriever.retrieve("What does the heat pump compressor do?", strategy="parent-child", k=6)
    parents = [h.chunk for h in got.hits]
    assert len({p.id for p in parents}) == len(parents) > 1
    for hit in got.hits:
        parent, child = hit.chunk, hit.matched
        assert parent.role == "parent" and child is not None and child.role == "child"
        assert child.parent_id == parent.id and child.doc_id == parent.doc_id
        assert parent.start <= child.start < child.end <= parent.end
        assert child.text in parent.text and hit.span is child
    other = qa.retriever.retrieve("What does the heat pump compressor do?", strategy="sentence", k=3)
    assert all(h.matched is None and h.span is h.chunk for h in other.hits)


def test_threshold_without_passing_hits_gives_closest_passages_and_a_notice(qa):
    for mode in MODES:
        got = qa.retriever.retrieve("Which planet is the largest?", strategy="sentence", mode=mode, threshold=0.99)
        assert got.hits == []
        assert got.closest and "threshold" in got.notice
        assert "Jupiter" in got.closest[0].chunk.text
    passing = qa.retriever.retrieve("Which planet is the largest?", strategy="sentence", k=10, threshold=0.45)
    assert passing.hits and all(h.dense_score >= 0.45 for h in passing.hits) and not passing.closest


def test_document_filter_by_source_or_id(qa):
    handbook = qa.store.get_document("company_handbook.txt")
    for wanted in (["company_handbook.txt"], [handbook.doc_id]):
        for mode in MODES:
            got = qa.retriever.retrieve(
                "Which planet is the largest?", strategy="overlap", mode=mode, doc_filter=wanted
            )
            assert {h.chunk.source for h in got.hits} == {"company_handbook.txt"}, mode
    both = qa.retriever.retrieve(
        "annual leave days", strategy="sentence", k=20, doc_filter=["company_handbook.txt", "korean_sample.txt"]
    )
    assert {h.chunk.source for h in both.hits} <= {"company_handbook.txt", "korean_sample.txt"}
    none = qa.retriever.retrieve("annual leave", strategy="sentence", doc_filter=["no-such-file.txt"])
    assert none.hits == [] and none.notice


def test_context_budget_in_embedder_tokens(qa):
    question = "How do heat pumps work in cold weather?"
    free = qa.retriever.retrieve(question, strategy="sentence", k=10)
    budget = 80
    capped = qa.retriever.retrieve(question, strategy="sentence", k=10, budget_tokens=budget)
    counts = qa.counter.count([h.chunk.text for h in capped.hits])
    assert 1 <= len(capped.hits) < len(free.hits) and sum(counts) <= budget
    assert [h.chunk.id for h in capped.hits] == [h.chunk.id for h in free.hits[: len(capped.hits)]]
    # Parents are larger than a tiny budget: the best one is still returned.
    tiny = qa.retriever.retrieve(question, strategy="parent-child", k=5, budget_tokens=10)
    assert len(tiny.hits) == 1 and qa.counter.count([tiny.hits[0].chunk.text])[0] > 10


def test_empty_index_and_empty_question(make_app):
    app = make_app()
    got = app.retriever.retrieve("anything", strategy="sentence")
    assert got.hits == [] and "No documents" in got.notice
    with pytest.raises(ValueError):
        app.retriever.retrieve("anything", strategy="sentence", mode="fuzzy")


def test_mmr_diversifies_near_duplicate_passages(make_app, tmp_path):
    app = make_app()
    text = (
        "The Zorblax reactor produces 40 megawatts of electric power.\n\n"
        "The Zorblax reactor generates 40 megawatts of electrical power.\n\n"
        "The Zorblax reactor yields 40 megawatts of electric power output.\n\n"
        "The Zorblax reactor is cooled by molten salt pumped from Lake Vistra.\n\n"
        "Maintenance of the Zorblax reactor happens every March by a crew of twelve.\n\n"
        "Bananas are rich in potassium and grow in tropical climates.\n"
    )
    path = tmp_path / "reactor.txt"
    path.write_text(text, encoding="utf-8")
    app.ingestor.ingest_paths([path], [Strategy.SENTENCE])
    question = "How much power does the Zorblax reactor produce?"
    plain = app.retriever.retrieve(question, strategy="sentence", k=3, mode="dense")
    assert all("40 megawatts" in h.chunk.text for h in plain.hits)
    diverse = app.retriever.retrieve(question, strategy="sentence", k=3, mode="dense", mmr=True)
    assert "40 megawatts" in diverse.hits[0].chunk.text
    assert sum("40 megawatts" in h.chunk.text for h in diverse.hits) < 3
    assert len({h.chunk.id for h in diverse.hits}) == 3
    hybrid = app.retriever.retrieve(question, strategy="sentence", k=3, mode="hybrid", mmr=True)
    assert sum("40 megawatts" in h.chunk.text for h in hybrid.hits) < 3


def _cand(i: int, dense: float | None, lexical: float | None, d_rank=None, l_rank=None) -> Candidate:
    chunk = Chunk(f"c{i}", "d", "sentence", i, "x", 0, 1, "s", "t")
    return Candidate(chunk, dense=dense, lexical=lexical, dense_rank=d_rank, lexical_rank=l_rank)


def test_fusion_methods():
    # c0: best BM25, weak cosine; c1: best cosine, no term in common; c2: second in both legs.
    cands = [_cand(0, 0.30, 9.0, None, 1), _cand(1, 0.90, 0.0, 1, None), _cand(2, 0.80, 5.0, 2, 2)]
    scores = {c.chunk.id: c.score for c in fuse(cands, "hybrid")}
    # Every leg ranks the whole pool: c0 also gets its dense rank 3; c1 has no lexical rank (BM25 0).
    assert scores == pytest.approx({"c0": 1 / 61 + 1 / 63, "c1": 1 / 61, "c2": 2 / 62})
    assert [c.chunk.id for c in fuse(cands, "hybrid")] == ["c0", "c2", "c1"]
    # Textbook RRF on the legs' own ranks: c0 gets nothing from the dense leg that missed it.
    assert [c.chunk.id for c in fuse(cands, "hybrid", method="rrf-legs")] == ["c2", "c1", "c0"]  # tie: cosine
    assert fuse(cands, "hybrid", lexical_weight=3.0)[0].chunk.id == "c0"
    assert [c.chunk.id for c in fuse(cands, "hybrid", dense_weight=3.0)] == ["c2", "c0", "c1"]
    assert fuse(cands, "hybrid", rrf_k=1)[0].score == pytest.approx(1 / 2 + 1 / 4)
    assert fuse(cands, "hybrid", method="sum")[0].chunk.id == "c2"  # 0.83 + 0.56 vs 0 + 1.0
    assert [c.chunk.id for c in fuse(cands, "dense")] == ["c1", "c2", "c0"]
    assert [c.chunk.id for c in fuse(cands, "lexical")] == ["c0", "c2", "c1"]


def test_mmr_select_skips_duplicates_and_same_parent():
    import numpy as np

    vectors = np.array([[1, 0], [1, 0], [0.6, 0.8], [0, 1]], dtype=np.float32)
    relevance = np.array([1.0, 0.99, 0.8, 0.1])
    assert mmr_select(relevance, vectors, ["a", "b", "c", "d"], 2, 1.0) == [0, 1]
    assert mmr_select(relevance, vectors, ["a", "b", "c", "d"], 2, 0.5) == [0, 2]
    assert mmr_select(relevance, vectors, ["p", "p", "q", "r"], 3, 1.0) == [0, 2, 3]
    assert mmr_select(relevance[:0], vectors[:0], [], 3, 0.5) == []


QUESTIONS = ("Which planet is the largest?", "How many vacation days do employees get?", "heat pump efficiency",
             "rings of Saturn", "리튬 배터리", "What is the remote work policy?")  # fmt: skip


@pytest.mark.parametrize("strategy", [s.value for s in ALL_STRATEGIES])
@pytest.mark.parametrize("mmr", [False, True])
def test_loading_bm25_only_passages_late_changes_no_result(qa, strategy, mmr, monkeypatch):
    """Issue 14 (query latency): passages only BM25 found are scored from their vectors alone and only the
    ones retrieval keeps are read with their text and metadata. The hits must be exactly those of loading
    every candidate up front, and far fewer passages are read."""
    from rag.retrieval.hybrid import Retriever

    lazy = {q: qa.retriever.retrieve(q, strategy=strategy, k=4, mmr=mmr, fetch_k=40) for q in QUESTIONS}
    read: list[int] = []
    get_chunks = qa.store.get_chunks
    monkeypatch.setattr(
        qa.store, "get_chunks", lambda kind, ids, **kw: read.append(len(ids)) or get_chunks(kind, ids, **kw)
    )
    eager_gather = Retriever.gather
    monkeypatch.setattr(Retriever, "gather", lambda self, *a, **kw: eager_gather(self, *a, **{**kw, "lazy": False}))
    for q, got in lazy.items():
        want = qa.retriever.retrieve(q, strategy=strategy, k=4, mmr=mmr, fetch_k=40)
        assert [(h.chunk.id, round(h.score, 6)) for h in got.hits] == [
            (h.chunk.id, round(h.score, 6)) for h in want.hits
        ]
        assert [h.matched.id if h.matched else None for h in got.hits] == [
            h.matched.id if h.matched else None for h in want.hits
        ]
    if strategy != "overlap":  # (overlap's few windows all come back from the dense leg at fetch_k 40)
        assert sum(read) > 0  # the eager path read the BM25-only candidates


def test_a_lazy_retrieval_reads_few_passages(qa, monkeypatch):
    read: list[tuple[str, int]] = []
    get_chunks = qa.store.get_chunks
    monkeypatch.setattr(
        qa.store, "get_chunks", lambda kind, ids, **kw: read.append((kind, len(ids))) or get_chunks(kind, ids, **kw)
    )
    got = qa.retriever.retrieve("heat pump efficiency", strategy="sentence", k=3, fetch_k=40)
    assert got.hits
    assert sum(n for kind, n in read if kind == "sentence") <= 6, read  # 2k at most, not the ~40 BM25 hits


def test_passages_of_a_document_still_being_ingested_never_come_back(make_app, caplog):
    """The lazy dense leg reads ids only, so it cannot drop an uncommitted document's passages before
    fusion (an ingest in flight writes them before its commit); meeting one, retrieval searches again the
    eager way, which filters them out."""
    import logging

    import numpy as np

    qa = make_app()
    qa.ingestor.ingest_file(SAMPLES / "solar_system_guide.md", [Strategy.SENTENCE])
    text = "Jupiter is the largest planet and its Great Red Spot is a storm."
    vector = np.asarray(qa.embedder.embed([text])[0], dtype=np.float32)
    qa.store.collection("sentence").upsert(  # written, not committed: what a kill mid-ingest leaves
        ids=[f"inflight-{i}" for i in range(5)],
        embeddings=np.stack([vector] * 5),
        metadatas=[{"doc_id": "inflight", "strategy": "sentence", "index": i, "start": 0, "end": len(text),
                    "source": "inflight.md", "title": "inflight.md", "role": "chunk"} for i in range(5)],
        documents=[text] * 5,
    )  # fmt: skip
    caplog.set_level(logging.DEBUG, logger="rag.retrieval.hybrid")
    for mode in ("dense", "hybrid"):
        got = qa.retriever.retrieve("Which planet is the largest?", strategy="sentence", k=4, mode=mode)
        assert got.hits and all(h.chunk.source == "solar_system_guide.md" for h in got.hits), mode
        assert "Jupiter is the largest planet" in got.hits[0].chunk.text
    assert "searching again eagerly" in caplog.text
