"""Faithfulness judges: is every claim of an answer backed by the numbered sources it was given?

Three judges share one protocol, one claim splitter and one scoring rule (rag.judge.checks): these two
and `LearnedJudge` (rag.judge.learned), the offline default, which feeds this judge's measurements and
more cues to a model trained on labelled data.

- `LLMJudge` (rag.judge.llm) asks a chat model to split the answer into self-contained claims and
  give each a verdict against the sources; it is used whenever an LLM is configured.
- `HeuristicJudge` works offline with the embedder only. It is a HEURISTIC: it measures how close each
  answer sentence is to the cited passages (embedding similarity plus word/number coverage). It cannot
  follow reasoning or negation, so it is labelled as such wherever its result is shown.

Both apply the exact number/name checks of rag.judge.checks on top, which can only take support away.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rag.core.protocols import Embedder
from rag.core.sentences import split_sentences
from rag.core.text import cjk_bigrams, content_words, is_cjk, is_number
from rag.core.types import ClaimVerdict, Faithfulness, Source
from rag.judge.checks import (
    NOT_SUPPORTED,
    SUPPORTED,
    Claim,
    check_claim,
    extract_numbers,
    refusal_faithfulness,
    score_verdicts,
    source_facts,
    split_claims,
)

# Calibrated by `python benchmarks/judge.py` on a fixed-seed 30 % dev split (seed 13, split by question /
# article) of HaluEval QA one-turn + multi-turn (right answers written as sentences vs hallucinated
# answers) and QAGS CNN/DM + XSum (majority of 3 human votes). The weight maximises the mean dev AUROC,
# the threshold the mean dev balanced accuracy at that weight (0.673). Recalibrated (0.59 -> 0.605) when
# coverage moved to the shared content words of rag.core.text. On the test split: balanced accuracy
# 0.745 / 0.672 (HaluEval one / multi-turn, sentences), 0.524 / 0.558 (QAGS CNN/DM / XSum); AUROC
# 0.778 / 0.694 / 0.822 / 0.728. See benchmarks/results/judge.md and the README.
HEURISTIC_THRESHOLD = 0.605
# support = weight * max cosine similarity + (1 - weight) * content-word/number coverage.
HEURISTIC_SIM_WEIGHT = 0.5
SHORT_CLAIM_UNITS = 3  # claims with at most this many content words are embedded with the question
MAX_UNIT_CHARS = 400  # longer source sentences are compared as windows of about this size
HEURISTIC_NOTE = "heuristic estimate (embedding similarity + word coverage), not a model's reading"


@dataclass(frozen=True)
class ClaimAssessment:
    """The heuristic's measurements for one claim (kept for the benchmark and for explanations)."""

    claim: Claim
    similarity: float  # best cosine to a cited source sentence (or adjacent sentence pair)
    coverage: float | None  # share of the claim's content words/numbers in the cited text; None: none
    support: float  # the combined score compared with the threshold
    source_number: int | None  # source holding the most similar sentence
    flags: tuple[str, ...]

    @property
    def continuous(self) -> float:
        """Support with failed fact checks pushed below every unflagged claim (for ranking/AUROC)."""
        return self.support - 1.0 if self.flags else self.support


def content_units(text: str) -> set[str]:
    """Language-neutral matching units: numbers as values, and the content words of rag.core.text (the
    ones citations and the cache compare) with Latin words cut to 5 letters and Hangul words turned into
    character bigrams, a looser match that the threshold was calibrated with."""
    units = {f"#{m.value:g}" for m in extract_numbers(text)}
    for word in content_words(text):
        if is_number(word):
            continue  # compared as values above ("1,000" == "1000", "25 percent" == "25%")
        if is_cjk(word[0]):
            units.update(cjk_bigrams(word))
        else:
            units.add(word[:5])
    return units


@lru_cache(maxsize=4096)
def _source_units(text: str) -> frozenset[str]:
    """A source's units, number values written any way included; cached since sources repeat per claim."""
    units = content_units(text)
    units.update(f"#{v:g}" for v in source_facts(text)[0])
    return frozenset(units)


def _windows(sentence: str, max_chars: int = MAX_UNIT_CHARS) -> list[str]:
    """The sentence itself, or consecutive whitespace-bounded pieces of about max_chars."""
    if len(sentence) <= max_chars:
        return [sentence] if sentence else []
    pieces, current = [], ""
    for word in sentence.split():
        if current and len(current) + 1 + len(word) > max_chars:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    return [*pieces, current] if current else pieces


def answer_continuous(assessments: Sequence[ClaimAssessment]) -> float:
    """One number per answer for ranking: its weakest claim (an answer is as faithful as its worst claim)."""
    return min((a.continuous for a in assessments), default=1.0)


