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

`LexicalIndex` keeps a bm25s index of the committed chunks of one strategy on disk, together with the
store generation, the Chroma collection ids and the committed document ids it was built from. It only
uses the store API, so it works the same against an embedded or a remote Chroma.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import threading
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.core.protocols import ChunkIndex
from rag.core.text import CJK_RUN, can_stem, cjk_bigrams, drop_apostrophes
from rag.core.text import stem as english_stem
from rag.core.types import REGISTRY

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


@dataclass
class _Snapshot:
    """A built index, never modified once published: swapped whole, so searches never see a half-built one."""

    bm25: object | None  # bm25s.BM25, None when the collection holds no committed chunk
    chunk_ids: list[str]
    doc_names: list[str]  # distinct doc ids
    doc_codes: np.ndarray  # per indexed chunk: its position in doc_names
    meta: dict
    rows: dict[str, int] | None = None  # chunk id -> row, built lazily by positions()

    @classmethod
    def of(cls, bm25, chunk_ids: list[str], doc_ids: list[str], meta: dict) -> _Snapshot:
        names = sorted(set(doc_ids))
        code = {d: i for i, d in enumerate(names)}
        return cls(bm25, chunk_ids, names, np.fromiter((code[d] for d in doc_ids), np.int32, len(doc_ids)), meta)

    def positions(self) -> dict[str, int]:
        """chunk id -> row in the index (built on first use, then kept with the snapshot)."""
        if self.rows is None:
            self.rows = {cid: i for i, cid in enumerate(self.chunk_ids)}
        return self.rows

    def doc_ids(self) -> list[str]:
        return [self.doc_names[i] for i in self.doc_codes]

    def mask(self, doc_ids) -> np.ndarray:
        wanted = set(doc_ids)
        codes = [i for i, d in enumerate(self.doc_names) if d in wanted]
        return np.isin(self.doc_codes, np.asarray(codes, dtype=np.int32))


