"""Citation markers -> the supporting sentence, file and page (real MiniLM, hand-made sources)."""

from __future__ import annotations

import numpy as np

from rag.answer.citations import page_at, parse_markers, resolve_citations
from rag.answer.prompts import REFUSAL
from rag.core.types import Chunk, Hit, Source

# Page 3 ends after "World's Fair." and page 4 starts with "It is 330 metres tall." (pages joined by a
# blank line, as the loaders do); the chunk starts 100 characters into page 3.
PAGE3_PART = "The Eiffel Tower was completed in 1889 for the World's Fair. It was designed by Gustave Eiffel's company."
PAGE4_PART = "It is 330 metres tall. The tower receives about seven million visitors every year."
TOWER_TEXT = f"{PAGE3_PART}\n\n{PAGE4_PART}"
PLANTS_TEXT = (
    "Photosynthesis converts light energy into chemical energy. Chlorophyll absorbs mostly blue and red light. "
    "Plants store the energy as glucose."
)


def make_chunk(text: str, file: str, doc: str, **extra: object) -> Chunk:
    start = int(extra.pop("start", 0))
    values = {
        "id": f"{doc}-{start}",
        "doc_id": doc,
        "strategy": "sentence",
        "index": 0,
        "text": text,
        "start": start,
        "end": start + len(text),
        "source": file,
        "title": file,
        **extra,
    }
    return Chunk(**values)


def tower_source(number: int = 1) -> Source:
    chunk = make_chunk(
        TOWER_TEXT, "tower.pdf", "d1", page_start=3, page_end=4, page_char_start=100, page_char_end=len(PAGE4_PART)
    )
    return Source(number=number, hit=Hit(chunk=chunk, score=1.0))


def plants_source(number: int = 2) -> Source:
    return Source(number=number, hit=Hit(chunk=make_chunk(PLANTS_TEXT, "plants.md", "d2"), score=0.9))


