"""BM25 layer: tokeniser rules, and an index that follows the store (real MiniLM, real Chroma, tmp dirs)."""

from __future__ import annotations

import shutil
import threading

import numpy as np

from rag.backends.bm25 import LexicalIndex, Tokenizer, indexed_text
from rag.backends.chroma_records import chunk_to_metadata
from rag.core.types import Chunk, Strategy
from tests.conftest import SAMPLES, run_cli

SENTENCE = [Strategy.SENTENCE]


# --- tokeniser ---------------------------------------------------------------------------------
def test_english_words_are_lowercased_stripped_and_stemmed():
    tok = Tokenizer()
    assert tok("The Patients' symptoms, running!") == ["the", "patient", "symptom", "run"]
    assert Tokenizer(stem=False)("Running patients.") == ["running", "patients"]
    assert tok("e.g. the U.S. don't") == ["eg", "the", "us", "dont"]


def test_korean_runs_become_overlapping_bigrams():
    tok = Tokenizer()
    assert tok("세종대왕이") == ["세종", "종대", "대왕", "왕이"]
    assert tok("한글 가 訓民正音") == ["한글", "가", "訓民", "民正", "正音"]  # one-character run: unigram
    # A particle glued to a word still shares the word's bigrams.
    assert set(tok("한글날")) <= set(tok("한글날은 국경일이다")) | {"날은"}
    assert "東京" in tok("東京都に住む") and "に住" in tok("東京都に住む")  # Japanese kana and kanji


def test_mixed_scripts_are_tokenised_per_token():
    tok = Tokenizer()
    assert tok("1443년에 Unicode U+AC00부터") == ["1443", "년에", "unicod", "u", "ac00", "부터"]
    assert tok("COVID-19 환자") == ["covid", "19", "covid19", "환자"]


def test_numbers_are_kept_whole():
    tok = Tokenizer()
    assert tok("pi is 3.14") == ["pi", "is", "3.14"]
    assert tok("11,172 syllables") == ["11172", "syllabl"]
    assert tok("SARS-CoV-2") == ["sar", "cov", "2", "sarscov2"]
    assert tok("refs [12, 13] and 1,2") == ["ref", "12", "13", "and", "1", "2"]
    assert tok("") == [] and tok("  ...  ") == []


# --- index following the store -------------------------------------------------------------------
def _write(folder, name: str, text: str):
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _sources(qa, index: LexicalIndex, query: str, k: int = 5) -> list[str]:
    hits = index.search(query, k)
    chunks = qa.store.get_chunks(index.strategy, [cid for cid, _ in hits])
    return [c.source for c in chunks]


def test_index_follows_ingest_reingest_and_removal(make_app, tmp_path):
    qa = make_app()
    docs = tmp_path / "docs"
    docs.mkdir()
    a = _write(docs, "alpha.txt", "The quokka lives on Rottnest Island. It eats leaves and grasses.")
    qa.ingestor.ingest_paths([a], SENTENCE)
    index = qa.retriever.lexical("sentence")
    assert _sources(qa, index, "Where does the quokka live?") == ["alpha.txt"]
    assert index.builds == 1

    b = _write(docs, "beta.txt", "The platypus lays eggs. 오리너구리는 알을 낳는 포유류이다.")
    qa.ingestor.ingest_paths([b], SENTENCE)
    assert _sources(qa, index, "오리너구리") == ["beta.txt"]  # refreshed at query time
    assert (index.builds, index.updates) == (1, 1)  # the new document added, not a rebuild

    _write(docs, "alpha.txt", "The wombat digs burrows in the forest. Its droppings are cubes.")
    qa.ingestor.ingest_paths([a], SENTENCE)
    assert _sources(qa, index, "quokka Rottnest") == []  # old text no longer found
    assert _sources(qa, index, "wombat burrows") == ["alpha.txt"]

    assert qa.store.remove_document("beta.txt")
    assert _sources(qa, index, "platypus eggs 오리너구리") == []
    assert index.size == len(list(qa.store.iter_chunks("sentence")))


def test_title_and_heading_are_indexed_with_each_chunk():
    def text(title: str, section: str | None, body: str) -> str:
        return indexed_text(Chunk("c", "d", "sentence", 0, body, 0, len(body), "f.txt", title, section=section))

    assert text("쇼와 천황", "생애", "1901년에 태어났다.") == "쇼와 천황\n생애\n1901년에 태어났다."
    assert text("Pumps", None, "Pumps move heat.") == "Pumps move heat."  # already in the text
    assert text("Pumps", "Pumps", "They move heat.") == "Pumps\nThey move heat."  # once


