"""Semantic cache: rewordings hit, near misses never do, changed documents and settings invalidate."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from rag.answer.answerer import AskOptions
from rag.answer.cache import (
    SemanticCache,
    answer_from_json,
    answer_key,
    answer_to_json,
    question_documents,
    question_terms,
    same_question,
)
from rag.core.types import Answer, Strategy
from tests.cache_pairs import NEAR_MISSES, REORDERED, REWORDINGS
from tests.conftest import SAMPLES

LEAVE = "How many days of annual leave do full-time employees get?"


def test_the_word_check_rejects_every_near_miss():
    assert len(NEAR_MISSES) >= 30
    confused = [(a, b) for a, b in NEAR_MISSES if same_question(a, b) or same_question(b, a)]
    assert not confused


def test_the_word_check_accepts_rewordings_but_not_reorderings():
    assert [(a, b) for a, b in REWORDINGS if not same_question(a, b)] == []
    assert [(a, b) for a, b in REORDERED if same_question(a, b)] == []


def test_question_terms_keep_what_changes_the_answer():
    assert question_terms("What's the COP at -7 °C?") == ("cop", "minus", "7", "c")
    assert question_terms("Isn't 11,172 the count?") == ("not", "11172", "count")
    assert question_terms("Who was the CEO?") == ("who", "past", "ceo")
    assert question_terms("Can you tell me about the policy, please?") == ("polici",)
    assert not same_question("?", "!")  # no content words: never a match


def _fake_answer(question: str, text: str, sources=()) -> Answer:
    return Answer(question, question, text, mode="llm", sources=list(sources))


@pytest.fixture
def cache_app(make_app):
    """A store with no documents and a cache; answers are stored directly through the hook."""
    qa = make_app()
    return qa, qa.cache


def _store(cache: SemanticCache, settings, question: str, text: str, sources=()) -> None:
    assert cache.before_retrieve(question, question, settings) is None  # a miss records the lookup
    cache.after_answer(_fake_answer(question, text, sources), settings)


def test_near_misses_never_share_an_answer(cache_app):
    """All first questions cached, then every second question asked: none may get another's answer.

    With the similarity threshold at 0 only the word check stands between them; with the default both do.
    """
    qa, cache = cache_app
    firsts = list(dict.fromkeys(a for a, _ in NEAR_MISSES))
    for i, question in enumerate(firsts):
        _store(cache, qa.settings, question, f"answer {i}")
    assert cache.count() == len(firsts)
    for threshold in (0.0, qa.settings.cache_threshold):
        settings = qa.settings.model_copy(update={"cache_threshold": threshold})
        for a, b in NEAR_MISSES:
            got = cache.before_retrieve(b, b, settings)
            assert got is None or got.text == f"answer {firsts.index(b)}", (a, b, got and got.text)
    # and each first question still finds its own answer
    for i, question in enumerate(firsts):
        got = cache.before_retrieve(question, question, qa.settings)
        assert got is not None and got.cached and got.text == f"answer {i}"


def test_rewordings_are_answered_from_the_cache(cache_app):
    qa, cache = cache_app
    originals = list(dict.fromkeys(a for a, _ in REWORDINGS))
    for i, question in enumerate(originals):
        _store(cache, qa.settings, question, f"answer {i}")
    for a, b in REWORDINGS:
        got = cache.before_retrieve(b, b, qa.settings)
        assert got is not None, (a, b)
        assert got.text == f"answer {originals.index(a)}" and got.cached
        assert got.question == b  # the answer is labelled with the question actually asked
    for _a, b in REORDERED:
        assert cache.before_retrieve(b, b, qa.settings) is None


def test_follow_ups_are_keyed_on_the_standalone_question(cache_app):
    qa, cache = cache_app
    standalone = "How many days of annual leave do part-time employees get?"
    assert cache.before_retrieve("and part-timers?", standalone, qa.settings) is None
    cache.after_answer(Answer("and part-timers?", standalone, "pro rata", mode="llm"), qa.settings)
    got = cache.before_retrieve("what about part-time staff then?", standalone, qa.settings)
    assert got is not None and got.text == "pro rata"
    assert cache.before_retrieve("and part-timers?", LEAVE, qa.settings) is None  # same words, other question


def test_settings_that_shape_the_answer_are_part_of_the_key(cache_app):
    qa, cache = cache_app
    _store(cache, qa.settings, LEAVE, "25 days")
    assert cache.before_retrieve(LEAVE, LEAVE, qa.settings) is not None
    changes = [
        {"strategy": Strategy.SENTENCE},
        {"top_k": 3},
        {"retrieval_mode": "dense"},
        {"mmr": True},
        {"relevance_threshold": 0.4},
        {"llm_model": "other-model", "openai_base_url": "http://127.0.0.1:9/v1"},
        {"temperature": 0.7},
        {"max_tokens": 64},
        {"fetch_k": 20},
        {"fusion": "rrf"},
        {"dense_weight": 0.5},
        {"cjk_dense_weight": 0.6},
        {"lexical_weight": 0.5},
        {"rrf_k": 60},
        {"context_budget_tokens": 1000},
        {"safety_level": "high"},
        AskOptions(documents=["company_handbook.txt"]).settings_update(),
        AskOptions(judge=False).settings_update(),
    ]
    for change in changes:
        assert cache.before_retrieve(LEAVE, LEAVE, qa.settings.model_copy(update=change)) is None, change
    # Settings that cannot change the answer keep the entry.
    same = [{}, {"cache_threshold": 0.95}, {"llm_timeout_s": 5.0}, AskOptions().settings_update()]
    for change in same:
        assert cache.before_retrieve(LEAVE, LEAVE, qa.settings.model_copy(update=change)) is not None, change


def test_every_retrieval_setting_is_in_the_key(make_settings):
    """Each setting the retriever reads changes the key (the CJK dense weight too: it only shapes Korean,
    Chinese and Japanese questions, but the key is computed without looking at the question)."""
    base = make_settings()
    key = answer_key(base, "minilm", {})
    changes = {
        "strategy": Strategy.SENTENCE,
        "top_k": 3,
        "retrieval_mode": "lexical",
        "mmr": True,
        "relevance_threshold": 0.3,
        "fetch_k": 20,
        "fusion": "rrf",
        "dense_weight": 0.7,
        "cjk_dense_weight": 0.6,
        "lexical_weight": 0.7,
        "rrf_k": 60,
        "context_budget_tokens": 1000,
    }
    for name, value in changes.items():
        assert answer_key(base.model_copy(update={name: value}), "minilm", {}) != key, name
    mmr = base.model_copy(update={"mmr": True})
    assert answer_key(mmr.model_copy(update={"mmr_lambda": 0.9}), "minilm", {}) != answer_key(mmr, "minilm", {})
    filtered = base.model_copy(update=AskOptions(documents=["b.txt", "a.txt"]).settings_update())
    assert question_documents(filtered) == ["a.txt", "b.txt"]
    assert answer_key(filtered, "minilm", {}) != key
    reordered = base.model_copy(update=AskOptions(documents=["a.txt", "b.txt"]).settings_update())
    assert answer_key(reordered, "minilm", {}) == answer_key(filtered, "minilm", {})  # a set, not a list
    assert answer_key(base.model_copy(update=AskOptions(documents=[]).settings_update()), "minilm", {}) == key
    assert answer_key(base.model_copy(update=AskOptions(judge=False).settings_update()), "minilm", {}) != key


def test_errors_refusals_and_disabled_cache_store_nothing(make_app):
    qa = make_app()
    cache = qa.cache
    for mode in ("error", "refused"):
        assert cache.before_retrieve(LEAVE, LEAVE, qa.settings) is None
        cache.after_answer(Answer(LEAVE, LEAVE, "boom", mode=mode), qa.settings)
    assert cache.count() == 0
    off = make_app(cache_enabled=False)
    assert all(not isinstance(h, SemanticCache) for h in off.answer_hooks)
    assert cache.before_retrieve(LEAVE, LEAVE, off.settings) is None


def test_size_is_bounded_least_recently_used_first(make_app):
    qa = make_app(cache_max_entries=3)
    cache = qa.cache
    questions = [f"How many moons does planet number {n} have?" for n in range(5)]
    _store(cache, qa.settings, questions[0], "a0")
    _store(cache, qa.settings, questions[1], "a1")
    _store(cache, qa.settings, questions[2], "a2")
    time.sleep(0.01)
    assert cache.before_retrieve(questions[0], questions[0], qa.settings).text == "a0"  # now recently used
    _store(cache, qa.settings, questions[3], "a3")
    _store(cache, qa.settings, questions[4], "a4")
    assert cache.count() == 3
    kept = {q for q in questions if cache.before_retrieve(q, q, qa.settings) is not None}
    assert kept == {questions[0], questions[3], questions[4]}


def test_entries_expire(make_app):
    qa = make_app(cache_ttl_s=60)
    cache = qa.cache
    _store(cache, qa.settings, LEAVE, "25 days")
    assert cache.evict(now=time.time() + 30) == 0
    assert cache.before_retrieve(LEAVE, LEAVE, qa.settings) is not None
    assert cache.evict(now=time.time() + 120) == 1 and cache.count() == 0


def test_answer_round_trips_through_json(make_app, tmp_path):
    qa = make_app()
    qa.ingestor.ingest_paths([SAMPLES / "company_handbook.txt"], [Strategy.PARENT_CHILD])
    answer = qa.answerer.answer(LEAVE)
    assert answer.sources and answer.citations and answer.faithfulness is not None
    again = answer_from_json(json.loads(json.dumps(answer_to_json(answer))))
    assert again == answer


# --- end to end through the answer road ---------------------------------------------------------------


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("company_handbook.txt", "solar_system_guide.md"):
        shutil.copy(SAMPLES / name, folder / name)
    return folder


def test_repeated_and_reworded_questions_are_served_from_the_cache(make_app, docs):
    qa = make_app()
    assert isinstance(qa.answer_hooks[-1], SemanticCache)  # after the safety filters
    qa.ingestor.ingest_paths([docs], [Strategy.PARENT_CHILD])
    first = qa.answerer.answer(LEAVE)
    assert not first.cached and "25 days" in first.text
    again = qa.answerer.answer("Can you tell me how many days of annual leave full-time employees get?")
    assert again.cached and again.text == first.text
    assert [s.chunk.id for s in again.sources] == [s.chunk.id for s in first.sources]
    assert again.to_dict()["cached"] is True and "cache" in again.timings and "retrieve" not in again.timings
    near = qa.answerer.answer("How many days of annual leave do part-time employees get?")
    assert not near.cached
    other_k = qa.answerer.answer(LEAVE, options=AskOptions(k=2))
    assert not other_k.cached


def test_changed_documents_invalidate_entries_that_used_them(make_app, docs):
    qa = make_app(top_k=2)  # few sources, so each answer draws on one document
    qa.ingestor.ingest_paths([docs], [Strategy.PARENT_CHILD])
    planets = "Which planet has the largest volcano?"
    first = qa.answerer.answer(LEAVE)
    assert {s.chunk.source for s in first.sources} == {"company_handbook.txt"}
    qa.answerer.answer(planets)
    assert qa.answerer.answer(LEAVE).cached and qa.answerer.answer(planets).cached

    # Removing a document the answer did not use keeps the entry; the other entry goes.
    qa.store.remove_document("solar_system_guide.md")
    assert qa.answerer.answer(LEAVE).cached
    assert not qa.answerer.answer(planets).cached

    # Re-ingesting a changed source invalidates.
    handbook = docs / "company_handbook.txt"
    handbook.write_text(handbook.read_text().replace("25 days of annual leave", "27 days of annual leave"))
    qa.ingestor.ingest_paths([handbook], [Strategy.PARENT_CHILD])
    fresh = qa.answerer.answer(LEAVE)
    assert not fresh.cached and "27 days" in fresh.text
    assert qa.answerer.answer(LEAVE).cached

    # A new document could hold a better answer: entries made before it arrived are not used.
    qa.ingestor.ingest_paths([SAMPLES / "korean_sample.txt"], [Strategy.PARENT_CHILD])
    assert not qa.answerer.answer(LEAVE).cached


def test_a_document_filter_never_shares_the_unfiltered_answer(make_app, docs):
    """`docqa ask ... --doc X` is answered from X alone: never from the entry of the unfiltered question,
    and the filtered answer is never served to the unfiltered question."""
    qa = make_app()
    qa.ingestor.ingest_paths([docs], [Strategy.PARENT_CHILD])
    plain = qa.answerer.answer(LEAVE)
    assert not plain.cached and "25 days" in plain.text
    assert "company_handbook.txt" in {s.chunk.source for s in plain.sources}

    only_planets = AskOptions(documents=["solar_system_guide.md"])
    filtered = qa.answerer.answer(LEAVE, options=only_planets)
    assert not filtered.cached
    assert {s.chunk.source for s in filtered.sources} <= {"solar_system_guide.md"}
    assert filtered.text != plain.text and "25 days" not in filtered.text

    again = qa.answerer.answer(LEAVE, options=only_planets)
    assert again.text == filtered.text and {s.chunk.source for s in again.sources} <= {"solar_system_guide.md"}
    unfiltered = qa.answerer.answer(LEAVE)
    assert unfiltered.cached and unfiltered.text == plain.text
    handbook = qa.answerer.answer(LEAVE, options=AskOptions(documents=["company_handbook.txt"]))
    assert not handbook.cached  # the same documents as the plain answer, but another question scope


def test_judged_and_unjudged_answers_are_not_shared(make_app, docs):
    qa = make_app()
    qa.ingestor.ingest_paths([docs], [Strategy.PARENT_CHILD])
    unjudged = qa.answerer.answer(LEAVE, options=AskOptions(judge=False))
    assert not unjudged.cached and unjudged.faithfulness is None
    judged = qa.answerer.answer(LEAVE)
    assert not judged.cached and judged.faithfulness is not None  # not the unjudged entry
    assert qa.answerer.answer(LEAVE).cached
    again = qa.answerer.answer(LEAVE, options=AskOptions(judge=False))
    assert again.cached and again.faithfulness is None
