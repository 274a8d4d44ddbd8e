"""Issue 16: the extractive composer on real PDF text (the prompt-engineering whitepaper, read by pypdf)
with the real MiniLM, and relevance through the real answer road."""

from __future__ import annotations

import re

import pytest

from ingest.loaders import load_document
from rag.answer.extractive import ExtractiveComposer
from rag.answer.relevance import assess_relevance
from rag.core.types import Chunk, Hit, LoadedDocument, Source
from tests.conftest import SAMPLES, shared


@pytest.fixture(scope="module")
def whitepaper() -> LoadedDocument:
    return load_document(shared("pdf", "long_en", "google_prompt_engineering_whitepaper_2024.pdf"))


def page_sources(doc: LoadedDocument, anchors: list[str]) -> list[Source]:
    """One source per page holding an anchor, in the anchors' order (as retrieval would rank them)."""
    sources: list[Source] = []
    for anchor in anchors:
        at = doc.text.find(anchor)
        assert at >= 0, f"anchor not in the whitepaper text: {anchor!r}"
        span = next(p for p in doc.pages if p.start <= at < p.end)
        text = doc.text[span.start : span.end]
        chunk = Chunk(
            f"p{span.number}", doc.doc_id, "parent-child", len(sources), text, span.start, span.end,
            doc.source, doc.title, span.number, span.number,
        )  # fmt: skip
        sources.append(Source(len(sources) + 1, Hit(chunk, 1.0)))
    return sources


COT_PAGES = [
    "Table 12. An example of Chain of Thought prompting",
    "Chain of Thought (CoT) 9 prompting",
    "A visualization of chain of thought prompting",
    "Chain of thought prompting is based on greedy decoding",
    "• Chain of thought",
]
STEP_BACK_PAGES = ["• Step-back prompting", "Step-back8 prompting", "Let’s first review a traditional prompt"]
TEMPERATURE_PAGES = ["start\nwith a temperature of 0", "Temperature controls the degree of randomness"]


def sentences(answer: str) -> list[str]:
    return [s for s in re.split(r"(?<=\])[.!?]\s*|(?<=[.!?])\s+(?=[A-Z])", answer) if s.strip()]


def test_what_is_chain_of_thought_quotes_the_definition(whitepaper, embedder):
    composer = ExtractiveComposer(embedder)
    question = "What is chain of thought prompting?"
    answer = composer.generate(question, page_sources(whitepaper, COT_PAGES))
    assert answer.startswith(
        "Chain of Thought (CoT) prompting is a technique for improving the reasoning capabilities of LLMs by "
        "generating intermediate reasoning steps [2]."
    ), answer
    for caption in ("An example of", "Table", "visualization", "Alright"):
        assert caption not in answer
    assert "\t" not in answer and "(CoT) 9" not in answer and "  " not in answer
    assert len(sentences(answer)) <= 3 and all(re.search(r"\[\d\]", s) for s in sentences(answer))
    assert answer == composer.generate(question, page_sources(whitepaper, COT_PAGES))  # deterministic
    assert assess_relevance(question, answer).band == "high"


def test_what_is_step_back_prompting_is_not_a_list_of_headings(whitepaper, embedder):
    answer = ExtractiveComposer(embedder).generate(
        "What is step-back prompting?", page_sources(whitepaper, STEP_BACK_PAGES)
    )
    assert "Step-back prompting is a technique for improving the performance by prompting the LLM" in answer
    assert "Step-back prompting [1]" not in answer and "•" not in answer and "back8" not in answer
    assert answer.index("Step-back prompting is a technique") == 0


def test_fact_lookups_still_work(whitepaper, embedder):
    answer = ExtractiveComposer(embedder).generate(
        "What temperature should I use for factual tasks?", page_sources(whitepaper, TEMPERATURE_PAGES)
    )
    assert "start with a temperature of 0" in answer


def test_relevance_in_the_answer_and_its_json(make_app):
    qa = make_app()
    qa.library.add_paths([SAMPLES / "solar_system_guide.md"])
    answer = qa.answerer.answer("How long does Mercury take to orbit the Sun?")
    assert answer.mode == "extractive" and "88 Earth days" in answer.text
    assert answer.relevance is not None and answer.relevance.band == "high"
    as_json = answer.to_dict()
    assert as_json["relevance"]["score"] == pytest.approx(answer.relevance.score, abs=1e-4)
    assert {"answer", "citations", "sources", "mode", "faithfulness"} <= set(as_json)
    follow = qa.answerer.answer("and Mars?", history=[("How many moons does Mercury have?", "")])
    assert follow.standalone_question == "How many moons does Mars have?"
    assert "two small moons" in follow.text


def _sources(texts: list[str]) -> list[Source]:
    return [
        Source(i + 1, Hit(Chunk(f"c{i}", "d", "parent-child", i, t, 0, len(t), "notes.txt", "notes"), 1.0))
        for i, t in enumerate(texts)
    ]


@pytest.mark.parametrize(
    ("question", "texts", "gold"),
    [
        (
            "세종대왕이 훈민정음을 반포한 해는 언제인가?",
            [
                "세종대왕은 조선의 제4대 왕으로 1418년에 즉위하였다. 세종대왕은 집현전을 설치하여 학자들을 "
                "모았다. 세종대왕의 업적은 과학과 음악에도 미쳤다. 세종대왕은 1450년에 세상을 떠났다.",
                "훈민정음은 1446년에 반포되었다. 세종대왕 시대에는 측우기도 만들어졌다.",
            ],
            "훈민정음은 1446년에 반포되었다",
        ),
        (
            "이순신 장군이 명량 해전에서 이끈 배는 몇 척인가?",
            [
                "이순신 장군은 조선 중기의 무신이다. 이순신 장군은 1545년에 태어났다. 이순신 장군은 임진왜란 때 "
                "여러 해전에서 승리하였다. 이순신 장군은 거북선을 개량하였다.",
                "명량 해전에서 조선 수군은 13척의 배로 일본 수군을 물리쳤다. 이 해전은 1597년에 벌어졌다.",
            ],
            "13척의 배로",
        ),
    ],
    ids=["sejong", "yi-sun-sin"],
)
def test_korean_answers_quote_the_sentence_with_the_questions_rare_words(embedder, question, texts, gold):
    """MiniLM cannot read Hangul, so its cosine ranks these sentences at random; before the rare-word weight
    (idf_overlap) both answers were three sentences about the king or the admiral, without the answer."""
    answer = ExtractiveComposer(embedder).compose(question, _sources(texts))
    assert gold in answer and "[2]" in answer, answer


def test_a_sentence_sharing_only_the_common_words_is_not_quoted(embedder):
    """ "COVID-19" and "period" are in the decoy too; "median incubation" is what picks the answer."""
    texts = [
        "COVID-19 is caused by the coronavirus SARS-CoV-2. COVID-19 spread from Wuhan to many countries in early "
        "2020. Patients with COVID-19 commonly report fever and cough. The period of COVID-19 hospital stays was "
        "long for older patients.",
        "The median incubation period was estimated at 5.1 days. Most patients developed symptoms within 12 days.",
    ]
    answer = ExtractiveComposer(embedder).compose("What is the median incubation period of COVID-19?", _sources(texts))
    assert answer.startswith("The median incubation period was estimated at 5.1 days [2]"), answer
    assert "hospital stays" not in answer
