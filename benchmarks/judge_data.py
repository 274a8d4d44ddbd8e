"""The labelled judge data (../shared/data/judge), its fixed-seed splits and its cached features.

Shared by benchmarks/judge.py (measures) and benchmarks/train_judge.py (trains the learned judge), so
both read the same items, split them the same way and compute features with the judge's own code.

Splits are by question / article (a HaluEval question's right and hallucinated answers, a QAGS article's
summary sentences stay together): r = Random(f"{seed}:{group}").random(); train r < 0.40, dev
0.40 <= r < 0.55, test r >= 0.55. With seed 13 the test split lies inside the earlier 70 % test split
(r >= 0.30) that the heuristic's constants were never calibrated on.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.core.types import Chunk, Hit, Source
from rag.judge.checks import split_claims
from rag.judge.heuristic import HeuristicJudge
from rag.judge.learned import featurize

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "judge"
CACHE = REPO / "benchmarks" / ".cache"
SPLIT_BOUNDS = (0.40, 0.55)  # train below the first, dev below the second, test above
# The sets the learned judge is trained and its threshold chosen on (HaluEval "sentence" = length control).
TRAIN_SETS = ("halueval-one-turn/sentence", "halueval-multi-turn/sentence", "qags-cnndm", "qags-xsum")
FEATURE_CODE = (
    "rag/judge/features.py",
    "rag/judge/heuristic.py",
    "rag/judge/checks.py",
    "rag/judge/learned.py",
    "rag/core/text.py",
)


@dataclass
class Item:
    dataset: str
    group: str  # questions / articles: the unit of the split
    question: str
    answer: str
    source: str
    unfaithful: bool
    claims: list[tuple[float, float | None, bool]] = field(default_factory=list)  # (sim, cov, flagged)
    rows: list[list[float]] = field(default_factory=list)  # learned-judge FEATURES, one row per claim
    llm_score: float | None = None
    llm_fallback: bool = False


def as_sentence(question: str, answer: str) -> str:
    return f"The answer to '{question.strip()}' is {answer.strip().rstrip('.')}."


def _fix_joins(text: str) -> str:
    """HaluEval glues paragraphs ("century.First for Women"): restore the space the splitter needs."""
    return re.sub(r"([a-z0-9)\]])\.([A-Z])", r"\1. \2", text)


def _detokenise(text: str) -> str:
    """CNN/DM is tokenised: "235, 000", "98. 7", "$ 1,000". Rejoin numbers the way people write them."""
    text = re.sub(r"(\d), (\d{3})\b", r"\1,\2", text)
    text = re.sub(r"(\d)\. (\d)", r"\1.\2", text)
    return re.sub(r"([$£€]) (\d)", r"\1\2", text)


def _sentence_case(text: str) -> str:
    """CNN/DM is lower-cased, and the sentence splitter (rightly) does not end a sentence before a
    lower-case word; capitalise the first letter after sentence punctuation so articles split."""
    return re.sub(r"(^|[.!?][\"'”’)]*\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_halueval(limit: int | None) -> list[Item]:
    items: list[Item] = []
    for turn in ("one-turn", "multi-turn"):
        rows = _jsonl(DATA / "halueval" / f"qa_{turn}_data.json")[:limit]
        for i, r in enumerate(rows):
            q, k = r["question"], _fix_joins(r["knowledge"])
            for variant, right in (("short", r["right_answer"]), ("sentence", as_sentence(q, r["right_answer"]))):
                name = f"halueval-{turn}/{variant}"
                items.append(Item(name, f"halu-{i}", q, right, k, False))
                items.append(Item(name, f"halu-{i}", q, r["hallucinated_answer"], k, True))
    return items


def load_qags(limit: int | None) -> list[Item]:
    items: list[Item] = []
    for name in ("cnndm", "xsum"):
        for i, r in enumerate(_jsonl(DATA / "qags" / f"mturk_{name}.jsonl")[:limit]):
            article = _sentence_case(_detokenise(r["article"]))
            for s in r["summary_sentences"]:
                yes = sum(v["response"] == "yes" for v in s["responses"])
                unfaithful = yes * 2 < len(s["responses"])
                items.append(Item(f"qags-{name}", f"{name}-{i}", "", _detokenise(s["sentence"]), article, unfaithful))
    return items


def load_items(limit: int | None) -> list[Item]:
    return load_halueval(limit) + load_qags(limit)


def make_source(text: str) -> Source:
    chunk = Chunk("bench", "bench", "sentence", 0, text, 0, len(text), "benchmark", "benchmark")
    return Source(1, Hit(chunk, 1.0))


def split_of(group: str, seed: int) -> str:
    r = random.Random(f"{seed}:{group}").random()
    return "train" if r < SPLIT_BOUNDS[0] else "dev" if r < SPLIT_BOUNDS[1] else "test"


def by_split(items: list[Item], seed: int) -> dict[str, dict[str, list[Item]]]:
    names = list(dict.fromkeys(it.dataset for it in items))
    out: dict[str, dict[str, list[Item]]] = {s: {n: [] for n in names} for s in ("train", "dev", "test")}
    for it in items:
        out[split_of(it.group, seed)][it.dataset].append(it)
    return out


def prefetch(judge: HeuristicJudge, items: list[Item], cache: Path | None, batch: int = 512) -> int:
    """Embed every claim and every source sentence once, shortest first (least padding), with progress.

    With `cache`, vectors persist between runs (keyed by text and embedder), so re-running costs
    seconds, not minutes.
    """
    texts: set[str] = set()
    for source in {it.source for it in items}:
        texts.update(judge.source_sentences(source))
    for it in items:
        claims = split_claims(it.answer, [make_source(it.source)])[0]
        texts.update(judge.embedding_text(c, it.question) for c in claims)
    ordered = sorted(texts, key=len)
    if cache is not None and cache.is_file():
        with np.load(cache) as saved:
            if str(saved["model"]) == judge.embedder.name:
                judge.preload(saved["texts"].tolist(), saved["vectors"])
    missing = [t for t in ordered if not judge.is_cached(t)]
    print(f"  {len(ordered)} texts, {len(ordered) - len(missing)} from the cache")
    t0 = time.perf_counter()
    for i in range(0, len(missing), batch):
        judge.embed(missing[i : i + batch])
        done = min(i + batch, len(missing))
        rate = done / max(time.perf_counter() - t0, 1e-9)
        print(f"\r  embedded {done}/{len(missing)} texts ({rate:.0f}/s)", end="", flush=True)
    print()
    if cache is not None and missing:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, model=judge.embedder.name, texts=np.array(ordered), vectors=judge.embed(ordered))
    return len(missing)


def _features_key(items: list[Item], embedder_name: str) -> str:
    h = hashlib.sha256(embedder_name.encode())
    for path in FEATURE_CODE:
        h.update((REPO / path).read_bytes())
    for it in items:
        h.update(f"{it.dataset}\0{it.question}\0{it.answer}\0{len(it.source)}\n".encode())
    return h.hexdigest()[:24]


def featurize_items(judge: HeuristicJudge, items: list[Item], use_cache: bool = True) -> None:
    """Fill each item's heuristic measurements and learned-judge feature rows (cached on disk, keyed by
    the items, the embedder and the feature code, so a change to the features recomputes them)."""
    path = CACHE / f"judge_features_{_features_key(items, judge.embedder.name)}.pkl"
    if use_cache and path.is_file():
        saved = pickle.loads(path.read_bytes())
        for it, (claims, rows) in zip(items, saved, strict=True):
            it.claims, it.rows = claims, rows
        print(f"  features from {path.relative_to(REPO)}")
        return
    prefetch(judge, items, CACHE / "judge_embeddings.npz" if use_cache else None)
    t0 = time.perf_counter()
    for i, it in enumerate(items, 1):
        sources = [make_source(it.source)]
        claims, _ = split_claims(it.answer, sources)
        assessments, rows = featurize(judge, it.question, claims, sources)
        it.claims = [(a.similarity, a.coverage, bool(a.flags)) for a in assessments]
        it.rows = rows
        if i % 200 == 0 or i == len(items):
            print(f"\r  features {i}/{len(items)} ({time.perf_counter() - t0:.0f}s)", end="", flush=True)
    print()
    if use_cache:
        CACHE.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps([(it.claims, it.rows) for it in items]))