class LexicalIndex:
    """BM25 over the committed chunks of one strategy, persisted under `folder/<collection>__<strategy>`."""

    def __init__(self, store: ChunkIndex, strategy: str, folder: str | Path, tokenizer: Tokenizer | None = None):
        self.store = store
        self.strategy = strategy
        self.folder = Path(folder) / f"{store.base}__{strategy.replace('-', '_')}"
        self.tokenizer = tokenizer or Tokenizer()
        self._snapshot: _Snapshot | None = None
        self._lock = threading.RLock()
        self.builds = 0  # how many times this object rebuilt from the store (tests, logs)
        self.loads = 0  # how many times it loaded a persisted index

    # --- freshness -----------------------------------------------------------------------------
    def _identity(self) -> dict:
        """What a persisted index must match, besides the generation and the documents."""
        ids = {}
        for kind in (self.strategy, REGISTRY):
            ids[kind] = str(getattr(self.store.collection(kind), "id", ""))
        return {"collections": ids, "tokenizer": self.tokenizer.params()}

    def refresh(self) -> bool:
        """Make the index current: load from disk, or rebuild from the store. True when it changed.

        Costs one registry lookup when nothing changed. A new generation whose committed documents for
        this strategy are the same (another strategy was ingested) only updates the recorded generation.
        """
        generation = self.store.generation()
        snap = self._snapshot
        if snap is not None and snap.meta["generation"] == generation:
            return False
        with self._lock:
            snap = self._snapshot
            if snap is not None and snap.meta["generation"] == generation:
                return False
            identity = self._identity()
            if snap is None:
                snap = self._load()
                if snap is not None and snap.meta["identity"] != identity:
                    snap = None
                if snap is not None and snap.meta["generation"] == generation:
                    self._snapshot = snap
                    self.loads += 1
                    return True
            committed = sorted(self.store.committed_doc_ids(self.strategy))
            if snap is not None and snap.meta["identity"] == identity and snap.meta["doc_ids"] == committed:
                meta = {**snap.meta, "generation": generation}
                self._write_meta(meta)
                self._snapshot = _Snapshot(snap.bm25, snap.chunk_ids, snap.doc_names, snap.doc_codes, meta, snap.rows)
                return True
            self._snapshot = self._build(generation, identity)
            return True

    def is_fresh(self) -> bool:
        snap = self._snapshot
        return snap is not None and snap.meta["generation"] == self.store.generation()

    # --- building ------------------------------------------------------------------------------
    def _build(self, generation: int, identity: dict) -> _Snapshot:
        import bm25s

        # Committed ids are read first: a document committed while we page is simply left for the next
        # refresh (its generation will differ), and uncommitted chunks are never indexed.
        committed = self.store.committed_doc_ids(self.strategy)
        chunk_ids: list[str] = []
        doc_ids: list[str] = []
        corpus: list[list[str]] = []
        for chunk in self.store.iter_chunks(self.strategy):
            if chunk.doc_id in committed:
                chunk_ids.append(chunk.id)
                doc_ids.append(chunk.doc_id)
                corpus.append(self.tokenizer(indexed_text(chunk)))
        bm25 = None
        if chunk_ids:
            bm25 = bm25s.BM25()
            bm25.index(corpus, show_progress=False)
        if self.store.generation() != generation:
            generation = -1  # the store changed while we read it: rebuild on the next refresh
        meta = {
            "generation": generation,
            "identity": identity,
            "doc_ids": sorted(committed),
            "chunks": len(chunk_ids),
            "version": uuid.uuid4().hex,
        }
        snap = _Snapshot.of(bm25, chunk_ids, doc_ids, meta)
        self.builds += 1
        log.info("lexical index %s rebuilt: %d chunks", self.folder.name, len(chunk_ids))
        try:
            self._save(snap)
        except OSError as exc:  # a read-only disk costs speed, not correctness
            log.warning("cannot persist the lexical index in %s: %s", self.folder, exc)
        return snap

    # --- persistence ---------------------------------------------------------------------------
    # Layout: <folder>/current.json names the live version folder <folder>/v-<version>/ (bm25s files plus
    # ids.json). A new version is written completely before current.json is replaced atomically, so a
    # reader in another process never sees a half-written index; superseded versions are deleted.
    def _save(self, snap: _Snapshot) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        version = snap.meta["version"]
        target = self.folder / f"v-{version}"
        if snap.bm25 is not None:
            snap.bm25.save(str(target), show_progress=False)
        target.mkdir(parents=True, exist_ok=True)
        ids = {"chunk_ids": snap.chunk_ids, "doc_ids": snap.doc_ids()}
        (target / "ids.json").write_text(json.dumps(ids), encoding="utf-8")
        self._write_meta(snap.meta)
        for old in self.folder.glob("v-*"):
            if old.name != target.name:
                shutil.rmtree(old, ignore_errors=True)

    def _write_meta(self, meta: dict) -> None:
        with contextlib.suppress(OSError):
            tmp = self.folder / f".current-{uuid.uuid4().hex}.json"
            tmp.write_text(json.dumps(meta), encoding="utf-8")
            os.replace(tmp, self.folder / "current.json")

    def _load(self) -> _Snapshot | None:
        import bm25s

        try:
            meta = json.loads((self.folder / "current.json").read_text(encoding="utf-8"))
            target = self.folder / f"v-{meta['version']}"
            ids = json.loads((target / "ids.json").read_text(encoding="utf-8"))
            bm25 = None
            if ids["chunk_ids"]:
                bm25 = bm25s.BM25.load(str(target), show_progress=False, verbosity=0)
            if len(ids["chunk_ids"]) != meta.get("chunks"):
                return None
        except (OSError, ValueError, KeyError) as exc:
            log.info("lexical index %s not loaded (%s): rebuilding", self.folder.name, exc)
            return None
        return _Snapshot.of(bm25, ids["chunk_ids"], ids["doc_ids"], meta)

    # --- searching -----------------------------------------------------------------------------
    def search(self, query: str, k: int, doc_ids: set[str] | list[str] | None = None) -> list[tuple[str, float]]:
        """Top `k` (chunk id, BM25 score) with a positive score, best first; `doc_ids` restricts documents."""
        self.refresh()
        snap = self._snapshot
        if snap is None or snap.bm25 is None or k <= 0:
            return []
        bm25 = snap.bm25
        token_ids = bm25.get_tokens_ids(self.tokenizer(query))
        if not token_ids:
            return []
        scores = bm25.get_scores_from_ids(token_ids)
        if doc_ids is not None:
            scores = np.where(snap.mask(doc_ids), scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(snap.chunk_ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def scores_for(self, query: str, chunk_ids: list[str]) -> dict[str, float]:
        """BM25 scores of given chunks for `query` (0.0 for chunks not indexed or sharing no term)."""
        snap = self._snapshot
        if snap is None or snap.bm25 is None or not chunk_ids:
            return dict.fromkeys(chunk_ids, 0.0)
        token_ids = snap.bm25.get_tokens_ids(self.tokenizer(query))
        if not token_ids:
            return dict.fromkeys(chunk_ids, 0.0)
        scores = snap.bm25.get_scores_from_ids(token_ids)
        where = snap.positions()
        return {cid: float(scores[where[cid]]) if cid in where else 0.0 for cid in chunk_ids}

    @property
    def size(self) -> int:
        snap = self._snapshot
        return len(snap.chunk_ids) if snap else 0


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
