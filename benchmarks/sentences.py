"""Which offline sentence splitter should the chunkers use? Measured, not guessed.

Candidates (each skipped with a note when it is not installed): a naive regex baseline, pysbd, spaCy's
rule-based `sentencizer` on a blank multilingual pipeline, blingfire, syntok, NLTK Punkt without
trained parameters (the punkt data cannot be downloaded), kss (Korean only; runs only when named in
--only, from a separate venv: it pins old dependencies and manages ~100 characters per second with its
pecab backend) and docqa's own `rag.core.sentences.split_sentences`. Every library runs on blank-line
separated blocks, because a paragraph break always ends a sentence in docqa whatever the library says
(this also keeps pysbd, which is super-linear in input length, usable on whole articles).

Metrics (data under ../shared/data/qa, see the README.txt files there):
- cut: share of gold answer spans with a sentence start strictly inside them (lower is better). COVID-QA
  answers are often whole sentences or several, so the share among single-sentence answers (no
  unambiguous sentence end inside, see _MULTI) is reported too; KorQuAD answers are short spans, so any
  cut is an error.
- recall: share of unambiguous boundaries that the splitter finds (English: a lowercase word of 3+
  letters, [.!?], space, a capitalised word; Korean: 다/요/까/죠 + [.!?] + space + Hangul or digit). A splitter
  that never splits has no cuts; this catches it.
- hand: exact-match accuracy on a hand-written English + Korean set of abbreviations, decimals, lists,
  quotes and newline rules. It was written alongside docqa's rules, so docqa's score there is in-sample;
  the cut and recall numbers on the QA data and the --spot check are the fairer comparison.
- speed: characters per second over the documents (noisy on a shared machine).

    .venv/bin/python benchmarks/sentences.py [--limit N] [--spot N] [--long]

--limit caps COVID-QA articles and KorQuAD articles (default 60, 0 = all); --spot N prints a seeded sample of N
KorQuAD positions where the candidates disagree, with who splits there, for a manual check; --long
times each candidate on ~1M characters.
Writes benchmarks/results/sentences.json.
"""

from __future__ import annotations

import argparse
import bisect
import json
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sentence_cases import HAND  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "qa"
RESULTS = REPO / "benchmarks" / "results"
Span = tuple[int, int]
Splitter = Callable[[str], list[Span]]

# ---------------------------------------------------------------- candidates


def _strip(text: str, a: int, b: int) -> Span:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _align(text: str, pieces: list[str]) -> list[Span]:
    """Spans of library sentences returned as strings, found in order (skipped if not found)."""
    spans, cursor = [], 0
    for piece in pieces:
        p = piece.strip()
        i = text.find(p, cursor) if p else -1
        if i >= 0:
            spans.append((i, i + len(p)))
            cursor = i + len(p)
    return spans


_BLOCK = re.compile(r"\n[ \t\r\f\v]*\n")


def by_block(fn: Splitter) -> Splitter:
    """Run a library splitter on each blank-line separated block; spans shifted and stripped."""

    def split(text: str) -> list[Span]:
        out, pos = [], 0
        for m in [*_BLOCK.finditer(text), None]:
            end = m.start() if m else len(text)
            block = text[pos:end]
            if block.strip():
                for a, b in fn(block):
                    a, b = _strip(text, a + pos, b + pos)
                    if b > a:
                        out.append((a, b))
            pos = m.end() if m else end
        return out

    return split


_NAIVE = re.compile(r"[.!?]+[\"')\]]*\s+")


def regex_baseline(text: str) -> list[Span]:
    spans, pos = [], 0
    for m in _NAIVE.finditer(text):
        spans.append((pos, m.start() + len(m.group().rstrip())))
        pos = m.end()
    spans.append((pos, len(text)))
    return [s for s in (_strip(text, a, b) for a, b in spans) if s[1] > s[0]]