def test_only_committed_documents_are_indexed(make_app, tmp_path):
    """Chunks written without their registry commit (an ingest in flight, or killed) stay invisible."""
    qa = make_app()
    doc = _write(tmp_path, "alpha.txt", "The quokka lives on Rottnest Island.")
    qa.ingestor.ingest_paths([doc], SENTENCE)
    orphan = Chunk("orphan1", "uncommitted", "sentence", 0, "The quokka also swims.", 0, 22, "ghost.txt", "ghost")
    vector = qa.embedder.embed([orphan.text])[0]
    qa.store.collection("sentence").upsert(
        ids=[orphan.id], embeddings=[vector], documents=[orphan.text], metadatas=[chunk_to_metadata(orphan)]
    )
    qa.store._bump_generation()  # even a rebuild does not pick the orphan up
    index = qa.retriever.lexical("sentence")
    ids = [cid for cid, _ in index.search("quokka swims", 10)]
    assert ids and "orphan1" not in ids


def test_persisted_index_is_reloaded_and_rebuilt_when_stale(make_app, tmp_path):
    qa = make_app()
    qa.ingestor.ingest_paths([SAMPLES / "solar_system_guide.md"], SENTENCE)
    qa.refresh_indexes(["sentence"])
    first = qa.retriever.lexical("sentence")
    assert first.builds == 1 and (first.folder / "current.json").is_file()
    expected = first.search("largest planet Jupiter", 3)

    # A fresh process (here: a fresh index object) loads the files instead of rebuilding.
    again = LexicalIndex(qa.store, "sentence", qa.retriever.lexical_folder)
    assert again.search("largest planet Jupiter", 3) == expected
    assert (again.builds, again.loads) == (0, 1)

    # Files deleted -> rebuilt from the store.
    shutil.rmtree(first.folder)
    third = LexicalIndex(qa.store, "sentence", qa.retriever.lexical_folder)
    assert third.search("largest planet Jupiter", 3) == expected
    assert third.builds == 1

    # Generation changed with a new document -> that document's chunks are added (no rebuild), persisted.
    qa.ingestor.ingest_paths([SAMPLES / "company_handbook.txt"], SENTENCE)
    assert third.refresh() and (third.builds, third.updates) == (1, 1)
    assert len(list(third.folder.glob("seg-*.npz"))) == 2
    # Generation changed but this strategy's documents did not (another strategy was ingested): the
    # index is still right, so it only records the new generation.
    qa.ingestor.ingest_paths([SAMPLES / "company_handbook.txt"], [Strategy.OVERLAP])
    assert third.refresh() and (third.builds, third.updates) == (1, 1) and third.is_fresh()
    fourth = LexicalIndex(qa.store, "sentence", qa.retriever.lexical_folder)
    fourth.refresh()
    assert (fourth.builds, fourth.loads) == (0, 1)


def test_dropped_collections_invalidate_the_persisted_index(make_app):
    """`ingest --rebuild` drops the collections: the generation restarts, the collection ids change."""
    from rag.core.types import PARENTS, REGISTRY

    qa = make_app()
    qa.ingestor.ingest_paths([SAMPLES / "solar_system_guide.md"], SENTENCE)
    qa.refresh_indexes(["sentence"])
    qa.store.drop(["sentence", PARENTS, REGISTRY])
    qa.ingestor.ingest_paths([SAMPLES / "company_handbook.txt"], SENTENCE)
    fresh = LexicalIndex(qa.store, "sentence", qa.retriever.lexical_folder)
    assert fresh.search("Jupiter", 3) == []
    assert fresh.builds == 1 and fresh.search("annual leave", 3)


def test_doc_filter_and_concurrent_first_queries(make_app):
    qa = make_app()
    qa.ingestor.ingest_paths([SAMPLES / "solar_system_guide.md", SAMPLES / "company_handbook.txt"], SENTENCE)
    index = LexicalIndex(qa.store, "sentence", qa.retriever.lexical_folder)
    results: list = []

    def ask() -> None:
        results.append(index.search("planet employees", 20))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert index.builds == 1 and all(r == results[0] for r in results)
    handbook = qa.store.get_document("company_handbook.txt").doc_id
    only = index.search("planet employees", 20, doc_ids={handbook})
    chunks = qa.store.get_chunks("sentence", [cid for cid, _ in only])
    assert chunks and {c.source for c in chunks} == {"company_handbook.txt"}
    scores = [s for _, s in index.search("planet employees", 20)]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
    assert np.isclose(index.scores_for("planet employees", [only[0][0]])[only[0][0]], only[0][1])


def test_cli_ingest_leaves_a_fresh_lexical_index(cli_env, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SAMPLES / "korean_sample.txt", docs)
    run = run_cli("ingest", str(docs), "--strategy", "sentence", env=cli_env, timeout=600)
    assert run.returncode == 0, run.stderr
    from rag.app import build_app
    from rag.core.settings import Settings

    qa = build_app(Settings(_env_file=None, data_dir=tmp_path / "data", index_dir=tmp_path / "index"))
    index = LexicalIndex(qa.store, "sentence", tmp_path / "index" / "lexical")
    assert index.search("한글날", 3)
    assert (index.builds, index.loads) == (0, 1)  # built by the CLI, not by the first question
