"""Semantic answer cache: a repeated or reworded question is answered from a stored answer.

A hit needs all of:
- the same answer settings (strategy, k, retrieval mode, MMR, threshold, fetch_k, fusion method and
  weights including the CJK dense weight, context budget, model, server, temperature, max tokens, safety
  level, whether the judge runs, the question's document filter, prompt version): they are hashed into a
  key that entries must match exactly;
- a close question: cosine similarity of the normalised standalone questions >= DOCQA_CACHE_THRESHOLD
  (the standalone question, so a follow-up is keyed on what it actually asks);
- the same question in words (`same_question`): embeddings alone rate "Is Mars bigger than Venus?" and
  "Is Venus bigger than Mars?" at 0.99, so the content words, numbers, negations and wh-words must be the
  same and in the same order; only function words, inflections, case, punctuation and request phrasing
  ("tell me about", "please") may differ;
- unchanged evidence: every document the answer's sources came from is still committed (re-ingesting or
  removing one invalidates the entry), and no document has entered the question's scope since (a new
  document could hold a better answer). Removing an unrelated document keeps the entry.

Storage: a Chroma collection `<base>__cache` next to the chunk collections, holding the question vector,
the key and timestamps in metadata, and the serialised Answer as the document. That works the same for
the embedded store and a Chroma server (where several app instances then share one cache and every
instance sees the documents the others ingest, which the validity check reads from the shared registry),
and nearest-neighbour lookup comes with it. It is bounded: entries expire after DOCQA_CACHE_TTL_S and the
least recently used beyond DOCQA_CACHE_MAX_ENTRIES are dropped. Stale entries are deleted when met.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import re
import threading
import time
from collections import OrderedDict

import numpy as np

from rag.answer.prompts import PROMPTS
from rag.core.errors import FingerprintMismatch
from rag.core.protocols import ChunkIndex
from rag.core.settings import Settings
from rag.core.text import FILLER, content_forms, is_content, normalize, split_particle, words
from rag.core.types import Answer, Chunk, Citation, ClaimVerdict, Faithfulness, Hit, Relevance, Source

log = logging.getLogger(__name__)

CACHE = "cache"  # collection kind: <base>__cache
FORMAT = 1  # bump when the stored payload changes: older entries are ignored
CACHEABLE_MODES = ("llm", "extractive", "no-sources")  # never errors or refusals
CANDIDATES = 8  # nearest cached questions examined per lookup

# --- question matching -----------------------------------------------------------------------------


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# What a question asks is its content words (rag.core.text, the words citations and the judge compare) in
# order, plus the function words that can change it: tense, negation, modals, quantifiers, prepositions
# of direction and comparison ("from", "to", "than", "before"), "and"/"or", third-person pronouns and
# wh-words other than what/which. Only the stopwords in rag.core.text.FILLER and request phrasing go.
_REQUEST_WORDS = _words("please tell explain describe show give know like want list")
_PAST = _words("was were did had")  # tense can change the answer: "who was the CEO?" vs "who is"
_NEGATIONS = _words("not no never none nothing nobody nowhere neither nor without cannot")
_REQUEST = re.compile(
    r"^(?:(?:please|so|ok|okay|and|now)\s+)*"
    r"(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?)?"
    r"(?:tell\s+me|explain(?:\s+to\s+me)?|describe|show\s+me|give\s+me|let\s+me\s+know|"
    r"i\s+(?:want|would\s+like|d\s+like)\s+to\s+know|do\s+you\s+know)\s+(?:about\s+)?"
)
_MINUS = re.compile(r"(?<![\w.])[-−–](?=\d)")
_CONTRACTIONS = (
    (re.compile(r"\b(can)'?t\b"), r"\1 not"),
    (re.compile(r"\bwon'?t\b"), "will not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'(s|re|ve|ll|d|m)\b"), ""),
)


def normalise(text: str) -> str:
    """The form a question is embedded and matched in: NFKC, case-folded, one space, no edge punctuation."""
    text = " ".join(normalize(text).split())
    return text.strip(" \t.,;:!?¿¡\"'()[]")


def question_terms(text: str) -> tuple[str, ...]:
    """The words that decide what a question asks, in order: content words in rag.core.text's form
    (stemmed; numbers exact, with their sign), negations (as `not`), past tense (as `past`), the other
    function words that can change a question, and Korean particles (who did what to whom) as their own
    terms after the word they followed."""
    text = normalise(text)
    text = _REQUEST.sub("", text)
    text = _MINUS.sub(" minus ", text)
    for pattern, repl in _CONTRACTIONS:
        text = pattern.sub(repl, text)
    terms: list[str] = []
    for word in words(text):
        if word in FILLER or word in _REQUEST_WORDS:
            continue
        if word in _NEGATIONS:
            terms.append("not")
        elif word in _PAST:
            terms.append("past")
        elif is_content(word):
            terms.extend(content_forms(word))
            particle = split_particle(word)[1]
            if particle:
                terms.append(particle)
        else:  # a function word that can change the question, or a single letter ("-7 °C")
            terms.append(word)
    return tuple(terms)


def same_question(a: str, b: str) -> bool:
    """True when two questions differ only in wording that cannot change what they ask."""
    ta, tb = question_terms(a), question_terms(b)
    return bool(ta) and ta == tb


# --- answer (de)serialisation ------------------------------------------------------------------------


def _make(cls, data: dict):
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


def answer_to_json(answer: Answer) -> dict:
    return dataclasses.asdict(answer)


def answer_from_json(data: dict) -> Answer:
    def chunk(d):
        return _make(Chunk, d) if d else None

    def source(d):
        h = d["hit"]
        hit = _make(Hit, {**h, "chunk": chunk(h["chunk"]), "matched": chunk(h.get("matched"))})
        return Source(d["number"], hit, list(d.get("flags", [])))

    faith = data.get("faithfulness")
    return _make(
        Answer,
        {
            **data,
            "citations": [_make(Citation, c) for c in data.get("citations", [])],
            "sources": [source(s) for s in data.get("sources", [])],
            "faithfulness": None
            if not faith
            else _make(Faithfulness, {**faith, "verdicts": [_make(ClaimVerdict, v) for v in faith["verdicts"]]}),
            "relevance": _make(Relevance, data["relevance"]) if data.get("relevance") else None,
        },
    )


# --- the hook ---------------------------------------------------------------------------------------


def question_documents(settings: Settings) -> list[str] | None:
    """The question's document filter (sources or doc ids; None: every document).

    Not a Settings field: `AskOptions.settings_update()` (rag.answer.answerer) puts `documents` and `judge`
    on the per-question settings copy that hooks receive, so the cache sees what the retriever and the
    judge are asked to do."""
    documents = getattr(settings, "documents", None)
    return sorted(set(documents)) if documents else None


def judged(settings: Settings) -> bool:
    """Whether the question's answer gets a faithfulness judgement (AskOptions.judge, default on)."""
    return bool(getattr(settings, "judge", True))


