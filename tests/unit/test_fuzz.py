"""Bounded fuzzing of the loaders and chunkers (hypothesis; the whole file runs in well under 60 s).

Loaders: random bytes behind a %PDF- header, byte-level mutations of real PDFs, and random bytes named
.txt/.md must give a LoadedDocument or a LoadError, never another exception and never a hang (each
example runs under a SIGALRM watchdog). Chunkers: random Unicode text through split_sentences and all
three chunkers keeps every invariant later stages rely on.
"""

from __future__ import annotations

import itertools
import os
import signal
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.chunkers import OverlapChunker, ParentChildChunker, SentenceChunker
from ingest.loaders import LoadError, load_document
from rag.core.sentences import split_sentences
from rag.core.types import LoadedDocument, PageSpan
from tests.conftest import SAMPLES, SHARED_DATA

EXAMPLE_LIMIT_S = 10  # one load of a few KB; anything slower is a hang
FUZZ = settings(
    max_examples=int(os.environ.get("DOCQA_FUZZ_EXAMPLES", "50")),  # raise for a longer local hunt
    deadline=None,
    derandomize=True,  # reproducible in CI
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SEED_PDFS = [SAMPLES / "heat_pumps.pdf"]
SEED_PDFS += sorted((SHARED_DATA / "pdf" / "pypdf_sample_files").glob("00[1-4]-*/*.pdf"))


class Hang(Exception):
    pass


@contextmanager
def watchdog(seconds: int):
    def alarm(signum, frame):
        raise Hang(f"loader still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def load_or_reject(path: Path) -> LoadedDocument | None:
    """The fuzz contract: a document with consistent spans, or a one-line LoadError."""
    with watchdog(EXAMPLE_LIMIT_S):
        try:
            doc = load_document(path, max_bytes=1 << 20, max_pages=50)
        except LoadError as exc:
            assert str(exc) and "\n" not in str(exc)
            return None
    assert doc.text.strip()
    for span in doc.pages:
        assert 0 <= span.start <= span.end <= len(doc.text)
    return doc


@FUZZ
@given(version=st.sampled_from([b"1.4", b"1.7", b"2.0", b"9.9", b""]), body=st.binary(max_size=4096))
def test_random_bytes_behind_a_pdf_header(tmp_path, version, body):
    path = tmp_path / "fuzz.pdf"
    path.write_bytes(b"%PDF-" + version + b"\n" + body)
    load_or_reject(path)


@st.composite
def mutated_pdf(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEED_PDFS)).read_bytes())
    for _ in range(draw(st.integers(1, 12))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "splice"]))
        pos = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=64))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 256))]
        elif op == "truncate":
            del data[max(pos, 16) :]
        else:  # copy a block elsewhere: duplicated objects, xref tables, streams
            n, at = draw(st.integers(1, 512)), draw(st.integers(0, len(data)))
            data[at:at] = data[pos : pos + n]
        if not data:
            data = bytearray(b"%PDF-1.4\n")
    return bytes(data)


@FUZZ
@given(data=mutated_pdf())
def test_mutated_real_pdfs(tmp_path, data):
    path = tmp_path / "mutated.pdf"
    path.write_bytes(data)
    load_or_reject(path)


@FUZZ
@given(
    suffix=st.sampled_from([".txt", ".md"]),
    data=st.one_of(st.binary(max_size=2048), st.text(max_size=500).map(lambda t: t.encode("utf-8", "surrogatepass"))),
)
def test_random_text_files(tmp_path, suffix, data):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    load_or_reject(path)


# --- sentences and chunkers -------------------------------------------------------------------------

_ALPHABET = st.one_of(
    st.characters(codec="utf-8", exclude_categories=("Cs",)),
    st.sampled_from(list(" \n\n\t.!?。…\"')([]-—0123456789#*")),
    st.sampled_from(["Dr. ", "e.g. ", "3.14 ", "U.S. ", "다. ", "입니다.", "한국어 ", "COVID-19 ", "# Heading\n"]),
)
unicode_text = st.lists(_ALPHABET, min_size=1, max_size=400).map("".join).filter(lambda t: t.strip())


def make_doc(text: str, cuts: list[int]) -> LoadedDocument:
    """One document whose pages are `text` cut at `cuts` (joined with a blank line, like the loader)."""
    bounds = sorted({0, len(text), *(c % (len(text) + 1) for c in cuts)})
    pages = [text[a:b] for a, b in itertools.pairwise(bounds)] or [text]
    joined, spans, pos = "", [], 0
    for i, page in enumerate(pages, start=1):
        if i > 1:
            joined += "\n\n"
            pos += 2
        spans.append(PageSpan(i, pos, pos + len(page)))
        joined += page
        pos += len(page)
    return LoadedDocument(source="f.txt", path="/f.txt", doc_id="f" * 32, title="F", text=joined, pages=tuple(spans))


@FUZZ
@given(text=unicode_text, cuts=st.lists(st.integers(0, 10_000), max_size=3))
def test_sentences_and_all_chunkers_keep_their_invariants(counter, text, cuts):
    doc = make_doc(text, cuts)
    spans = split_sentences(doc.text)
    last = 0
    for a, b in spans:
        assert last <= a < b <= len(doc.text)
        assert not doc.text[a].isspace() and not doc.text[b - 1].isspace()
        last = b
    assert "".join("".join(doc.text[a:b] for a, b in spans).split()) == "".join(doc.text.split())

    chunkers = [SentenceChunker(counter, 6), OverlapChunker(counter, 64, 16), ParentChildChunker(counter, 32, 128)]
    for chunker in chunkers:
        chunks = chunker.chunk(doc, spans)
        assert chunks or not any(ch.isalnum() for ch in doc.text), chunker.strategy
        assert len({c.id for c in chunks}) == len(chunks)
        for c in chunks:
            assert c.text == doc.text[c.start : c.end] and c.text.strip()
            assert c.page_start is not None and c.page_start <= c.page_end
        searchable = [c for c in chunks if c.role != "parent"]
        limit = {"sentence": counter.max_tokens, "overlap": 64, "parent-child": 32}[chunker.strategy.value]
        assert max(counter.count([c.text for c in searchable]), default=0) <= limit
        # Nothing readable is dropped. (Overlap windows are cut on word pieces, so characters that have
        # none, such as a lone ESC, may fall between windows: they carry nothing to embed.)
        seen = set("".join(c.text for c in searchable))
        assert {ch for ch in doc.text if ch.isalnum()} <= seen, chunker.strategy
        parents = {c.id: c for c in chunks if c.role == "parent"}
        for child in (c for c in chunks if c.role == "child"):
            parent = parents[child.parent_id]
            assert parent.start <= child.start < child.end <= parent.end


@pytest.mark.parametrize("seed", SEED_PDFS, ids=lambda p: p.name)
def test_seed_pdfs_load(seed):
    assert load_or_reject(seed) is not None