def load_candidates(with_kss: bool = False) -> tuple[dict[str, Splitter], dict[str, str]]:
    cands: dict[str, Splitter] = {"regex-baseline": by_block(regex_baseline)}
    skipped: dict[str, str] = {}
    try:
        import pysbd

        seg = pysbd.Segmenter(language="en", clean=False)
        cands["pysbd"] = by_block(lambda t: _align(t, seg.segment(t)))
    except ImportError as exc:
        skipped["pysbd"] = str(exc)
    try:
        import spacy

        nlp = spacy.blank("xx")
        nlp.add_pipe("sentencizer")
        nlp.max_length = 10**8
        cands["spacy-xx-sentencizer"] = by_block(lambda t: [(s.start_char, s.end_char) for s in nlp(t).sents])
    except ImportError as exc:
        skipped["spacy-xx-sentencizer"] = str(exc)
    try:
        import blingfire

        cands["blingfire"] = by_block(lambda t: list(blingfire.text_to_sentences_and_offsets(t)[1]))
    except ImportError as exc:
        skipped["blingfire"] = str(exc)
    try:
        import syntok.segmenter as syntok

        def syntok_split(t: str) -> list[Span]:
            return [(s[0].offset, s[-1].offset + len(s[-1].value)) for p in syntok.analyze(t) for s in p if s]

        cands["syntok"] = by_block(syntok_split)
    except ImportError as exc:
        skipped["syntok"] = str(exc)
    try:
        from nltk.tokenize.punkt import PunktSentenceTokenizer

        punkt = PunktSentenceTokenizer()  # untrained: no abbreviation list (punkt data is not downloadable)
        cands["nltk-punkt-untrained"] = by_block(lambda t: list(punkt.span_tokenize(t)))
    except ImportError as exc:
        skipped["nltk-punkt-untrained"] = str(exc)
    if with_kss:  # opt-in: ~70 characters per second with its pecab backend (hours for KorQuAD)
        try:
            import kss

            cands["kss"] = by_block(lambda t: _align(t, kss.split_sentences(t)))
        except ImportError as exc:
            skipped["kss"] = str(exc)
    try:
        from rag.core.sentences import split_sentences

        cands["docqa"] = split_sentences
    except ImportError as exc:
        skipped["docqa"] = str(exc)
    return cands, skipped


# ---------------------------------------------------------------- data


def load_covid(limit: int) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """(article, [(start, end, answer)]) with stripped answers and repaired offsets (see README.md)."""
    data = json.loads((DATA / "covidqa" / "200423_covidQA.json").read_text())
    docs = []
    for article in data["data"]:
        for para in article["paragraphs"]:
            ctx, answers = para["context"], []
            for qa in para["qas"]:
                for ans in qa["answers"][:1]:
                    raw, start = ans["text"], ans["answer_start"]
                    text = raw.strip()
                    start += len(raw) - len(raw.lstrip())
                    if not text:
                        continue
                    if ctx[start : start + len(text)] != text:
                        start = ctx.find(text)
                        if start < 0:
                            continue
                    answers.append((start, start + len(text), text))
            docs.append((ctx, answers))
    return docs[:limit] if limit else docs


def load_korquad(limit: int) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """Articles as paragraphs joined by blank lines, answer offsets shifted to the joined text."""
    data = json.loads((DATA / "korquad1" / "KorQuAD_v1.0_dev.json").read_text())
    docs = []
    for article in data["data"][: limit or None]:
        parts, answers, offset = [], set(), 0
        for para in article["paragraphs"]:
            ctx = para["context"]
            for qa in para["qas"]:
                for ans in qa["answers"]:
                    text = ans["text"].strip()
                    start = ans["answer_start"] + len(ans["text"]) - len(ans["text"].lstrip())
                    if text and ctx[start : start + len(text)] == text:
                        answers.add((offset + start, offset + start + len(text), text))
            parts.append(ctx)
            offset += len(ctx) + 2
        docs.append(("\n\n".join(parts), sorted(answers)))
    return docs