def answer_key(settings: Settings, embedder_name: str, chunker_params: dict | None = None) -> str:
    """Everything besides the question that shapes an answer, hashed: a setting missing here lets one
    question be answered from an entry made under other settings (a filtered question from the
    unfiltered answer, a judged one from an answer without a faithfulness score)."""
    parts = {
        "strategy": str(settings.strategy),
        "k": settings.top_k,
        "mode": settings.retrieval_mode,
        "mmr": settings.mmr,
        "mmr_lambda": settings.mmr_lambda if settings.mmr else None,
        "threshold": settings.relevance_threshold,
        "fetch_k": settings.fetch_k,
        "fusion": settings.fusion,
        "weights": [settings.dense_weight, settings.cjk_dense_weight, settings.lexical_weight, settings.rrf_k],
        "multilingual": [settings.multilingual, settings.e5_weight, settings.e5_english_weight]
        + ([settings.cross_lingual_slots] if settings.multilingual == "cross-lingual" else []),
        "budget": settings.context_budget_tokens,
        "llm": settings.llm_enabled,
        "server": settings.openai_base_url if settings.llm_enabled else None,
        "model": settings.llm_model if settings.llm_enabled else None,
        "judge_model": settings.judge_model,
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
        "judge": judged(settings),
        "documents": question_documents(settings),
        "prompts": PROMPTS.version,
        "safety": settings.safety_level,  # redaction differs per level (rag/safety)
        "embedder": embedder_name,
        "chunker": (chunker_params or {}).get(str(settings.strategy)),
    }
    return hashlib.blake2b(json.dumps(parts, sort_keys=True, default=str).encode(), digest_size=16).hexdigest()


