"""The shared text rules (rag.core.text) and the modules that must use them, not a copy of their own.

Citations, the judge, the semantic cache and the BM25 tokenizer once had their own stopword lists and
CJK ranges, so they disagreed on what a content word is. No model needed. The evaluation's answer-recall
tokens are the one deliberate exception: a published metric, frozen (rag/eval/metrics.py).
"""

from __future__ import annotations

import pytest

from rag.answer import citations, extractive, relevance
from rag.answer.cache import question_terms, same_question
from rag.backends import bm25
from rag.core import text
from rag.core.sentences import split_sentences
from rag.core.text import (
    FILLER,
    KO_PARTICLES,
    STOPWORDS,
    cjk_bigrams,
    cjk_share,
    content_terms,
    content_words,
    fold,
    has_cjk,
    is_cjk,
    is_hangul,
    is_number,
    split_particle,
    stem,
    words,
)
from rag.eval.metrics import key_tokens
from rag.judge.heuristic import content_units

# --- scripts ---------------------------------------------------------------------------------------------
HANGUL = ["한", "힣", "ㄱ", "ㅏ", "\u1100", "\u11a8", "\ua960", "\ud7b0"]  # syllables, compatibility + conjoining jamo
KANA = ["あ", "ン", "カ", "ｶ", "ㇰ"]  # hiragana, katakana, half-width, phonetic extension
HAN = ["漢", "字", "\u3400", "\uf900"]  # unified, extension A, compatibility
OTHER = ["a", "Z", "é", "1", " ", ".", "。", "Ω", "ж", ""]


@pytest.mark.parametrize("ch", HANGUL)
def test_hangul_is_cjk_and_hangul(ch):
    assert is_cjk(ch) and is_hangul(ch) and has_cjk(f"x{ch}y")


@pytest.mark.parametrize("ch", KANA + HAN)
def test_kana_and_han_are_cjk_but_not_hangul(ch):
    assert is_cjk(ch) and not is_hangul(ch) and has_cjk(ch)


@pytest.mark.parametrize("ch", OTHER)
def test_other_characters_are_not_cjk(ch):
    assert not is_cjk(ch) and not is_hangul(ch) and not has_cjk(ch)


def test_cjk_share_counts_letters_only():
    assert cjk_share("한글 text") == pytest.approx(2 / 6)
    assert cjk_share("2024!") == 0.0 and cjk_share("") == 0.0
    assert cjk_share("東京都に住む") == 1.0


def test_bigrams():
    assert cjk_bigrams("세종대왕") == ["세종", "종대", "대왕"]
    assert cjk_bigrams("물") == ["물"] and cjk_bigrams("") == []


def test_one_set_of_ranges_everywhere():
    """BM25 uses the core ranges (its persisted indexes depend on them); sentences the core Hangul test."""
    assert bm25.CJK_RUN is text.CJK_RUN
    assert bm25.Tokenizer()("한글 가 訓民正音") == ["한글", "가", "訓民", "民正", "正音"]
    # The sentence splitter's Korean rule ("갔다.그래서" splits without a space) uses is_hangul.
    assert len(split_sentences("학교에 갔다.그래서 늦었다.")) == 2
    assert len(split_sentences("Version 3.14 is out.")) == 1


# --- folding and words -----------------------------------------------------------------------------------
def test_folding_is_case_accent_width_and_apostrophe_insensitive():
    assert fold("Björk’s CAFÉ") == fold("bjork's cafe") == "bjork's cafe"
    assert fold("ＡＢＣ ﬁ") == "abc fi"  # NFKC: full-width letters, ligatures
    assert fold("が") == "が" and fold("한국어") == "한국어"  # voicing marks and Hangul survive accent folding


def test_words_keep_numbers_whole_and_drop_apostrophes():
    assert words("11,172 syllables, 3.14 and 1,2") == ["11172", "syllables", "3.14", "and", "1", "2"]
    assert words("The patients' O’Neill don't") == ["the", "patients", "oneill", "dont"]
    assert words("COVID-19유행 H1N1") == ["covid", "19", "유행", "h1n1"]
    assert is_number("3.14") and is_number("11172") and not is_number("h1n1")


def test_stemming_is_english_snowball_for_ascii_words_only():
    assert stem("running") == "run" and stem("policies") == "polici"
    assert stem("한글을") == "한글을" and stem("3.14") == "3.14"