class CountingEmbedder:
    """The real embedder, counting calls (resolve_citations must batch everything in one call)."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.calls = inner, inner.name, 0

    def warm_up(self) -> None:
        self.inner.warm_up()

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed(self, texts) -> np.ndarray:
        self.calls += 1
        return self.inner.embed(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


# ---------------------------------------------------------------------------------- parse_markers


def test_parse_markers_forms_and_invalid_numbers():
    text = (
        "The tower opened in 1889 [1]. Plants store glucose [2][3]. Both are facts [1, 2]. "
        "It has 9 lifts [9]. Energy comes from light [1-3]. No marker here."
    )
    sentences, dropped = parse_markers(text, 3)
    assert [s.markers for s in sentences] == [(1,), (2, 3), (1, 2), (), (1, 2, 3), ()]
    assert [s.text for s in sentences][:4] == [
        "The tower opened in 1889.",
        "Plants store glucose.",
        "Both are facts.",
        "It has 9 lifts.",
    ]
    assert dropped == 1
    assert text[sentences[0].start : sentences[0].end] == "The tower opened in 1889 [1]."


def test_parse_markers_after_the_period_belong_to_the_previous_sentence():
    sentences, dropped = parse_markers("The tower opened in 1889. [1] Plants store glucose. [2][7]", 2)
    assert [(s.text, s.markers) for s in sentences] == [
        ("The tower opened in 1889.", (1,)),
        ("Plants store glucose.", (2,)),
    ]
    assert dropped == 1


def test_parse_markers_variants():
    sentences, dropped = parse_markers("A fact [Source 2]. Another [source 1, source 2]. Zero [0].", 2)
    assert [s.markers for s in sentences] == [(2,), (1, 2), ()]
    assert dropped == 1
    assert parse_markers("Nothing cited.", 0) == (parse_markers("Nothing cited.", 0)[0], 0)


# ------------------------------------------------------------------------------ resolve_citations


def test_markers_resolve_to_file_page_and_supporting_sentence(embedder):
    sources = [tower_source(), plants_source()]
    answer = (
        "The Eiffel Tower was finished in 1889 [1]. The tower is 330 metres high [1]. "
        "Chlorophyll mostly absorbs blue and red light [2]."
    )
    counting = CountingEmbedder(embedder)
    citations, dropped = resolve_citations(answer, sources, counting)
    assert dropped == 0 and counting.calls == 1
    assert [(c.source_number, c.file, c.page, c.cited) for c in citations] == [
        (1, "tower.pdf", 3, True),
        (1, "tower.pdf", 4, True),  # the supporting sentence lies on the chunk's second page
        (2, "plants.md", None, True),
    ]
    assert citations[0].supporting_sentence == "The Eiffel Tower was completed in 1889 for the World's Fair."
    assert citations[1].supporting_sentence == "It is 330 metres tall."
    assert citations[2].supporting_sentence == "Chlorophyll absorbs mostly blue and red light."
    assert citations[0].answer_sentence == "The Eiffel Tower was finished in 1889."
    for c, source in zip(citations, [sources[0], sources[0], sources[1]], strict=True):
        assert source.chunk.text[c.support_start : c.support_end] == c.supporting_sentence
        assert 0.5 < c.score <= 1.0


def test_invalid_marker_is_dropped_and_sentence_left_uncited(embedder):
    sources = [tower_source(), plants_source()]
    answer = "The tower is 330 metres tall [9]. Plants keep their energy as glucose."
    citations, dropped = resolve_citations(answer, sources, embedder)
    assert dropped == 1
    assert [(c.source_number, c.cited) for c in citations] == [(1, False), (2, False)]
    assert citations[0].supporting_sentence == "It is 330 metres tall."
    assert citations[0].page == 4
    assert citations[1].supporting_sentence == "Plants store the energy as glucose."


def test_multi_marker_sentence_gets_one_citation_per_source(embedder):
    sources = [tower_source(), plants_source()]
    answer = "The tower was completed in 1889, and chlorophyll absorbs red light [1][2]."
    citations, dropped = resolve_citations(answer, sources, embedder)
    assert dropped == 0
    assert [(c.source_number, c.cited) for c in citations] == [(1, True), (2, True)]
    assert "1889" in citations[0].supporting_sentence
    assert citations[1].supporting_sentence.startswith("Chlorophyll")
    assert citations[0].answer_sentence == citations[1].answer_sentence


def test_numbers_decide_between_similar_sentences(embedder):
    text = "Version 2 was released in 2019. Version 3 was released in 2021. Version 4 was released in 2023."
    source = Source(1, Hit(make_chunk(text, "notes.txt", "d3"), 1.0))
    citations, _ = resolve_citations("Version 3 came out in 2021 [1].", [source], embedder)
    assert citations[0].supporting_sentence == "Version 3 was released in 2021."


def test_parent_child_cites_inside_the_parent(embedder):
    parent = make_chunk(
        TOWER_TEXT,
        "tower.pdf",
        "d1",
        start=500,
        strategy="parent-child",
        role="parent",
        page_start=3,
        page_end=4,
        page_char_start=100,
        page_char_end=len(PAGE4_PART),
    )
    child_start = TOWER_TEXT.index(PAGE4_PART)
    child = make_chunk(
        PAGE4_PART,
        "tower.pdf",
        "d1",
        start=500 + child_start,
        strategy="parent-child",
        role="child",
        page_start=4,
        page_end=4,
        parent_id=parent.id,
    )
    source = Source(1, Hit(chunk=parent, score=1.0, matched=child))
    citations, _ = resolve_citations("It was built in 1889 and is 330 metres tall [1].", [source], embedder)
    assert len(citations) == 1
    c = citations[0]
    assert parent.text[c.support_start : c.support_end] == c.supporting_sentence
    assert c.page == (4 if c.support_start >= child_start else 3)
    # A claim only the parent's first page supports is still found (citing within the parent text).
    citations, _ = resolve_citations("Gustave Eiffel's company designed it [1].", [source], embedder)
    assert citations[0].supporting_sentence == "It was designed by Gustave Eiffel's company."
    assert citations[0].page == 3


def test_refusal_and_empty_inputs_yield_no_citations(embedder):
    sources = [tower_source(), plants_source()]
    assert resolve_citations(REFUSAL, sources, embedder) == ([], 0)
    assert resolve_citations("", sources, embedder) == ([], 0)
    assert resolve_citations("The tower is tall [1].", [], embedder) == ([], 1)


def test_page_at_offsets():
    two = tower_source().chunk
    assert page_at(two, 0) == 3
    assert page_at(two, TOWER_TEXT.index("It is 330")) == 4
    assert page_at(make_chunk("x" * 10, "t.txt", "d"), 5) is None
    three = make_chunk("a" * 300, "f.pdf", "d", page_start=1, page_end=3, page_char_end=100)
    assert [page_at(three, o) for o in (0, 150, 250)] == [1, 2, 3]
