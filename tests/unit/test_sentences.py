"""The sentence splitter: real splits (abbreviations, decimals, Korean, newlines) and span invariants.

The chunkers and citation alignment trust `split_sentences` to lose no text, so the span invariants are
checked with hypothesis over random mixed-script text; the expected splits pin down behaviour that the
benchmark (`benchmarks/sentences.py`) measured on real documents.
"""

from __future__ import annotations

import time
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.core.sentences import RuleSentenceSplitter, split_sentences


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dr. Smith arrived. He sat down.", ["Dr. Smith arrived.", "He sat down."]),
        ("The U.S. economy grew. Prices rose.", ["The U.S. economy grew.", "Prices rose."]),
        ("He moved to the U.S. The next year he left.", ["He moved to the U.S.", "The next year he left."]),
        ("Smith et al. showed this. Others disagreed.", ["Smith et al. showed this.", "Others disagreed."]),
        ("Lee et al. (2002) engineered it. It worked.", ["Lee et al. (2002) engineered it.", "It worked."]),
        ("See Fig. 3 for details. The results are clear.", ["See Fig. 3 for details.", "The results are clear."]),
        ("It works, i.e. it runs. Good.", ["It works, i.e. it runs.", "Good."]),
        ("Use e.g. The Lancet style. Done.", ["Use e.g. The Lancet style.", "Done."]),
        ("J. R. R. Tolkien wrote it. It sold well.", ["J. R. R. Tolkien wrote it.", "It sold well."]),
        ("Mr. Brown left at 5 p.m. yesterday. He returned.", ["Mr. Brown left at 5 p.m. yesterday.", "He returned."]),
        ("We used approx. 5 mL per dose. It worked.", ["We used approx. 5 mL per dose.", "It worked."]),
        (
            "It was caused by hepatitis B. During 2019 it rose.",
            ["It was caused by hepatitis B.", "During 2019 it rose."],
        ),
        ("Ae. albopictus bites. It spreads CHIKV.", ["Ae. albopictus bites.", "It spreads CHIKV."]),
    ],
)
def test_abbreviations_do_not_end_sentences(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Pi is 3.14 approximately. Yes.", ["Pi is 3.14 approximately.", "Yes."]),
        ("Version v2.0 was released in 2021. It is stable.", ["Version v2.0 was released in 2021.", "It is stable."]),
        ("The fee was $4.50 per item. That is cheap.", ["The fee was $4.50 per item.", "That is cheap."]),
        ("The rate was 0.5%. The CI was 0.2-0.8.", ["The rate was 0.5%.", "The CI was 0.2-0.8."]),
        ("See Section 2.1. It explains this.", ["See Section 2.1.", "It explains this."]),
        ("Visit www.example.com. It is free.", ["Visit www.example.com.", "It is free."]),
        ("Python 3.11.4 is out.", ["Python 3.11.4 is out."]),
    ],
)
def test_decimals_versions_and_urls(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('He said, "Stop." Then he left.', ['He said, "Stop."', "Then he left."]),
        ("(This is an aside.) Next sentence.", ["(This is an aside.)", "Next sentence."]),
        ("Really?! Yes. No...", ["Really?!", "Yes.", "No..."]),
        ("Wait... what happened? Nothing.", ["Wait... what happened?", "Nothing."]),
        ("It is blue.[1] It is big [2].", ["It is blue.[1]", "It is big [2]."]),
        ("It rose. [3, 4] Then it fell.", ["It rose. [3, 4]", "Then it fell."]),
        ("It spread fast. 5, 19, 20 Fever was common.", ["It spread fast. 5, 19, 20", "Fever was common."]),
        ("It is 0.5. b) There is more.", ["It is 0.5.", "b) There is more."]),
        ("今日は晴れです。明日は雨です。", ["今日は晴れです。", "明日は雨です。"]),
    ],
)
def test_quotes_brackets_and_citation_markers(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("그는 학교에 갔다. 그녀는 집에 있었다.", ["그는 학교에 갔다.", "그녀는 집에 있었다."]),
        ("밥을 먹었어요.정말 맛있었어요.", ["밥을 먹었어요.", "정말 맛있었어요."]),
        ("어디 가세요? 학교에 가요.", ["어디 가세요?", "학교에 가요."]),
        ("정말 그런가?그렇다.", ["정말 그런가?", "그렇다."]),
        ("살아 남았다고 한다.〈창세기〉에 나온다.", ["살아 남았다고 한다.", "〈창세기〉에 나온다."]),
        ('그가 "안녕하세요."라고 말했다. 그리고 떠났다.', ['그가 "안녕하세요."라고 말했다.', "그리고 떠났다."]),
        ('그는 "왜?"라고 물었다. 답은 없었다.', ['그는 "왜?"라고 물었다.', "답은 없었다."]),
        ("버전 2.0이 출시되었다. 가격은 3.5달러이다.", ["버전 2.0이 출시되었다.", "가격은 3.5달러이다."]),
        ("지명수배되었다. 1989년 3월에 발부받았다.", ["지명수배되었다.", "1989년 3월에 발부받았다."]),
        ("시속 4,500,000 Hz로 정했다. 10 W 증폭기를 쓴다.", ["시속 4,500,000 Hz로 정했다.", "10 W 증폭기를 쓴다."]),
        ("비타민 C. 그리고 철분을 먹었다.", ["비타민 C.", "그리고 철분을 먹었다."]),
        ("그는 존 F. 케네디를 만났다.", ["그는 존 F. 케네디를 만났다."]),
        ("The WHO said so. 세계보건기구는 그렇게 말했다.", ["The WHO said so.", "세계보건기구는 그렇게 말했다."]),
        ("추가하여 한\n다. KorQuAD 2.0은 좋다.", ["추가하여 한\n다.", "KorQuAD 2.0은 좋다."]),
    ],
)
def test_korean(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("First paragraph without a period\n\nSecond one", ["First paragraph without a period", "Second one"]),
        ("one\n \t\ntwo", ["one", "two"]),
        ("This line wraps\nacross two lines. Next.", ["This line wraps\nacross two lines.", "Next."]),
        ("In this study we used\nVero cells for culture.", ["In this study we used\nVero cells for culture."]),
        ("이 문장은 PDF에서 줄이\n바뀌었지만 한 문장이다.", ["이 문장은 PDF에서 줄이\n바뀌었지만 한 문장이다."]),
        ("we gave\n1.5 mg of drug to all\nPatients here.", ["we gave\n1.5 mg of drug to all\nPatients here."]),
        ("Methods\nWe enrolled 200 patients in 2019.", ["Methods", "We enrolled 200 patients in 2019."]),
        ("ABSTRACT\nThis paper studies splitting.", ["ABSTRACT", "This paper studies splitting."]),
        ("# Title\nBody text here.", ["# Title", "Body text here."]),
        ("2.1 Data collection\nWe collected samples.", ["2.1 Data collection", "We collected samples."]),
        ("Results:\n1. First item.\n2. Second item.", ["Results:", "1. First item.", "2. Second item."]),
        ("- bullet one\n- bullet two", ["- bullet one", "- bullet two"]),
        ("• First\n• Second", ["• First", "• Second"]),
        ("다음과 같다.\n1. 첫째 항목\n2. 둘째 항목", ["다음과 같다.", "1. 첫째 항목", "2. 둘째 항목"]),
        ("1. 서론\n본 연구는 문장 분리를 다룬다.", ["1. 서론", "본 연구는 문장 분리를 다룬다."]),
        ("제1조(목적)\n이 법은 안전을 보장한다.", ["제1조(목적)", "이 법은 안전을 보장한다."]),
        ("Putting it all together\n" + "Choosing between all the settings depends on the task. " * 2, None),
        ("coefficient of variation\n0.86. The onset", ["coefficient of variation\n0.86.", "The onset"]),
    ],
)
def test_newlines(text: str, expected: list[str] | None) -> None:
    got = sentences(text)
    if expected is None:  # a sentence-case heading before a much longer line
        assert got[0] == "Putting it all together"
        assert len(got) == 3
    else:
        assert got == expected