# ---------------------------------------------------------------- metrics

# An answer holds several sentences when it contains an unambiguous end: a word of 3+ letters or a
# number/bracket, then [.!?], then a capitalised word (or a blank line). "Dr. X", "et al. (2007)",
# "Ae. albopictus", "Fig. 1b" stay single-sentence, so a cut there counts as an error.
_MULTI = re.compile(r"(?:[A-Za-z]{3,}|[\d)\]%])\s?[.!?][\"')\]]*\s+[A-Z(\[]|\n\s*\n")
_CLEAR = {
    "en": re.compile(r"\b[a-z]{3,}[.!?]\s+([A-Z][a-z]+)"),
    "ko": re.compile(r"(?:다|요|까|죠)[.!?]\s+([가-힣0-9])"),
}


def evaluate(fn: Splitter, docs: list, lang: str) -> dict:
    cut = total = single = single_cut = clear = clear_hit = lost = n_sent = chars = 0
    seconds = 0.0
    for text, answers in docs:
        t0 = time.perf_counter()
        spans = fn(text)
        seconds += time.perf_counter() - t0
        chars += len(text)
        n_sent += len(spans)
        starts = sorted(a for a, _ in spans[1:])
        covered = bytearray(len(text))
        for a, b in spans:
            covered[a:b] = b"\x01" * (b - a)
        lost += sum(1 for i, c in enumerate(text) if not covered[i] and not c.isspace())
        for a, b, ans in answers:
            i = bisect.bisect_right(starts, a)
            is_cut = i < len(starts) and starts[i] < b
            total += 1
            cut += is_cut
            if lang == "ko" or not _MULTI.search(ans):
                single += 1
                single_cut += is_cut
        start_set = set(starts)
        for m in _CLEAR[lang].finditer(text):
            clear += 1
            clear_hit += m.start(1) in start_set
    return {
        "answers": total,
        "cut_pct": round(100 * cut / max(total, 1), 2),
        "single_answers": single,
        "single_cut_pct": round(100 * single_cut / max(single, 1), 2),
        "clear_boundaries": clear,
        "recall_pct": round(100 * clear_hit / max(clear, 1), 2),
        "sentences": n_sent,
        "mean_chars": round(chars / max(n_sent, 1), 1),
        "lost_chars": lost,
        "kchars_per_s": round(chars / max(seconds, 1e-9) / 1000, 1),
    }


def hand_accuracy(fn: Splitter) -> dict:
    failures = []
    for text, expected in HAND:
        got = [text[a:b] for a, b in fn(text)]
        if got != expected:
            failures.append({"text": text, "expected": expected, "got": got})
    return {"accuracy_pct": round(100 * (len(HAND) - len(failures)) / len(HAND), 1), "failures": failures}


def disagreements(cands: dict[str, Splitter], docs: list, n: int, seed: int = 0) -> list[dict]:
    """A seeded sample of n positions where the candidates disagree about a sentence start.

    Printed with each candidate's decision for a manual check: agreement says nothing, so only
    disagreements show which splitter is right.
    """
    rows = []
    for text, _ in docs:
        starts = {name: {a for a, _ in fn(text)} for name, fn in cands.items()}
        for pos in sorted(set().union(*starts.values())):
            votes = {name: pos in s for name, s in starts.items()}
            if len(set(votes.values())) > 1:
                left, right = text[max(0, pos - 30) : pos], text[pos : pos + 20]
                rows.append({"left": left, "right": right, "splits": [k for k, v in votes.items() if v]})
    return random.Random(seed).sample(rows, min(n, len(rows)))


def long_input_seconds(fn: Splitter, docs: list, target: int = 1_000_000) -> dict:
    text = "\n\n".join(t for t, _ in docs)
    while len(text) < target:
        text = text + "\n\n" + text
    text = text[:target]
    t0 = time.perf_counter()
    fn(text)
    return {"chars": len(text), "seconds": round(time.perf_counter() - t0, 2)}