class HeuristicJudge:
    """Offline judge: embedding similarity + coverage per answer sentence, plus the fact checks."""

    name = "heuristic"

    def __init__(
        self,
        embedder: Embedder,
        threshold: float = HEURISTIC_THRESHOLD,
        weight: float = HEURISTIC_SIM_WEIGHT,
        cache_size: int = 20_000,
    ) -> None:
        self.embedder = embedder
        self.threshold = threshold
        self.weight = weight
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    # --- embeddings, cached: the same passages come back question after question --------------------
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for texts, embedding only those not cached (one batch)."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = np.asarray(self.embedder.embed(missing), dtype=np.float32)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.where(norms == 0, 1.0, norms)
            with self._lock:
                for text, vec in zip(missing, vectors, strict=True):
                    self._cache[text] = vec
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        with self._lock:
            found = {t: self._cache.get(t) for t in texts}
        if any(v is None for v in found.values()):  # evicted meanwhile (tiny cache): embed directly
            return self.embed_uncached(texts)
        dim = next(iter(found.values())).shape[0] if found else 0
        return np.stack([found[t] for t in texts]) if texts else np.zeros((0, dim), dtype=np.float32)

    def preload(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Put known vectors in the cache (the benchmark keeps them on disk between runs)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        with self._lock:
            for text, vec in zip(texts, vectors, strict=True):
                self._cache[text] = vec

    def is_cached(self, text: str) -> bool:
        with self._lock:
            return text in self._cache

    def embed_uncached(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.asarray(self.embedder.embed(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)

    @staticmethod
    def source_sentences(text: str) -> list[str]:
        """A passage's sentences, trimmed; over-long ones (tables, unpunctuated or lower-cased text) are
        cut into word windows, since the embedder truncates and one vector per 500 words says little."""
        out: list[str] = []
        for a, b in split_sentences(text):
            out.extend(_windows(text[a:b].strip()))
        return out or _windows(text.strip())

    @staticmethod
    def embedding_text(claim: Claim, question: str) -> str:
        """What is embedded for a claim: a terse one ("Delhi.") is not self-contained, so the question
        goes in front of it (the heuristic's counterpart of the LLM judge resolving references)."""
        if question.strip() and len(content_units(claim.text)) <= SHORT_CLAIM_UNITS:
            return f"{question.strip()} {claim.text}"
        return claim.text

    # --- the judgement -------------------------------------------------------------------------------
    def assess(self, question: str, answer: str, sources: Sequence[Source]) -> list[ClaimAssessment]:
        """Measurements for every claim of the answer (empty for a refusal)."""
        claims, _ = split_claims(answer, sources)
        return self.assess_claims(claims, sources, question)

    def assess_claims(
        self, claims: Sequence[Claim], sources: Sequence[Source], question: str = ""
    ) -> list[ClaimAssessment]:
        if not claims:
            return []
        texts = {s.number: s.chunk.text for s in sources}
        needed = sorted(texts) if any(not c.cited for c in claims) else sorted({n for c in claims for n in c.cited})
        sentences = {n: self.source_sentences(texts[n]) for n in needed}
        flat = [(n, s) for n in needed for s in sentences[n]]
        vectors = self.embed([self.embedding_text(c, question) for c in claims] + [s for _, s in flat])
        claim_vecs, sent_vecs = vectors[: len(claims)], vectors[len(claims) :]
        # Units: each sentence, and each adjacent pair (mean vector) since a claim often joins two.
        unit_vecs, unit_src = [], []
        row = 0
        for n in needed:
            k = len(sentences[n])
            block = sent_vecs[row : row + k]
            row += k
            unit_vecs.append(block)
            unit_src += [n] * k
            if k > 1:
                pairs = block[:-1] + block[1:]
                unit_vecs.append(pairs / np.maximum(np.linalg.norm(pairs, axis=1, keepdims=True), 1e-9))
                unit_src += [n] * (k - 1)
        units = np.concatenate(unit_vecs) if unit_vecs else np.zeros((0, claim_vecs.shape[1]), np.float32)
        cosine = claim_vecs @ units.T if len(units) else np.zeros((len(claims), 0), np.float32)
        src_arr = np.array(unit_src)
        out: list[ClaimAssessment] = []
        for i, claim in enumerate(claims):
            allowed = [n for n in claim.cited if n in texts] or sorted(texts)
            mask = np.isin(src_arr, allowed) if len(src_arr) else np.zeros(0, bool)
            if mask.any():
                j = int(np.flatnonzero(mask)[np.argmax(cosine[i][mask])])
                similarity, best = float(cosine[i, j]), int(src_arr[j])
            else:
                similarity, best = 0.0, None
            words = content_units(claim.text)
            pool: set[str] = set().union(*(_source_units(texts[n]) for n in allowed)) if allowed else set()
            coverage = len(words & pool) / len(words) if words else None
            support = similarity if coverage is None else self.weight * similarity + (1 - self.weight) * coverage
            flags = tuple(check_claim(claim, texts, question)) if texts else ("no sources to check against",)
            out.append(ClaimAssessment(claim, similarity, coverage, support, best, flags))
        return out

    def verdict(self, a: ClaimAssessment) -> ClaimVerdict:
        """Supported when support reaches the calibrated threshold and every fact check passes."""
        ok = a.support >= self.threshold and not a.flags
        cov = "n/a" if a.coverage is None else f"{a.coverage:.0%}"
        reason = (
            f"heuristic: similarity {a.similarity:.2f}, coverage {cov} -> support {a.support:.2f} "
            f"({'>=' if a.support >= self.threshold else '<'} threshold {self.threshold:.2f})"
        )
        return ClaimVerdict(a.claim.text, SUPPORTED if ok else NOT_SUPPORTED, a.source_number, reason, list(a.flags))

    def judge(self, question: str, answer: str, sources: list[Source]) -> Faithfulness:
        claims, refusals = split_claims(answer, sources)
        if not claims:
            return refusal_faithfulness(self.name, refusals)
        verdicts = [self.verdict(a) for a in self.assess_claims(claims, sources, question)]
        return score_verdicts(verdicts, self.name, HEURISTIC_NOTE)
