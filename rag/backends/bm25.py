"""BM25 over a strategy collection: a tokeniser for mixed scripts and a persisted, self-refreshing index.

The bundled embedder is English-only, so for Korean (or Chinese, Japanese) questions this index is the
half of hybrid retrieval that works. Tokens, decided per token so mixed text works:
- Hangul, Han and Kana runs become overlapping character bigrams (a one-character run stays a unigram):
  no morphological analyser is needed and particles glued to words (세종대왕이 -> 세종 종대 대왕 왕이)
  still share bigrams with the bare word.
- Other letters: lowercased words without punctuation; optional English (Snowball) stemming for
  ASCII words. Hyphenated or dotted compounds give their parts and the joined form (COVID-19 -> covid,
  19, covid19); letter-dot acronyms join (e.g. -> eg); possessive 's and apostrophes go.
- Numbers stay whole: 3.14 -> 3.14; thousands separators are dropped (11,172 -> 11172).
The script ranges, the bigrams, the apostrophe rule and the stemmer are rag.core.text's, shared with
citations, the judge and the cache; the joined compounds are this index's own.

`LexicalIndex` keeps the term counts of the committed chunks of one strategy on disk, in segments updated
per document (rag/backends/lexical_index.py), together with the store generation, the Chroma collection
ids and the committed document ids it matches. It only uses the store API, so it works the same against
an embedded or a remote Chroma.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path

import numpy as np

from rag.backends.lexical_index import IncrementalLexicalIndex
from rag.core.activity import Activity
from rag.core.protocols import ChunkIndex
from rag.core.text import CJK_RUN, can_stem, cjk_bigrams, drop_apostrophes
from rag.core.text import stem as english_stem

log = logging.getLogger(__name__)

# Bump when tokenisation or the indexed text changes: persisted indexes built with another version are
# rebuilt. 2: each chunk is indexed with its document title and section heading (see indexed_text).
TOKENIZER_VERSION = 2

# A raw token: letters/digits (any script), joined by single inner hyphens, dots, slashes or apostrophes.
_RAW = re.compile(r"[^\W_]+(?:[-‐‑–./'’,][^\W_]+)*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_SPLIT = re.compile(r"[-‐‑–./,]")


def indexed_text(chunk) -> str:
    """The text BM25 sees for a chunk: its document title and section heading, then the chunk.

    A chunk deep in a document rarely repeats what the document is about ("1945년 서울특별시에서
    태어나..." never names the person its article is about). Indexing the title and heading with every
    chunk lets a question that names the subject find it: on KorQuAD, lexical hit@1,000 words for
    parent-child went from 0.973 to 0.990 (COVID-QA 0.678 -> 0.686; benchmarks/retrieval.py).
    """
    head = [t for t in dict.fromkeys((chunk.title or "", chunk.section or "")) if t and t not in chunk.text[:200]]
    return "\n".join([*head, chunk.text])


class Tokenizer:
    """Text -> BM25 terms; see the module docstring for the rules."""

    def __init__(self, stem: bool = True, stopwords: frozenset[str] = frozenset()) -> None:
        self.stem = stem and can_stem()
        self.stopwords = stopwords

    def params(self) -> dict:
        return {"version": TOKENIZER_VERSION, "stem": self.stem, "stopwords": len(self.stopwords)}

    def __call__(self, text: str) -> list[str]:
        text = unicodedata.normalize("NFKC", text)
        out: list[str] = []
        for m in _RAW.finditer(text):
            self._raw(m.group(), out)
        return out

    def _raw(self, raw: str, out: list[str]) -> None:
        if _THOUSANDS.fullmatch(raw):
            out.append(raw.replace(",", ""))
            return
        if "," in raw:  # "a,b" or "1,2" without a space: separate tokens
            for part in raw.split(","):
                self._raw(part, out)
            return
        if _NUMBER.fullmatch(raw):
            out.append(raw)
            return
        raw = drop_apostrophes(raw)
        parts = [p for p in _SPLIT.split(raw) if p]
        if len(parts) == 1:
            self._word(parts[0], out)
            return
        if "." in raw and all(len(p) <= 2 and p.isalpha() for p in parts):  # e.g. / U.S. / i.e.
            self._word("".join(parts), out)
            return
        for p in parts:
            self._word(p, out)
        joined = "".join(parts)
        if not CJK_RUN.search(joined):
            out.append(joined.lower())

    def _word(self, word: str, out: list[str]) -> None:
        """One word without separators; CJK runs inside it become bigrams, the rest stays whole."""
        pos = 0
        for m in CJK_RUN.finditer(word):
            if m.start() > pos:
                self._latin(word[pos : m.start()], out)
            out.extend(cjk_bigrams(m.group()))
            pos = m.end()
        if pos < len(word):
            self._latin(word[pos:], out)

    def _latin(self, word: str, out: list[str]) -> None:
        word = word.casefold()
        if word in self.stopwords:
            return
        out.append(english_stem(word) if self.stem else word)


class LexicalIndex(IncrementalLexicalIndex):
    """BM25 over the committed chunks of one strategy, persisted under `folder/<collection>__<strategy>` and
    updated per added or removed document (rag/backends/lexical_index.py), with this module's tokenizer
    and indexed text."""

    def __init__(
        self,
        store: ChunkIndex,
        strategy: str,
        folder: str | Path,
        tokenizer: Tokenizer | None = None,
        activity: Activity | None = None,
    ):
        super().__init__(store, strategy, folder, tokenizer or Tokenizer(), indexed_text, activity)


class PlainBM25:
    """BM25 over a fixed list of tokenised passages: the evaluation's "BM25 on 1000/200 chunks" baseline,
    which must not share the app's tokenizer or persistence to stay a fair outside reference."""

    def __init__(self, passages: list[list[str]]) -> None:
        import bm25s

        self._bm25 = bm25s.BM25()
        self._bm25.index(passages, show_progress=False)

    def scores(self, tokens: list[str]) -> np.ndarray | None:
        """Scores of every passage, or None when no token of the query is in the vocabulary."""
        ids = self._bm25.get_tokens_ids(tokens)
        return self._bm25.get_scores_from_ids(ids) if ids else None
