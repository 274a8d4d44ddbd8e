"""Properties of the three chunkers, with the real MiniLM tokenizer.

Chunkers take sentence spans as input, so these tests feed them spans from a simple regex and check the
invariants every later stage relies on: coverage, configured overlap, children inside parents, limits.
"""

from __future__ import annotations

import itertools
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.chunkers import OverlapChunker, ParentChildChunker, SentenceChunker
from rag.core.types import LoadedDocument, PageSpan

WORDS = [
    "the", "patient", "virus", "3.14", "Dr.", "et", "al.", "protein", "binding", "affinity", "was", "measured",
    "over", "12", "days", "in", "Seoul", "바이러스는", "세포에", "결합한다", "internationalization", "COVID-19",
    "e.g.", "results", "(n=42)", "significantly", "reduced", "mortality", "—", "ratio",
]  # fmt: skip


def make_doc(pages: list[str], sections: tuple = ()) -> LoadedDocument:
    text, spans, pos = "", [], 0
    for i, page in enumerate(pages, start=1):
        if i > 1:
            text += "\n\n"
            pos += 2
        spans.append(PageSpan(i, pos, pos + len(page)))
        text += page
        pos += len(page)
    return LoadedDocument(
        source="t.pdf", path="/t.pdf", doc_id="d" * 32, title="T", text=text, pages=tuple(spans), sections=sections
    )


def regex_sentences(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"[^.!?\n]+[.!?]*", text) if m.group().strip()]


sentence_text = st.lists(st.sampled_from(WORDS), min_size=1, max_size=40).map(lambda ws: " ".join(ws) + ".")
page_text = st.lists(sentence_text, min_size=1, max_size=12).map(" ".join)
long_page = st.lists(st.sampled_from(WORDS), min_size=300, max_size=700).map(" ".join)  # no sentence ends
pages = st.lists(st.one_of(page_text, long_page), min_size=1, max_size=4)

FAST = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def covered(text: str, spans: list[tuple[int, int]]) -> bool:
    mask = [False] * len(text)
    for a, b in spans:
        for i in range(a, b):
            mask[i] = True
    return all(mask[i] or text[i].isspace() for i in range(len(text)))


@FAST
@given(pages)
def test_sentence_chunks_cover_text_and_respect_limit(counter, page_list):
    doc = make_doc(page_list)
    chunks = SentenceChunker(counter, min_tokens=6).chunk(doc, regex_sentences(doc.text))
    spans = [(c.start, c.end) for c in chunks]
    assert covered(doc.text, spans)
    assert all(a < b for a, b in spans)
    assert all(spans[i][1] <= spans[i + 1][0] for i in range(len(spans) - 1)), "sentence chunks must not overlap"
    assert max(counter.count([c.text for c in chunks])) <= counter.max_tokens
    assert all(c.text == doc.text[c.start : c.end] for c in chunks)


@FAST
@given(pages, st.sampled_from([(64, 16), (128, 32), (200, 40), (300, 0)]))
def test_overlap_windows_cover_overlap_as_configured_and_fit(counter, page_list, sizes):
    size, overlap = sizes
    doc = make_doc(page_list)
    chunker = OverlapChunker(counter, size, overlap)
    chunks = chunker.chunk(doc, regex_sentences(doc.text))
    limit = min(size, counter.max_tokens)
    assert covered(doc.text, [(c.start, c.end) for c in chunks])
    assert max(counter.count([c.text for c in chunks])) <= limit
    for prev, nxt in itertools.pairwise(chunks):
        assert nxt.start > prev.start
        shared = doc.text[nxt.start : prev.end] if nxt.start < prev.end else ""
        n_shared = counter.count([shared])[0] if shared.strip() else 0
        if overlap == 0:
            assert n_shared == 0
        else:  # configured overlap, plus at most a few pieces to start on a word boundary
            assert overlap <= n_shared <= overlap + 8, (n_shared, overlap)


@FAST
@given(pages, st.sampled_from([(32, 128), (96, 512), (64, 256)]))
def test_children_lie_inside_parents_and_fit(counter, page_list, sizes):
    child_max, parent_max = sizes
    doc = make_doc(page_list)
    chunks = ParentChildChunker(counter, child_max, parent_max).chunk(doc, regex_sentences(doc.text))
    parents = {c.id: c for c in chunks if c.role == "parent"}
    children = [c for c in chunks if c.role == "child"]
    assert parents and children
    for child in children:
        parent = parents[child.parent_id]
        assert parent.start <= child.start < child.end <= parent.end
    assert max(counter.count([c.text for c in children])) <= child_max
    assert max(counter.count([p.text for p in parents.values()])) <= parent_max
    assert covered(doc.text, [(c.start, c.end) for c in children])
    assert all(parent.id in {c.parent_id for c in children} for parent in parents.values())


def test_ids_are_deterministic_and_depend_on_parameters(counter):
    doc = make_doc(["Alpha beta gamma delta. " * 50, "Second page sentence here. " * 40])
    sents = regex_sentences(doc.text)
    a = OverlapChunker(counter, 64, 16).chunk(doc, sents)
    b = OverlapChunker(counter, 64, 16).chunk(doc, sents)
    c = OverlapChunker(counter, 64, 8).chunk(doc, sents)
    assert [x.id for x in a] == [x.id for x in b]
    assert {x.id for x in a}.isdisjoint({x.id for x in c})
    assert len({x.id for x in a}) == len(a)


def test_pages_and_page_offsets_map_back(counter):
    pages_ = ["First page talks about pumps. It has two sentences.", "Second page is about coils and fans."]
    doc = make_doc(pages_)
    chunks = SentenceChunker(counter, min_tokens=1).chunk(doc, regex_sentences(doc.text))
    for c in chunks:
        assert c.page_start == c.page_end
        page = pages_[c.page_start - 1]
        assert page[c.page_char_start : c.page_char_end] == c.text
    assert {c.page_start for c in chunks} == {1, 2}


def test_parents_do_not_cross_markdown_headings(counter):
    body = "# Intro\nShort intro sentence here.\n\n# Methods\nWe measured things carefully today."
    sections = ((0, "Intro"), (body.index("# Methods"), "Methods"))
    doc = make_doc([body], sections)
    chunks = ParentChildChunker(counter, 96, 512, min_tokens=1).chunk(doc, regex_sentences(doc.text))
    parents = [c for c in chunks if c.role == "parent"]
    assert [p.section for p in parents] == ["Intro", "Methods"]


def test_cjk_text_without_spaces_is_windowed_in_linear_steps(counter):
    text = "这是一个没有空格的很长的中文句子" * 200  # no spaces, no sentence ends
    doc = make_doc([text])
    chunks = OverlapChunker(counter, 64, 16).chunk(doc, [(0, len(text))])
    assert max(counter.count([c.text for c in chunks])) <= 64
    pieces = len(counter.spans(text))
    assert len(chunks) <= pieces // (64 - 16 - 8) + 2  # progress of at least size-overlap-8 pieces
