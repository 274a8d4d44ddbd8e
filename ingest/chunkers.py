"""The three chunking strategies, sized in the embedder's own word pieces.

All chunkers work on document-level character offsets, so `chunk.text == doc.text[start:end]` always
holds and page numbers, page offsets and sections are derived in one place (`ChunkFactory`). No chunk
handed to the embedder is longer than the embedder's maximum sequence length: silent truncation would
make the tail of a chunk unsearchable.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from rag.core.protocols import Chunker, Span, TokenCounter
from rag.core.types import Chunk, LoadedDocument, Strategy

_MAX_STEP_BACK = 8  # word pieces; bounds the search for a word start in scripts without spaces


def chunk_id(doc_id: str, strategy: str, params: dict, role: str, index: int, start: int, end: int) -> str:
    """Deterministic id: same content, strategy, parameters and position -> same id."""
    key = json.dumps([doc_id, strategy, params, role, index, start, end], sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class ChunkFactory:
    """Builds Chunk objects for one document: ids, pages, page offsets and section titles."""

    def __init__(self, doc: LoadedDocument, strategy: Strategy, params: dict) -> None:
        self.doc = doc
        self.strategy = strategy
        self.params = params
        self._page_starts = [p.start for p in doc.pages]
        self._section_starts = [s[0] for s in doc.sections]

    def _page_index(self, offset: int) -> int:
        return max(0, bisect.bisect_right(self._page_starts, offset) - 1)

    def make(self, role: str, index: int, start: int, end: int, parent_id: str | None = None) -> Chunk:
        doc = self.doc
        page_start = page_end = pcs = pce = ocr = None
        if doc.pages:
            i, j = self._page_index(start), self._page_index(max(start, end - 1))
            first, last = doc.pages[i], doc.pages[j]
            page_start, page_end = first.number, last.number
            read = [p.ocr_confidence for p in doc.pages[i : j + 1] if p.ocr_confidence is not None]
            ocr = min(read) if read else None
            pcs = max(0, start - first.start)
            pce = min(last.end, end) - last.start
        section = None
        if self._section_starts:
            i = bisect.bisect_right(self._section_starts, start) - 1
            if i >= 0:
                section = doc.sections[i][1]
        return Chunk(
            id=chunk_id(doc.doc_id, self.strategy.value, self.params, role, index, start, end),
            doc_id=doc.doc_id,
            strategy=self.strategy.value,
            index=index,
            text=doc.text[start:end],
            start=start,
            end=end,
            source=doc.source,
            title=doc.title,
            page_start=page_start,
            page_end=page_end,
            page_char_start=pcs,
            page_char_end=pce,
            section=section,
            parent_id=parent_id,
            role=role,
            ocr_confidence=ocr,
        )


def _strip(text: str, start: int, end: int) -> Span:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


@dataclass
class TokenWindows:
    """Cuts a span into windows of at most `size` word pieces, `overlap` pieces shared.

    Cuts fall on word starts (never inside a word, so re-tokenising a window cannot grow it) and,
    where a sentence boundary lies in the last half of a window, on that boundary.
    """

    counter: TokenCounter
    size: int
    overlap: int = 0

    def __post_init__(self) -> None:
        self.size = max(1, min(self.size, self.counter.max_tokens))
        self.overlap = max(0, min(self.overlap, self.size // 2))

    def windows(self, text: str, start: int, end: int, boundaries: Sequence[int] = ()) -> list[Span]:
        pieces = [(a + start, b + start) for a, b in self.counter.spans(text[start:end])]
        if not pieces:
            return []
        # Cuts go between characters (accented or Hangul characters decompose into several pieces that
        # share one character span) and preferably where a word starts.
        cuttable = [i == 0 or pieces[i][0] >= pieces[i - 1][1] for i in range(len(pieces))]
        starts_word = [
            cuttable[i] and (i == 0 or pieces[i][0] > pieces[i - 1][1] or not text[pieces[i][0]].isalnum())
            for i in range(len(pieces))
        ]
        boundary_set = set(boundaries)
        spans: list[Span] = []
        i, n = 0, len(pieces)
        while i < n:
            j = min(i + self.size, n)  # exclusive end piece
            if j < n:
                j = self._best_cut(pieces, cuttable, starts_word, boundary_set, i, j)
            a, b = _strip(text, pieces[i][0], pieces[j - 1][1])
            spans.append((a, b))
            if j >= n:
                break
            i = max(self._overlap_start(cuttable, starts_word, j - self.overlap, i), i + 1) if self.overlap else j
        return self._enforce_limit(text, spans, boundaries)

    def _enforce_limit(self, text: str, spans: list[Span], boundaries: Sequence[int]) -> list[Span]:
        """Re-tokenising a window cut inside a word can add a piece; re-cut any window that grew."""
        counts = self.counter.count([text[a:b] for a, b in spans])
        if all(c <= self.size for c in counts):
            return spans
        out: list[Span] = []
        tighter = TokenWindows(self.counter, max(1, self.size - 8), min(self.overlap, max(0, self.size - 8) // 2))
        for (a, b), c in zip(spans, counts, strict=True):
            out.extend([(a, b)] if c <= self.size else tighter.windows(text, a, b, boundaries))
        return out

    @staticmethod
    def _overlap_start(cuttable: list[bool], starts_word: list[bool], nxt: int, i: int) -> int:
        """Step back (a few pieces at most) so the next window starts on a word, else a character."""
        floor = max(i + 1, nxt - _MAX_STEP_BACK)
        for flags in (starts_word, cuttable):
            for k in range(nxt, floor - 1, -1):
                if flags[k]:
                    return k
        return nxt

    @staticmethod
    def _best_cut(
        pieces: list[Span], cuttable: list[bool], starts_word: list[bool], boundaries: set[int], i: int, j: int
    ) -> int:
        half = i + (j - i) // 2
        for k in range(j, half, -1):
            if cuttable[k] and pieces[k][0] in boundaries:
                return k
        for flags in (starts_word, cuttable):
            for k in range(j, i, -1):
                if flags[k]:
                    return k
        return j


class SentenceChunker:
    """One chunk per sentence; very short sentences merge with a neighbour, long ones are split."""

    strategy = Strategy.SENTENCE

    def __init__(self, counter: TokenCounter, min_tokens: int = 6) -> None:
        self.counter = counter
        self.min_tokens = min_tokens

    def params(self) -> dict:
        return {"min_tokens": self.min_tokens, "max_tokens": self.counter.max_tokens}

    def chunk(self, doc: LoadedDocument, sentences: Sequence[Span]) -> list[Chunk]:
        factory = ChunkFactory(doc, self.strategy, self.params())
        spans = sentence_units(doc.text, sentences, self.counter, self.min_tokens, self.counter.max_tokens)
        return [factory.make("chunk", i, a, b) for i, (a, b) in enumerate(spans)]


def sentence_units(
    text: str, sentences: Sequence[Span], counter: TokenCounter, min_tokens: int, max_tokens: int
) -> list[Span]:
    """Sentences with short ones merged forward (or back, at the end) and long ones windowed."""
    spans = [_strip(text, a, b) for a, b in sentences]
    spans = [s for s in spans if s[1] > s[0]]
    if not spans:
        return []
    counts = counter.count([text[a:b] for a, b in spans])
    merged: list[list[int]] = []  # [start, end, tokens]
    pending: list[int] | None = None
    for (a, b), c in zip(spans, counts, strict=True):
        pending = [pending[0], b, pending[2] + c] if pending is not None else [a, b, c]
        if pending[2] >= min_tokens:
            merged.append(pending)
            pending = None
    if pending is not None:
        if merged and merged[-1][2] + pending[2] <= max_tokens:
            merged[-1] = [merged[-1][0], pending[1], merged[-1][2] + pending[2]]
        else:
            merged.append(pending)
    out: list[Span] = []
    windows = TokenWindows(counter, max_tokens)
    # Merging can only be checked approximately by summed counts; re-measure the merged spans.
    recount = counter.count([text[a:b] for a, b, _ in merged])
    for (a, b, _), c in zip(merged, recount, strict=True):
        if c <= max_tokens:
            out.append((a, b))
        else:
            out.extend(windows.windows(text, a, b))
    return out


class OverlapChunker:
    """Fixed-size token windows with a fixed token overlap, cut at sentence ends where possible."""

    strategy = Strategy.OVERLAP

    def __init__(self, counter: TokenCounter, chunk_tokens: int = 200, overlap_tokens: int = 40) -> None:
        self.counter = counter
        self.windows = TokenWindows(counter, chunk_tokens, overlap_tokens)

    def params(self) -> dict:
        return {"chunk_tokens": self.windows.size, "overlap_tokens": self.windows.overlap}

    def chunk(self, doc: LoadedDocument, sentences: Sequence[Span]) -> list[Chunk]:
        factory = ChunkFactory(doc, self.strategy, self.params())
        boundaries = [a for a, _ in sentences]
        spans = self.windows.windows(doc.text, 0, len(doc.text), boundaries)
        return [factory.make("chunk", i, a, b) for i, (a, b) in enumerate(spans) if b > a]


class ParentChildChunker:
    """Children (sentences, windowed above `child_max_tokens`) are searched; parents are returned.

    Parents pack whole sentences up to `parent_max_tokens` and never cross a section heading, so a
    parent reads as a coherent passage. Every child lies inside its parent.
    """

    strategy = Strategy.PARENT_CHILD

    def __init__(
        self, counter: TokenCounter, child_max_tokens: int = 96, parent_max_tokens: int = 512, min_tokens: int = 6
    ) -> None:
        self.counter = counter
        self.child_max_tokens = min(child_max_tokens, counter.max_tokens)
        self.parent_max_tokens = parent_max_tokens
        self.min_tokens = min_tokens

    def params(self) -> dict:
        return {
            "child_max_tokens": self.child_max_tokens,
            "parent_max_tokens": self.parent_max_tokens,
            "min_tokens": self.min_tokens,
        }

    def chunk(self, doc: LoadedDocument, sentences: Sequence[Span]) -> list[Chunk]:
        factory = ChunkFactory(doc, self.strategy, self.params())
        units = sentence_units(doc.text, sentences, self.counter, self.min_tokens, self.parent_max_tokens)
        parents = self._pack(doc, units)
        out: list[Chunk] = []
        child_index = 0
        for p_index, (pa, pb, members) in enumerate(parents):
            parent = factory.make("parent", p_index, pa, pb)
            out.append(parent)
            children = sentence_units(doc.text, members, self.counter, self.min_tokens, self.child_max_tokens)
            for ca, cb in children:
                out.append(factory.make("child", child_index, ca, cb, parent_id=parent.id))
                child_index += 1
        return out

    def _pack(self, doc: LoadedDocument, units: list[Span]) -> list[tuple[int, int, list[Span]]]:
        if not units:
            return []
        counts = self.counter.count([doc.text[a:b] for a, b in units])
        heading_offsets = sorted(s[0] for s in doc.sections)
        parents: list[tuple[int, int, list[Span]]] = []
        cur: list[Span] = []
        cur_tokens = 0
        for (a, b), c in zip(units, counts, strict=True):
            crosses_heading = bool(cur) and _heading_between(heading_offsets, cur[-1][1], a + 1)
            if cur and (cur_tokens + c > self.parent_max_tokens or crosses_heading):
                parents.append((cur[0][0], cur[-1][1], cur))
                cur, cur_tokens = [], 0
            cur.append((a, b))
            cur_tokens += c
        if cur:
            parents.append((cur[0][0], cur[-1][1], cur))
        return parents


def _heading_between(offsets: list[int], lo: int, hi: int) -> bool:
    i = bisect.bisect_left(offsets, lo)
    return i < len(offsets) and offsets[i] < hi


def build_chunkers(settings, counter: TokenCounter) -> dict[Strategy, Chunker]:
    """All chunkers configured from settings (one place, so fingerprints match what ran)."""
    return {
        Strategy.SENTENCE: SentenceChunker(counter, settings.sentence_min_tokens),
        Strategy.OVERLAP: OverlapChunker(counter, settings.overlap_chunk_tokens, settings.overlap_tokens),
        Strategy.PARENT_CHILD: ParentChildChunker(
            counter, settings.child_max_tokens, settings.parent_max_tokens, settings.sentence_min_tokens
        ),
    }
