"""From [n] markers in an answer to the exact source sentence behind each claim.

A marker only says "somewhere in source 2". Users want the sentence and the page, so every answer
sentence is aligned to the sentence inside the cited chunk that supports it best. Alignment is
deterministic and offline: cosine similarity of the embedder's vectors plus word/number overlap (numbers
matter: "1889" vs "1887" is the difference between right and wrong, and embeddings barely see it).

Markers that point at no source are dropped and counted, never silently kept. Sentences without any
valid marker are aligned the same way against all sources and reported with `cited=False`, so the UI can
show which claims the model left unsourced.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer.prompts import is_refusal
from rag.core.protocols import Embedder
from rag.core.sentences import split_sentences
from rag.core.text import content_words
from rag.core.types import Chunk, Citation, Source

# Support score = COS_WEIGHT * cosine + OVERLAP_WEIGHT * share of the claim's content words found
# (rag.core.text.content_words: the judge and the cache compare the same words).
COS_WEIGHT = 0.7
OVERLAP_WEIGHT = 0.3
# Parent-child: a small tie-break towards sentences inside the child that retrieval matched.
MATCHED_CHILD_BONUS = 0.03
MAX_MARKER_RANGE = 10  # "[1-3]" expands; "[1-2000]" is not a marker list

_NUM = r"\d{1,4}"
_MARKER_RE = re.compile(
    r"\[\s*(?:(?:sources?|src)\s*[:#]?\s*)?"
    rf"({_NUM}(?:\s*(?:,|;|-|–|and)\s*(?:sources?\s*)?{_NUM})*)\s*\]",
    re.IGNORECASE,
)
_LEADING_MARKERS_RE = re.compile(rf"^(?:\s*{_MARKER_RE.pattern}\s*[.,;:]?)+", re.IGNORECASE)
_WORD_RE = re.compile(r"\w+", re.UNICODE)
_LIST_NUMBER_ONLY = re.compile(r"\s*\(?(?:\d{1,3}|[a-zA-Z]|[ivx]{1,4})[.)]\s*$")
_TRAILING_LIST_NUMBER = re.compile(r"(?<=:)\s+(\(?\d{1,3}[.)])\s*$")  # "Steps: 1." (the item follows)


@dataclass(frozen=True)
class MarkedSentence:
    """One answer sentence with its markers removed (`text`) and its valid source numbers."""

    text: str
    markers: tuple[int, ...]
    start: int  # span of the original sentence (markers included) in the answer text
    end: int


def overlap(query: set[str], text: set[str]) -> float:
    """Share of the query's content words that appear in the text (0 when the query has none)."""
    return len(query & text) / len(query) if query else 0.0


