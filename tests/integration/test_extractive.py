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
