"""How well do the faithfulness judges separate faithful from unfaithful answers?

Data (../shared/data/judge, see the README.txt files there):
- HaluEval QA (one-turn and multi-turn files): HotpotQA knowledge + question, a right answer (faithful)
  and a ChatGPT-written hallucinated answer (unfaithful). Constructed labels with a known length bias:
  right answers are short entities, hallucinated ones full sentences. So each file is scored twice:
  "short" (right answer as given) and "sentence" (right answer written as the sentence
  "The answer to '<question>' is <right answer>.").
- QAGS CNN/DM and XSum: model-written summary sentences with three human yes/no votes each; label =
  majority vote. Sentence-level, human-labelled.
The knowledge / article is one source (number 1); the answer or summary sentence is the answer.

Metrics, with UNFAITHFUL as the positive class: balanced accuracy, F1, AUROC (from the judge's
continuous score: the heuristic's weakest-claim support, fact-check failures ranked lowest; the LLM
judge's supported share). The heuristic's threshold (and similarity weight) are calibrated on a
fixed-seed dev split (30 % of questions / articles) and reported on the remaining test split.

    .venv/bin/python benchmarks/judge.py [--limit N] [--llm-limit N]

Writes benchmarks/results/judge.json and judge.md. The LLM judge runs only when OPENAI_API_KEY or
OPENAI_BASE_URL is set.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rag.core.settings import load_settings, offline_environment  # noqa: E402

offline_environment()

from sklearn.metrics import balanced_accuracy_score, f1_score, roc_auc_score  # noqa: E402

from rag.backends.chat import OpenAIChat  # noqa: E402
from rag.backends.st_embedder import SentenceTransformerEmbedder  # noqa: E402
from rag.core.types import Chunk, Hit, Source  # noqa: E402
from rag.judge.checks import split_claims  # noqa: E402
from rag.judge.heuristic import HEURISTIC_SIM_WEIGHT, HEURISTIC_THRESHOLD, HeuristicJudge  # noqa: E402
from rag.judge.llm import LLMJudge  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "judge"
RESULTS = REPO / "benchmarks" / "results"
CALIBRATION_SETS = ("halueval-one-turn/sentence", "halueval-multi-turn/sentence", "qags-cnndm", "qags-xsum")
WEIGHTS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
THRESHOLDS = np.round(np.arange(0.20, 0.901, 0.005), 3)


@dataclass
class Item:
    dataset: str
    group: str  # questions / articles: the unit of the dev/test split
    question: str
    answer: str
    source: str
    unfaithful: bool
    claims: list[tuple[float, float | None, bool]] = field(default_factory=list)  # (sim, cov, flagged)
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


def make_source(text: str) -> Source:
    chunk = Chunk("bench", "bench", "sentence", 0, text, 0, len(text), "benchmark", "benchmark")
    return Source(1, Hit(chunk, 1.0))


def split_of(group: str, seed: int, dev_frac: float) -> str:
    return "dev" if random.Random(f"{seed}:{group}").random() < dev_frac else "test"


def prefetch(judge: HeuristicJudge, items: list[Item], cache: Path | None, batch: int = 512) -> int:
    """Embed every claim and every source sentence once, shortest first (least padding), with progress.

    With `cache`, vectors persist between runs (keyed by text and embedder), so re-running to
    recalibrate costs seconds, not minutes.
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


def continuous(item: Item, weight: float) -> float:
    """Weakest claim's support; a failed fact check puts a claim below every unflagged one."""
    scores = [
        (sim if cov is None else weight * sim + (1 - weight) * cov) - (1.0 if flagged else 0.0)
        for sim, cov, flagged in item.claims
    ]
    return min(scores, default=1.0)


def metrics(y_unfaithful: np.ndarray, pred_unfaithful: np.ndarray, risk: np.ndarray) -> dict:
    if len(y_unfaithful) == 0:
        return {"n": 0} | dict.fromkeys(("unfaithful_share", "balanced_accuracy", "f1_unfaithful", "auroc"))
    both = len(set(y_unfaithful.tolist())) == 2
    return {
        "n": len(y_unfaithful),
        "unfaithful_share": round(float(y_unfaithful.mean()), 3) if len(y_unfaithful) else None,
        "balanced_accuracy": round(float(balanced_accuracy_score(y_unfaithful, pred_unfaithful)), 3) if both else None,
        "f1_unfaithful": round(float(f1_score(y_unfaithful, pred_unfaithful, pos_label=1, zero_division=0)), 3),
        "auroc": round(float(roc_auc_score(y_unfaithful, risk)), 3) if both else None,
    }


