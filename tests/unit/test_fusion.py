"""Cross-lingual places (rag.retrieval.fusion.reserve_other_language): other-language passages found by e5
get places in the top k instead of losing every one of them to same-language passages."""

from rag.core.types import Chunk
from rag.retrieval.fusion import Candidate, reserve_other_language

KO = "전기 자동차의 충전 시간은 얼마나 걸리나요? 급속 충전기는 삼십 분이면 충분합니다."
EN = "A heat pump moves heat instead of making it, which is why it uses less electricity."


def cand(i: int, text: str, score: float, e5: float | None) -> Candidate:
    chunk = Chunk(id=f"c{i}", doc_id="d", strategy="parent-child", index=i, text=text, start=0, end=len(text),
                  source="x", title="x")  # fmt: skip
    return Candidate(chunk, score=score, e5=e5)


def test_other_language_passages_get_places_by_their_e5_cosine():
    ranked = [cand(i, KO, 1.0 - i / 100, 0.85) for i in range(8)]
    ranked += [cand(10, EN, 0.2, 0.74), cand(11, EN, 0.1, 0.80), cand(12, EN, 0.05, 0.65)]
    out = reserve_other_language(ranked, "히트 펌프는 왜 전기를 덜 쓰나요?", k=6, slots=2)
    top = [c.chunk.id for c in out[:6]]
    assert top == ["c0", "c1", "c2", "c3", "c11", "c10"]  # best e5 first; 0.65 is "unrelated" and stays out
    assert [c.chunk.id for c in out[6:8]] == ["c4", "c5"]  # pushed down, not dropped


def test_nothing_moves_when_the_top_already_holds_enough_or_slots_are_off():
    ranked = [cand(0, EN, 0.9, 0.8), cand(1, KO, 0.8, 0.9), cand(2, EN, 0.7, 0.79), cand(3, KO, 0.1, 0.9)]
    question = "히트 펌프는 왜 전기를 덜 쓰나요?"
    assert reserve_other_language(list(ranked), question, k=3, slots=2) == ranked
    assert reserve_other_language(list(ranked), question, k=2, slots=0) == ranked


def test_an_english_question_reserves_places_for_korean_passages():
    ranked = [cand(i, EN, 1.0 - i / 10, 0.8) for i in range(5)] + [cand(9, KO, 0.0, 0.78)]
    out = reserve_other_language(ranked, "How long does fast charging take?", k=4, slots=1)
    assert [c.chunk.id for c in out[:4]] == ["c0", "c1", "c2", "c9"]