KOREAN_ONLY = {"kss"}


def _cell(stats: dict | None, key: str, width: int, digits: int) -> str:
    return f"{'-':>{width}}" if stats is None else f"{stats[key]:{width}.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=60, help="articles per dataset (0 = all)")
    parser.add_argument("--spot", type=int, default=0, help="print N Korean disagreements to judge by hand")
    parser.add_argument("--long", action="store_true", help="also time ~1M characters per candidate")
    parser.add_argument("--only", nargs="*", help="candidate names to run (kss runs only when named here)")
    args = parser.parse_args()

    cands, skipped = load_candidates(with_kss=bool(args.only and "kss" in args.only))
    if args.only:
        cands = {k: v for k, v in cands.items() if k in args.only}
    covid, korquad = load_covid(args.limit), load_korquad(args.limit)
    n_answers = sum(len(a) for _, a in covid), sum(len(a) for _, a in korquad)
    results: dict = {"limit": args.limit, "answers": n_answers, "skipped": skipped, "candidates": {}}
    print(f"COVID-QA: {len(covid)} articles, {n_answers[0]} answers; KorQuAD: {len(korquad)} articles,")
    print(f"{n_answers[1]} answers; hand set: {len(HAND)} cases. Libraries run per blank-line block.")
    print(
        f"{'candidate':22} {'en cut%':>7} {'en 1s cut%':>10} {'en rec%':>7} {'en kc/s':>8} "
        f"{'ko cut%':>7} {'ko rec%':>7} {'ko kc/s':>8} {'hand%':>6} {'lost':>5}" + ("  1M chars" if args.long else "")
    )
    for name, fn in cands.items():
        en = None if name in KOREAN_ONLY else evaluate(fn, covid, "en")
        ko, hand = evaluate(fn, korquad, "ko"), hand_accuracy(fn)
        row = {"covidqa": en, "korquad": ko, "hand": hand}
        if args.long and name not in KOREAN_ONLY:
            row["long"] = long_input_seconds(fn, covid)
        results["candidates"][name] = row
        lost = ko["lost_chars"] + (en["lost_chars"] if en else 0)
        print(
            f"{name:22} {_cell(en, 'cut_pct', 7, 2)} {_cell(en, 'single_cut_pct', 10, 2)} "
            f"{_cell(en, 'recall_pct', 7, 1)} {_cell(en, 'kchars_per_s', 8, 0)} {ko['cut_pct']:7.2f} "
            f"{ko['recall_pct']:7.1f} {ko['kchars_per_s']:8.0f} {hand['accuracy_pct']:6.1f} {lost:5d}"
            + (f"  {row['long']['seconds']:.2f}s" if "long" in row else ""),
            flush=True,
        )
    if args.spot:
        names = {name: i for i, name in enumerate(cands)}
        print(f"\nKorQuAD positions where candidates disagree (sample of {args.spot}); ║ = proposed sentence start")
        print("legend: " + ", ".join(f"{i}={name}" for name, i in names.items()))
        results["spot"] = disagreements(cands, korquad, args.spot)
        for i, row in enumerate(results["spot"], 1):
            ids = ",".join(str(names[k]) for k in row["splits"])
            context = (row["left"] + " ║ " + row["right"]).replace("\n", "⏎")
            print(f"{i:3} split by [{ids:13}] {context}")
    for name, why in skipped.items():
        print(f"skipped {name}: {why}")
    print(
        "cut = a sentence start strictly inside a gold answer; 1s = single-sentence answers only;"
        " rec = recall of unambiguous boundaries; kc/s = thousand characters per second;"
        " hand = exact splits on the hand-written set; lost = non-space characters in no sentence"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "sentences.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print(f"wrote {RESULTS / 'sentences.json'}")


if __name__ == "__main__":
    main()