def heuristic_metrics(items: list[Item], weight: float, threshold: float) -> dict:
    y = np.array([it.unfaithful for it in items], dtype=int)
    cont = np.array([continuous(it, weight) for it in items])
    out = metrics(y, (cont < threshold).astype(int), -cont)
    flagged = np.array([any(f for *_, f in it.claims) for it in items])
    out["flagged_faithful"] = round(float(flagged[y == 0].mean()), 3) if (y == 0).any() else None
    out["flagged_unfaithful"] = round(float(flagged[y == 1].mean()), 3) if (y == 1).any() else None
    return out


def checks_only_metrics(items: list[Item]) -> dict:
    y = np.array([it.unfaithful for it in items], dtype=int)
    flagged = np.array([any(f for *_, f in it.claims) for it in items], dtype=int)
    return metrics(y, flagged, flagged.astype(float))


def calibrate(dev: dict[str, list[Item]]) -> dict:
    """Two steps on the calibration sets' dev items: the similarity weight that ranks best (mean AUROC,
    threshold-free), then the threshold that maximises the mean balanced accuracy at that weight."""
    ys = {n: np.array([it.unfaithful for it in dev.get(n, [])], dtype=int) for n in CALIBRATION_SETS}
    usable = [n for n in CALIBRATION_SETS if len(set(ys[n].tolist())) == 2]  # both classes present
    if not usable:
        print("too few dev items to calibrate (try a larger --limit): using the constants in rag/judge/heuristic.py")
        return {"objective": None, "weight": HEURISTIC_SIM_WEIGHT, "threshold": HEURISTIC_THRESHOLD, "sets_used": []}
    aurocs = {}
    for w in WEIGHTS:
        risk = {n: -np.array([continuous(it, w) for it in dev[n]]) for n in usable}
        aurocs[w] = float(np.mean([roc_auc_score(ys[n], risk[n]) for n in usable]))
    weight = max(WEIGHTS, key=lambda w: aurocs[w])
    conts = {n: np.array([continuous(it, weight) for it in dev[n]]) for n in usable}
    best: dict = {"objective": -1.0}
    for t in THRESHOLDS:
        objective = float(np.mean([balanced_accuracy_score(ys[n], (conts[n] < t).astype(int)) for n in usable]))
        if objective > best["objective"] + 1e-9:
            best = {"objective": round(objective, 4), "weight": weight, "threshold": float(t)}
    best["mean_dev_auroc_by_weight"] = {str(w): round(a, 4) for w, a in aurocs.items()}
    best["sets_used"] = usable
    return best


def run_llm(items: list[Item], limit: int, fallback: HeuristicJudge) -> dict | None:
    settings = load_settings()
    if not settings.llm_enabled:
        print("LLM judge skipped: set OPENAI_API_KEY and/or OPENAI_BASE_URL to measure it.")
        return None
    judge = LLMJudge(settings, fallback, OpenAIChat())
    by_set: dict[str, list[Item]] = {}
    for it in items:
        by_set.setdefault(it.dataset, []).append(it)
    out = {"model": judge.model, "per_dataset": {}}
    for name, rows in by_set.items():
        rows = rows[:limit]
        for i, it in enumerate(rows, 1):
            f = judge.judge(it.question, it.answer, [make_source(it.source)])
            it.llm_score, it.llm_fallback = f.score, f.judge != judge.name
            print(f"\r  LLM judge {name}: {i}/{len(rows)}", end="", flush=True)
        print()
        y = np.array([it.unfaithful for it in rows], dtype=int)
        score = np.array([it.llm_score for it in rows])
        m = metrics(y, (score < 1.0).astype(int), -score)
        m["fallbacks"] = sum(it.llm_fallback for it in rows)
        out["per_dataset"][name] = m
    return out


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:.0%}"