def support_score(cosine: float, word_overlap: float) -> float:
    """The one scoring rule shared by citation alignment and the extractive generator."""
    return COS_WEIGHT * cosine + OVERLAP_WEIGHT * word_overlap


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans with surrounding whitespace trimmed; the whole text when no sentence is found."""
    spans = split_sentences(text)  # already stripped and non-empty
    if not spans and text.strip():
        a = len(text) - len(text.lstrip())
        spans.append((a, len(text.rstrip())))
    return spans


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise rows (the Embedder protocol does not promise normalised vectors)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def page_at(chunk: Chunk, offset: int) -> int | None:
    """Page of a character offset inside `chunk.text`.

    Exact when the chunk spans one or two pages (the last page's share of the chunk is known from
    `page_char_end`); for longer spans the middle pages are estimated as equally long.
    """
    if chunk.page_start is None:
        return None
    if chunk.page_end is None or chunk.page_end <= chunk.page_start or chunk.page_char_end is None:
        return chunk.page_start
    last_page_start = len(chunk.text) - chunk.page_char_end
    if offset >= last_page_start:
        return chunk.page_end
    earlier = chunk.page_end - chunk.page_start  # pages before the last one
    if earlier == 1 or last_page_start <= 0:
        return chunk.page_start
    return chunk.page_start + min(earlier - 1, int(offset / last_page_start * earlier))


def _page_for(source: Source, offset: int) -> int | None:
    """Page of a supporting sentence: from the matched child when it holds the offset, else the chunk."""
    chunk, child = source.chunk, source.hit.matched
    if child is not None and child.doc_id == chunk.doc_id:
        local = offset - (child.start - chunk.start)
        if 0 <= local < len(child.text):
            return page_at(child, local)
    return page_at(chunk, offset)


def _numbers(group: str) -> list[int]:
    out: list[int] = []
    for part in re.split(r"\s*(?:,|;|and)\s*", group, flags=re.IGNORECASE):
        part = re.sub(r"(?i)sources?", "", part).strip()
        bounds = [int(x) for x in re.findall(r"\d+", part)]
        if len(bounds) == 2 and 0 < bounds[1] - bounds[0] < MAX_MARKER_RANGE:
            out.extend(range(bounds[0], bounds[1] + 1))
        else:
            out.extend(bounds)
    return out


def _clean(text: str) -> str:
    text = _MARKER_RE.sub("", text)
    text = re.sub(r"\s+([.,;:!?。])", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def _list_numbers(spans: list[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    """A list number is not a sentence: "2." alone joins the item after it, and the "1." that ends
    "Steps: 1." moves to the item it numbers (the judge counted them as claims)."""
    out: list[tuple[int, int]] = []
    carry: int | None = None
    for k, (a, b) in enumerate(spans):
        if carry is not None:
            a, carry = carry, None
        last = k == len(spans) - 1
        if _LIST_NUMBER_ONLY.match(text[a:b]) and (not last or out):
            carry = a  # at the very end a lone number numbers nothing: dropped
            continue
        trailing = None if last else _TRAILING_LIST_NUMBER.search(text, a, b)
        if trailing is not None:
            carry, b = trailing.start(1), trailing.start()
        out.append((a, b))
    return out


def _parse(text: str, valid: set[int]) -> tuple[list[MarkedSentence], int]:
    pieces: list[list] = []  # [start, end, numbers]
    for a, b in _list_numbers(sentence_spans(text), text):
        segment = text[a:b]
        lead = _LEADING_MARKERS_RE.match(segment)
        numbers = [n for m in _MARKER_RE.finditer(segment) for n in _numbers(m.group(1))]
        if lead and pieces:
            # "Claim. [1] Next claim" splits after the period: a leading marker closes the previous sentence.
            lead_numbers = [n for m in _MARKER_RE.finditer(lead.group(0)) for n in _numbers(m.group(1))]
            pieces[-1][2].extend(lead_numbers)
            numbers = numbers[len(lead_numbers) :]
        if not _WORD_RE.search(_clean(segment)) and pieces:
            pieces[-1][2].extend(numbers)  # a sentence of markers only belongs to the one before
            continue
        pieces.append([a, b, numbers])
    out: list[MarkedSentence] = []
    dropped = 0
    for a, b, numbers in pieces:
        kept = [n for n in numbers if n in valid]
        dropped += len(numbers) - len(kept)
        out.append(MarkedSentence(_clean(text[a:b]), tuple(dict.fromkeys(kept)), a, b))
    return out, dropped


def parse_markers(text: str, n_sources: int) -> tuple[list[MarkedSentence], int]:
    """Split an answer into sentences and collect each one's [n] / [n, m] / [n][m] / [n-m] markers.

    Markers outside 1..n_sources are dropped and counted (each invalid number counts once). Returns
    the sentences, text cleaned of markers, and the dropped count.
    """
    return _parse(text, set(range(1, n_sources + 1)))


def _best(scores: np.ndarray, candidates: Iterable[int]) -> int:
    idx = list(candidates)
    return idx[int(np.argmax(scores[idx]))]


def resolve_citations(answer_text: str, sources: Sequence[Source], embedder: Embedder) -> tuple[list[Citation], int]:
    """Align every answer sentence with the source sentence that best supports it.

    Sentences with valid markers get one `Citation` per cited source (cited=True). Sentences without
    one are aligned against all sources (cited=False, source_number = best source). Refusal sentences
    are skipped. One embedding call covers all answer and source sentences. Returns (citations, dropped
    markers).
    """
    by_number = {s.number: s for s in sources}
    marked, dropped = _parse(answer_text, set(by_number))
    targets = [m for m in marked if _WORD_RE.search(m.text) and not is_refusal(m.text)]
    if not targets or not sources:
        return [], dropped

    # Every candidate sentence of every source: (source, start, end).
    candidates: list[tuple[Source, int, int]] = []
    for source in sources:
        candidates.extend((source, a, b) for a, b in sentence_spans(source.chunk.text))
    if not candidates:
        return [], dropped
    cand_texts = [s.chunk.text[a:b] for s, a, b in candidates]
    vectors = unit_rows(np.asarray(embedder.embed([m.text for m in targets] + cand_texts), dtype=np.float32))
    cosine = vectors[: len(targets)] @ vectors[len(targets) :].T
    cand_words = [content_words(t) for t in cand_texts]
    bonus = np.array([_child_bonus(s, a, b) for s, a, b in candidates], dtype=np.float32)
    by_source: dict[int, list[int]] = {}
    for i, (s, _, _) in enumerate(candidates):
        by_source.setdefault(s.number, []).append(i)

    citations: list[Citation] = []
    for t, sentence in enumerate(targets):
        words = content_words(sentence.text)
        scores = np.array(
            [support_score(float(cosine[t, i]), overlap(words, cand_words[i])) for i in range(len(candidates))],
            dtype=np.float32,
        )
        choose = scores + bonus
        wanted = [(n, by_source.get(n, [])) for n in sentence.markers]
        pairs = [(_best(choose, idx), True) for _, idx in wanted if idx]
        if not sentence.markers:
            pairs = [(_best(choose, range(len(candidates))), False)]
        for i, cited in pairs:
            source, a, b = candidates[i]
            citations.append(
                Citation(
                    answer_sentence=sentence.text,
                    source_number=source.number,
                    file=source.chunk.source,
                    page=_page_for(source, a),
                    supporting_sentence=source.chunk.text[a:b],
                    support_start=a,
                    support_end=b,
                    score=float(scores[i]),
                    cited=cited,
                    ocr_confidence=source.hit.span.ocr_confidence,
                )
            )
    return citations, dropped


def _child_bonus(source: Source, start: int, end: int) -> float:
    child, chunk = source.hit.matched, source.chunk
    if child is None or child.doc_id != chunk.doc_id:
        return 0.0
    lo, hi = child.start - chunk.start, child.end - chunk.start
    return MATCHED_CHILD_BONUS if start < hi and end > lo else 0.0