# --- stopwords and content words -------------------------------------------------------------------------
def test_english_stopwords_go_and_numbers_stay():
    got = content_words("The number of cases was 11,172 in 2020, and 3.14 percent of them didn't recover.")
    assert got == {"number", "case", "11172", "2020", "3.14", "percent", "recov"}
    assert content_words("According to the documents, it is what it is.") == set()
    assert content_words("One of the first vaccines") == {"one", "first", "vaccin"}  # number words are numbers
    assert content_words("5 x 2") == {"5", "2"}  # single letters go, single digits stay


def test_a_korean_sentence_loses_its_particles_and_function_words():
    assert content_words("세종대왕은 훈민정음을 창제하였다") == {"세종대왕", "훈민정음", "창제하였다"}
    assert content_words("그리고 회사의 정책은 회사에서는") == {"회사", "정책"}
    assert content_words("大韓民國은") == {"大韓", "韓民", "民國"}  # a particle after Hanja stands alone
    assert content_words("물을 마셨다") == {"물을", "마셨다"}  # one syllable left: not a particle
    assert split_particle("세종대왕이") == ("세종대왕", "이") and split_particle("국가") == ("국가", "")


def test_han_and_kana_become_bigrams():
    assert content_terms("東京都に住む") == ["東京", "京都", "都に", "に住", "住む"]


def test_the_word_lists_are_one_list():
    assert set(KO_PARTICLES) <= STOPWORDS  # a particle alone is never content
    assert FILLER <= STOPWORDS  # what the cache may ignore is a part of the one list
    assert not {"one", "two", "first", "second", "third"} & STOPWORDS


# --- every consumer uses the same content words ----------------------------------------------------------
SAMPLES = [
    "How many days of annual leave do full-time employees get after 2 years?",
    "The incubation period of SARS-CoV-2 is 5.2 days, according to Björk's 2020 studies.",
    "Which planets have rings larger than Saturn's?",
    "세종대왕은 1443년에 훈민정음을 창제하였다",
]


def test_citations_and_the_extractive_generator_use_the_core_content_words():
    assert citations.content_words is content_words
    assert extractive.content_words is content_words
    assert relevance.content_words is content_words


@pytest.mark.parametrize("sample", SAMPLES)
def test_the_judge_compares_the_core_content_words(sample):
    """The heuristic's units are the content words in its looser form: 5-letter prefixes, Hangul bigrams,
    numbers as values."""
    expected = set()
    for word in content_words(sample):
        if is_number(word):
            continue
        expected |= set(cjk_bigrams(word)) if is_cjk(word[0]) else {word[:5]}
    assert {u for u in content_units(sample) if not u.startswith("#")} == expected
    assert {u for u in content_units(sample) if u.startswith("#")} == {
        f"#{float(w):g}" for w in content_words(sample) if is_number(w)
    }


@pytest.mark.parametrize("sample", SAMPLES)
def test_the_cache_keeps_every_content_word(sample):
    """A question's cache terms are its content words in order plus function words that change it, so
    two questions that differ in a content word never share an answer."""
    assert set(question_terms(sample)) >= content_words(sample)
    assert [t for t in question_terms(sample) if t in content_words(sample)] == content_terms(sample)


def test_the_cache_keeps_korean_particles_as_terms():
    """Particles say who did what to whom: they stay, as their own terms after the content word."""
    assert question_terms("세종대왕이 누구야?") == ("세종대왕", "이", "누구야")
    assert not same_question("철수가 영희를 이겼나?", "철수를 영희가 이겼나?")


def test_the_evaluation_metric_keeps_its_frozen_definition():
    """answer recall is a published metric: its tokens stay as defined when the app's text rules change."""
    assert key_tokens("Revenue was $1,234.5 million, including 12% growth.") == {
        "revenue",
        "1234.5",
        "million",
        "including",
        "12",
        "growth",
    }


def test_the_same_sample_gives_the_same_words_to_citations_judge_and_cache():
    sample = "Mars has two small moons, Phobos and Deimos, discovered in 1877."
    words_ = content_words(sample)
    assert words_ == {"mar", "two", "small", "moon", "phobo", "deimo", "discov", "1877"}
    assert citations.content_words(sample) == words_
    assert set(question_terms(sample)) >= words_
    assert content_units(sample) == {w[:5] for w in words_ if not is_number(w)} | {"#1877"}
    passage = citations.content_words("Phobos and Deimos, the moons of Mars, were found in 1877.")
    assert citations.overlap(words_, passage) == pytest.approx(5 / 8)
