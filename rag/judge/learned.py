"""The offline judge learned from labelled data: a logistic regression over claim-level cues.

Why: the heuristic judge combines two measurements with hand-set weights and one threshold calibrated
on QA data, and on summary-like answers (QAGS) it was no better than counting words. This judge reads the
same measurements plus the entailment cues of rag.judge.features (missing numbers and names, novel
words, negation, word order, length) and weighs them as `benchmarks/train_judge.py` learned from
HaluEval QA and QAGS (human labels), on fixed-seed train/dev splits. The weights are a small JSON file
next to this module, with the data, seed and a hash recorded in it; no model weights are needed.

It is still not a reader: it cannot follow reasoning, and it is labelled as an estimate wherever shown.
The exact number/name checks of rag.judge.checks apply on top, as for every judge.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.core.protocols import Embedder
from rag.core.types import ClaimVerdict, Faithfulness, Source
from rag.judge.checks import NOT_SUPPORTED, SUPPORTED, Claim, refusal_faithfulness, score_verdicts, split_claims
from rag.judge.features import FEATURES, claim_features, expand, feature_row
from rag.judge.heuristic import ClaimAssessment, HeuristicJudge

WEIGHTS_FILE = Path(__file__).with_name("learned_weights.json")
LEARNED_NOTE = "learned estimate (a small model over word, number, name and similarity cues), not a model's reading"


class WeightsError(RuntimeError):
    """The weights file is missing, damaged or was trained on other features."""


@dataclass(frozen=True)
class LearnedWeights:
    """A standardised logistic regression over the FEATURES and their pairwise products (expand):
    P(unsupported) = sigmoid(coef . (x - mean) / scale + intercept)."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float  # a claim is unsupported when P(unsupported) >= threshold
    provenance: dict

    def risk(self, row: Sequence[float]) -> float:
        """P(unsupported) of one claim from its FEATURES row."""
        z = self.intercept + sum(
            c * (x - m) / s for c, x, m, s in zip(self.coef, expand(row), self.mean, self.scale, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def to_json(self) -> dict:
        body = {
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "threshold": self.threshold,
        }
        return {**body, "sha256": model_hash(body), "provenance": self.provenance}


def model_hash(body: dict) -> str:
    """Hash of the numbers that decide verdicts (features, scaling, coefficients, threshold)."""
    keys = ("features", "mean", "scale", "coef", "intercept", "threshold")
    return hashlib.sha256(json.dumps({k: body[k] for k in keys}, sort_keys=True).encode()).hexdigest()


def load_weights(path: Path = WEIGHTS_FILE) -> LearnedWeights:
    """Read and verify a weights file: same feature names and order as this code, hash intact."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise WeightsError(f"learned judge weights not found: {path} (run benchmarks/train_judge.py)") from exc
    except (OSError, ValueError) as exc:
        raise WeightsError(f"learned judge weights unreadable: {path}: {exc}") from exc
    try:
        if tuple(data["features"]) != FEATURES:
            raise WeightsError(f"{path} was trained on other features; retrain with benchmarks/train_judge.py")
        if data.get("sha256") != model_hash(data):
            raise WeightsError(f"{path} does not match its sha256; retrain with benchmarks/train_judge.py")
        n = len(expand([0.0] * len(FEATURES)))
        if not all(len(data[k]) == n for k in ("mean", "scale", "coef")):
            raise WeightsError(f"{path}: expected {n} values per vector")
        return LearnedWeights(
            FEATURES,
            tuple(map(float, data["mean"])),
            tuple(float(s) or 1.0 for s in data["scale"]),
            tuple(map(float, data["coef"])),
            float(data["intercept"]),
            float(data["threshold"]),
            dict(data.get("provenance", {})),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise WeightsError(f"learned judge weights malformed: {path}: {exc}") from exc


def weights_available(path: Path = WEIGHTS_FILE) -> bool:
    try:
        load_weights(path)
    except WeightsError:
        return False
    return True


def featurize(
    heuristic: HeuristicJudge, question: str, claims: Sequence[Claim], sources: Sequence[Source]
) -> tuple[list[ClaimAssessment], list[list[float]]]:
    """The heuristic's measurements and the FEATURES row of every claim (shared with the training script,
    so the model sees at run time exactly what it was trained on)."""
    assessments = heuristic.assess_claims(claims, sources, question)
    texts = {s.number: s.chunk.text for s in sources}
    rows = [
        feature_row(claim_features(a.claim, texts, question, a.similarity, a.coverage, a.support, a.flags))
        for a in assessments
    ]
    return assessments, rows


class LearnedJudge:
    """Offline judge: per-claim P(unsupported) from the learned weights, plus the fact checks."""

    name = "learned"

    def __init__(self, embedder: Embedder, weights: LearnedWeights | None = None) -> None:
        self.embedder = embedder
        self.heuristic = HeuristicJudge(embedder)
        self.weights = weights or load_weights()

    def risks(self, question: str, answer: str, sources: Sequence[Source]) -> list[tuple[ClaimAssessment, float]]:
        """Each claim with its P(unsupported) (empty for a refusal); the benchmark ranks answers by the max."""
        claims, _ = split_claims(answer, sources)
        if not claims or not sources:
            return []
        assessments, rows = featurize(self.heuristic, question, claims, sources)
        return [(a, self.weights.risk(r)) for a, r in zip(assessments, rows, strict=True)]

    def verdict(self, a: ClaimAssessment, risk: float) -> ClaimVerdict:
        """Supported when the model's risk is under its threshold and every fact check passes."""
        t = self.weights.threshold
        ok = risk < t and not a.flags
        reason = (
            f"learned: P(unsupported) {risk:.2f} ({'<' if risk < t else '>='} threshold {t:.2f}); "
            f"similarity {a.similarity:.2f}, coverage {'n/a' if a.coverage is None else f'{a.coverage:.0%}'}"
        )
        return ClaimVerdict(a.claim.text, SUPPORTED if ok else NOT_SUPPORTED, a.source_number, reason, list(a.flags))

    def judge(self, question: str, answer: str, sources: list[Source]) -> Faithfulness:
        claims, refusals = split_claims(answer, sources)
        if not claims:
            return refusal_faithfulness(self.name, refusals)
        if not sources:  # nothing to compare with: every claim unsupported, as the heuristic says
            f = self.heuristic.judge(question, answer, sources)
            return Faithfulness(f.score, f.band, f.verdicts, self.name, f.note)
        verdicts = [self.verdict(a, r) for a, r in self.risks(question, answer, sources)]
        return score_verdicts(verdicts, self.name, LEARNED_NOTE)