def table(rows: list[tuple[str, str, dict]]) -> str:
    head = (
        "| Judge | Dataset (test split) | n | unfaithful | Bal. acc. | F1 (unfaithful) | AUROC "
        "| flagged: faithful / unfaithful |"
    )
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|"]
    for judge, name, m in rows:
        flags = f"{_pct(m['flagged_faithful'])} / {_pct(m['flagged_unfaithful'])}" if "flagged_faithful" in m else "–"
        lines.append(
            f"| {judge} | {name} | {m['n']} | {_pct(m['unfaithful_share'])} | {_fmt(m['balanced_accuracy'])} | "
            f"{_fmt(m['f1_unfaithful'])} | {_fmt(m['auroc'])} | {flags} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--limit", type=int, default=None, help="first N questions per HaluEval file / articles per QAGS file"
    )
    ap.add_argument("--llm-limit", type=int, default=100, help="test items per dataset for the LLM judge")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--no-cache", action="store_true", help="do not reuse/save embeddings in benchmarks/results")
    ap.add_argument("--dev-frac", type=float, default=0.3)
    args = ap.parse_args(argv)
    if not DATA.is_dir():
        print(f"data not found: {DATA}")
        return 1

    t0 = time.perf_counter()
    items = load_halueval(args.limit) + load_qags(args.limit)
    print(f"{len(items)} items from {DATA}")
    embedder = SentenceTransformerEmbedder()
    embedder.warm_up()
    judge = HeuristicJudge(embedder, cache_size=10**7)
    n_texts = prefetch(judge, items, None if args.no_cache else RESULTS / "judge_embeddings.npz")
    t_embed = time.perf_counter() - t0
    for it in items:
        for a in judge.assess(it.question, it.answer, [make_source(it.source)]):
            it.claims.append((a.similarity, a.coverage, bool(a.flags)))

    names = list(dict.fromkeys(it.dataset for it in items))
    split = {"dev": {n: [] for n in names}, "test": {n: [] for n in names}}
    for it in items:
        split[split_of(it.group, args.seed, args.dev_frac)][it.dataset].append(it)
    cal = calibrate(split["dev"])
    w, t = cal["weight"], cal["threshold"]
    if cal["objective"] is not None:
        print(f"calibrated on dev: weight {w}, threshold {t:.3f} (mean balanced accuracy {cal['objective']:.3f})")
    if (w, t) != (HEURISTIC_SIM_WEIGHT, HEURISTIC_THRESHOLD):
        print(
            f"NOTE: rag/judge/heuristic.py has weight {HEURISTIC_SIM_WEIGHT}, threshold {HEURISTIC_THRESHOLD}; "
            "update the constants to the calibrated values."
        )

    rows = [("heuristic", n, heuristic_metrics(split["test"][n], w, t)) for n in names]
    rows += [("checks only", n, checks_only_metrics(split["test"][n])) for n in names]
    llm = run_llm([it for n in names for it in split["test"][n]], args.llm_limit, judge)
    if llm:
        rows += [(f"llm:{llm['model']}", n, m) for n, m in llm["per_dataset"].items()]
    elapsed = time.perf_counter() - t0
    md = table(rows)
    print(md)

    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {
        "config": {"limit": args.limit, "seed": args.seed, "dev_frac": args.dev_frac, "embedder": embedder.name},
        "calibration": {**cal, "sets": list(CALIBRATION_SETS), "module_weight": HEURISTIC_SIM_WEIGHT,
                        "module_threshold": HEURISTIC_THRESHOLD},
        "dev": {n: heuristic_metrics(split["dev"][n], w, t) for n in names},
        "test": {f"{j} | {n}": m for j, n, m in rows},
        "llm": llm or "skipped (no OPENAI_API_KEY / OPENAI_BASE_URL)",
        "texts_embedded": n_texts,
        "seconds": {"embedding": round(t_embed, 1), "total": round(elapsed, 1)},
    }  # fmt: skip
    (RESULTS / "judge.json").write_text(json.dumps(result, indent=2))
    notes = [
        f"Heuristic: weight {w}, threshold {t:.3f}, calibrated on a {args.dev_frac:.0%} dev split (seed {args.seed}); "
        "test split shown. Positive class = unfaithful. AUROC from the continuous score.",
        "HaluEval 'short' = right answer as given (a bare entity); 'sentence' = "
        "\"The answer to '<question>' is <right answer>.\" (controls the length bias).",
        "'checks only' = unfaithful iff a number/name in the answer is missing from the source.",
        "LLM judge: "
        + (f"{llm['model']}, first {args.llm_limit} test items per set" if llm else "skipped (no LLM configured)."),
    ]
    (RESULTS / "judge.md").write_text(md + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n")
    print(f"\nwrote {RESULTS / 'judge.json'} and judge.md in {elapsed:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