class SemanticCache:
    """An AnswerHook (rag.answer.answerer): `before_retrieve` answers hits, `after_answer` stores new answers.

    Register it after the safety filters, so refusals never reach it and it stores redacted answers.
    """

    def __init__(self, store: ChunkIndex, embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self._pending: OrderedDict[tuple[str, str], tuple[np.ndarray, frozenset[str]]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def _key(self, settings: Settings) -> str:
        return answer_key(settings, self.embedder.name, self.store.params)

    # --- storage --------------------------------------------------------------------------------
    def _collection(self):
        try:
            return self.store.collection(CACHE)
        except FingerprintMismatch:  # another embedder: the stored question vectors are useless
            log.info("semantic cache built with another embedder: emptied")
            self.store.drop([CACHE])
            return self.store.collection(CACHE)

    def clear(self) -> None:
        self.store.drop([CACHE])

    def count(self) -> int:
        return self._collection().count()

    def _scope(self, settings: Settings) -> frozenset[str]:
        """Committed documents this question could draw on (strategy, then document filter)."""
        strategy = str(settings.strategy)
        records = [r for r in self.store.list_documents() if strategy in r.chunks]
        wanted = set(question_documents(settings) or ())
        if wanted:
            records = [r for r in records if r.source in wanted or r.doc_id in wanted]
        return frozenset(r.doc_id for r in records)

    def _embed(self, text: str) -> np.ndarray:
        vector = np.asarray(self.embedder.embed_query(text), dtype=np.float32)
        return vector / max(float(np.linalg.norm(vector)), 1e-12)

    # --- hook methods ---------------------------------------------------------------------------
    def before_retrieve(self, question: str, standalone: str, settings: Settings) -> Answer | None:
        if not settings.cache_enabled:
            return None
        t0 = time.perf_counter()
        text = normalise(standalone)
        key = self._key(settings)
        try:
            vector = self._embed(text)
            scope = self._scope(settings)
            found = self.lookup(text, key, vector, scope, settings)
        except Exception as exc:  # a cache must never be the reason a question fails
            log.warning("semantic cache lookup failed, answering without it: %s", exc)
            return None
        if found is None:
            with self._lock:
                self.misses += 1
                self._pending[(key, text)] = (vector, scope)
                while len(self._pending) > 64:  # answers that never came back (errors, refusals)
                    self._pending.popitem(last=False)
            return None
        with self._lock:
            self.hits += 1
        found.question, found.standalone_question = question, standalone
        found.cached = True
        found.timings = {"cache": time.perf_counter() - t0}
        return found

    def lookup(
        self, text: str, key: str, vector: np.ndarray, scope: frozenset[str], settings: Settings
    ) -> Answer | None:
        col = self._collection()
        n = col.count()
        if n == 0:
            return None
        res = col.query(
            query_embeddings=[vector],
            n_results=min(CANDIDATES, n),
            where={"key": key},
            include=["metadatas", "documents", "distances"],
        )
        now = time.time()
        stale: list[str] = []
        try:
            for entry_id, meta, doc, dist in zip(
                res["ids"][0], res["metadatas"][0], res["documents"][0], res["distances"][0], strict=True
            ):
                if 1.0 - float(dist) < settings.cache_threshold:
                    break  # nearest first: the rest are further away
                if settings.cache_ttl_s and now - float(meta.get("created", 0)) > settings.cache_ttl_s:
                    stale.append(entry_id)
                    continue
                if not same_question(text, meta.get("question", "")):
                    continue
                payload = json.loads(doc)
                sources, then = set(payload.get("sources", [])), set(payload.get("scope", []))
                if payload.get("format") != FORMAT or not sources <= scope or not scope <= then:
                    stale.append(entry_id)  # a source changed or went, or a new document arrived
                    continue
                col.update(ids=[entry_id], metadatas=[{**meta, "used": now, "hits": int(meta.get("hits", 0)) + 1}])
                return answer_from_json(payload["answer"])
        finally:
            if stale:
                with contextlib.suppress(Exception):
                    col.delete(ids=stale)
        return None

    def before_generate(self, question: str, sources: list[Source], settings: Settings) -> Answer | None:
        return None

    def after_answer(self, answer: Answer, settings: Settings) -> Answer:
        if not settings.cache_enabled or answer.cached or answer.mode not in CACHEABLE_MODES:
            return answer
        text = normalise(answer.standalone_question)
        if not question_terms(text):
            return answer
        key = self._key(settings)
        with self._lock:
            pending = self._pending.pop((key, text), None)
        if pending is None:  # e.g. the lookup failed, or the hook was added mid-question
            return answer
        vector, scope = pending
        sources = {s.chunk.doc_id for s in answer.sources}
        if not sources <= scope:  # the documents changed while answering
            return answer
        try:
            self.put(text, key, vector, answer, sources, scope)
        except Exception as exc:
            log.warning("semantic cache could not store an answer: %s", exc)
        return answer

    def put(
        self, text: str, key: str, vector: np.ndarray, answer: Answer, sources: set[str], scope: frozenset[str]
    ) -> None:
        payload = {
            "format": FORMAT,
            "answer": answer_to_json(answer),
            "sources": sorted(sources),
            "scope": sorted(scope),
        }
        now = time.time()
        entry_id = hashlib.blake2b(f"{key}\n{text}".encode(), digest_size=16).hexdigest()
        col = self._collection()
        col.upsert(
            ids=[entry_id],
            embeddings=[vector],
            metadatas=[{"key": key, "question": text, "created": now, "used": now, "hits": 0}],
            documents=[json.dumps(payload, ensure_ascii=False)],
        )
        self.evict()

    def evict(self, now: float | None = None) -> int:
        """Drop expired entries and the least recently used beyond the size bound; returns how many."""
        col = self._collection()
        limit, ttl = self.settings.cache_max_entries, self.settings.cache_ttl_s
        n = col.count()
        if n <= limit and not ttl:
            return 0
        now = time.time() if now is None else now
        if n <= limit:  # only expiry to check: ask Chroma for the expired ones
            got = col.get(where={"created": {"$lt": now - ttl}}, include=[])
            drop = list(got["ids"])
        else:
            got = col.get(include=["metadatas"])
            entries = sorted(zip(got["ids"], got["metadatas"], strict=True), key=lambda e: float(e[1].get("used", 0)))
            expired = {i for i, m in entries if ttl and now - float(m.get("created", 0)) > ttl}
            alive = [i for i, _ in entries if i not in expired]
            drop = [*expired, *alive[: max(0, len(alive) - limit)]]
        for i in range(0, len(drop), 500):
            col.delete(ids=drop[i : i + 500])
        return len(drop)