def test_empty_and_blank_inputs() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\n\t ") == []
    assert split_sentences("  word  ") == [(2, 6)]


def test_splitter_object_matches_function() -> None:
    text = "Dr. Who left. 그는 갔다.그래서 끝났다."
    splitter = RuleSentenceSplitter()
    assert splitter(text) == split_sentences(text)
    assert splitter.sentences(text) == ["Dr. Who left.", "그는 갔다.", "그래서 끝났다."]


ALPHABET = st.sampled_from(
    [
        *"aAbZxé가다요까그ㄱ0123456789.!?…。\"'“”()[]〈《》,:;-•#*\n \t\r\f\u3000\u00a0",
        "Dr. ",
        "e.g. ",
        "U.S. ",
        "3.14",
        "다. ",
        "요.",
        "\n\n",
        "\n1. ",
        "\n- ",
        " et al. ",
        "[1] ",
        "Fig. ",
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ALPHABET, max_size=120).map("".join))
def test_spans_cover_all_text_in_order(text: str) -> None:
    spans = split_sentences(text)
    covered = set()
    last_end = 0
    for a, b in spans:
        assert 0 <= last_end <= a < b <= len(text)  # ordered, non-overlapping, non-empty
        assert not text[a].isspace() and not text[b - 1].isspace()  # stripped
        covered.update(range(a, b))
        last_end = b
    missing = [i for i, c in enumerate(text) if not c.isspace() and i not in covered]
    assert missing == []


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_spans_cover_arbitrary_unicode(text: str) -> None:
    spans = split_sentences(text)
    covered = "".join(text[a:b] for a, b in spans)
    assert "".join(text.split()) == "".join(covered.split())
    assert all(b1 <= a2 for (_, b1), (a2, _) in pairwise(spans))


def test_paragraph_breaks_always_end_sentences() -> None:
    text = "no period here\n\nand lowercase here\n\n\nDr.\n\nFig.\n\n3.14"
    assert sentences(text) == ["no period here", "and lowercase here", "Dr.", "Fig.", "3.14"]


@pytest.mark.parametrize(
    "text",
    [
        "." * 250_000,
        "a." * 125_000,
        "Dr. " * 60_000,
        "\n" * 250_000,
        "갔다.그" * 60_000,
        "x. [1]" * 40_000,
        "1. A\n" * 50_000,
    ],
    ids=["dots", "no-space", "abbreviations", "newlines", "korean", "markers", "list"],
)
def test_pathological_inputs_stay_linear(text: str) -> None:
    """Worst cases for the look-backs and the per-line pass (a quadratic bug would take minutes here)."""
    start = time.perf_counter()
    split_sentences(text)
    assert time.perf_counter() - start < 5


def test_one_million_characters_is_fast() -> None:
    """A 300-page book (~1M characters) must not stall ingestion (generous bound for shared CI cores)."""
    text = "The U.S. Army paid 3.14 e.g. in 2020. 그는 갔다. See Fig. 3 for this.\nIt wraps here\n\n" * 14_000
    start = time.perf_counter()
    spans = split_sentences(text)
    assert time.perf_counter() - start < 10
    assert len(text) > 1_000_000
    assert len(spans) == 4 * 14_000
