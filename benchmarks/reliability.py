"""Reliability figures for the README (issue 19): one run prints a table and writes
benchmarks/results/reliability.json.

1. PDF batch: every PDF of pypdf's sample files (../shared/data/pdf/pypdf_sample_files) through the real
   ingest (sandboxed loader): ingested / refused, the reasons, the slowest file.
2. kill -9 at seeded random points of a batch ingest (a separate process), then the store is inspected
   after each kill: duplicate chunk ids, orphan chunks (of no committed document), missing chunks (a
   committed document short of its chunks) and chunks unreachable by their own vector (index check --full);
   a last uninterrupted run must finish the batch.
3. 20 concurrent question sessions (threads over one app, as the web UI serves them), without and with an
   ingest running: p50 / p95 latency, errors, answers that differ from the same question asked alone.
4. Each attack of the issue, run for real, with its outcome.

Run: .venv/bin/python benchmarks/reliability.py [--kills 5] [--seed 19]; or each step in its own process
(--only pdf_batch, --only kill9, ...) and then --merge, which prints the same table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rag.core.settings import OFFLINE_ENV  # noqa: E402

for _k, _v in OFFLINE_ENV.items():
    os.environ.setdefault(_k, _v)
for _k in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
    os.environ.pop(_k, None)

from benchmarks.reliability_attacks import run_attacks  # noqa: E402
from rag.app import build_app  # noqa: E402
from rag.core.settings import Settings  # noqa: E402
from rag.core.types import ALL_STRATEGIES, PARENTS, Strategy  # noqa: E402

PDFS = REPO.parent / "shared" / "data" / "pdf" / "pypdf_sample_files"
SAMPLES = REPO / "data"
OUT = REPO / "benchmarks" / "results" / "reliability.json"
STEPS = ("pdf_batch", "kill9", "sessions", "attacks")
QUESTIONS = [
    "How efficient is a heat pump?",
    "What is the largest planet in the solar system?",
    "How many vacation days do employees get?",
    "What is the policy on remote work?",
    "How far is the Earth from the Sun?",
]

DRIVER = """
import sys
from rag.app import build_app
from rag.core.settings import load_settings
from rag.core.types import Strategy
qa = build_app(load_settings())
qa.warm_up()
print("ready", flush=True)
qa.library.add_paths([sys.argv[1]], [Strategy.SENTENCE, Strategy.PARENT_CHILD])
print("finished", flush=True)
"""


def settings(root: Path, **overrides) -> Settings:
    return Settings(_env_file=None, data_dir=root / "data", index_dir=root / "index", **overrides)


# --- 1. PDF batch ----------------------------------------------------------------------------------
def pdf_batch(root: Path, embedder) -> dict:
    with build_app(settings(root / "pdfs"), embedder=embedder) as qa:
        reports = qa.library.add_paths([PDFS], [Strategy.SENTENCE], glob="**/*.pdf")
        reasons = Counter(r.error.split(":")[0].split(" (")[0][:60] for r in reports if r.status == "failed")
        slowest = max(reports, key=lambda r: r.seconds)
        return {
            "files": len(reports),
            "ingested": sum(r.status == "ingested" for r in reports),
            "refused": sum(r.status == "failed" for r in reports),
            "skipped": sum(r.status == "skipped" for r in reports),
            "javascript_warnings": sum(any("JavaScript" in w for w in r.warnings) for r in reports),
            "max_seconds": round(slowest.seconds, 2),
            "slowest": slowest.source,
            "refusal_reasons": dict(reasons.most_common()),
        }


# --- 2. kill -9 ----------------------------------------------------------------------------------------
def inspect_store(root: Path, embedder) -> dict:
    """Duplicates, orphans, missing and unreachable chunks of the index at `root` (recovery first, as
    every command does on start)."""
    with build_app(settings(root), embedder=embedder) as qa:
        qa.store.recover()
        records = {r.doc_id: r for r in qa.store.list_documents()}
        duplicates = orphans = missing = 0
        for strategy in (Strategy.SENTENCE, Strategy.PARENT_CHILD):
            chunks = list(qa.store.iter_chunks(strategy.value))
            ids = Counter(c.id for c in chunks)
            keys = Counter((c.doc_id, c.index) for c in chunks)
            duplicates += sum(n - 1 for n in ids.values() if n > 1) + sum(n - 1 for n in keys.values() if n > 1)
            per_doc = Counter(c.doc_id for c in chunks)
            orphans += sum(n for d, n in per_doc.items() if d not in records)
            missing += sum(max(0, r.chunks.get(strategy.value, 0) - per_doc.get(d, 0)) for d, r in records.items())
        parents = Counter(c.doc_id for c in qa.store.iter_chunks(PARENTS))
        orphans += sum(n for d, n in parents.items() if d not in records)
        unreachable = sum(len(r.unreachable) for r in qa.library.check(full=True))
        return {
            "documents": len(records),
            "duplicates": duplicates,
            "orphans": orphans,
            "missing": missing,
            "unreachable": unreachable,
        }


def kill_runs(root: Path, embedder, kills: int, seed: int) -> dict:
    batch = root / "batch"
    batch.mkdir(parents=True)
    for name in ("heat_pumps.pdf", "solar_system_guide.md", "company_handbook.txt", "korean_sample.txt"):
        shutil.copy(SAMPLES / name, batch / name)
    for sample in sorted(PDFS.glob("00[4-9]*/*.pdf"))[:3]:  # a few more small PDFs: more points to be killed at
        shutil.copy(sample, batch / sample.name)
    index_root = root / "killed"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCQA_")}
    env.update(DOCQA_DATA_DIR=str(index_root / "data"), DOCQA_INDEX_DIR=str(index_root / "index"))
    rng = random.Random(seed)
    runs = []
    for i in range(kills):
        proc = subprocess.Popen(
            [sys.executable, "-c", DRIVER, str(batch)], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "ready": the model is loaded, the batch starts now
        delay = rng.uniform(0.2, 8.0)
        time.sleep(delay)
        finished = proc.poll() is not None
        if not finished:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        state = inspect_store(index_root, embedder)
        runs.append({"run": i + 1, "ready": line.strip() == "ready", "killed_after_s": round(delay, 2),
                     "finished_before_kill": finished, **state})  # fmt: skip
    done = subprocess.run([sys.executable, "-c", DRIVER, str(batch)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900)  # fmt: skip
    final = inspect_store(index_root, embedder)
    files = len(list(batch.iterdir()))
    return {"kills": runs, "final": {**final, "files": files, "rerun_ok": done.returncode == 0}}


# --- 3. concurrent sessions ----------------------------------------------------------------------------
def sessions(root: Path, embedder) -> dict:
    from rag.answer.answerer import AskOptions

    with build_app(settings(root / "sessions", cache_enabled=False), embedder=embedder) as qa:
        qa.library.add_paths([SAMPLES], [Strategy.PARENT_CHILD, Strategy.SENTENCE])
        options = AskOptions(judge=False)

        def key(answer) -> tuple:
            return answer.text, tuple((c.file, c.page) for c in answer.citations)

        solo = {q: key(qa.answerer.answer(q, options=options)) for q in QUESTIONS}

        def session(i: int) -> list[tuple[float, bool, bool]]:
            out = []
            for q in (QUESTIONS[i % len(QUESTIONS)], QUESTIONS[(i + 2) % len(QUESTIONS)]):
                t0 = time.perf_counter()
                try:
                    answer = qa.answerer.answer(q, options=options)
                    out.append((time.perf_counter() - t0, False, key(answer) != solo[q]))
                except Exception:
                    out.append((time.perf_counter() - t0, True, False))
            return out

        def round_(label: str, with_ingest: bool) -> dict:
            ingest_s = None
            worker = None
            if with_ingest:
                extra = root / "sessions-extra"
                extra.mkdir(exist_ok=True)
                # heat_pumps.pdf with a trailing comment: new content (not a duplicate), same 3 pages
                (extra / "heat_pumps_v2.pdf").write_bytes((SAMPLES / "heat_pumps.pdf").read_bytes() + b"\n% v2\n")
                box: dict = {}

                def ingest() -> None:
                    t0 = time.perf_counter()
                    box["reports"] = qa.library.add_paths([extra], [Strategy.PARENT_CHILD])
                    box["s"] = time.perf_counter() - t0

                worker = threading.Thread(target=ingest)
                worker.start()
                time.sleep(0.5)
            with ThreadPoolExecutor(20) as pool:
                results = [r for rs in pool.map(session, range(20)) for r in rs]
            if worker is not None:
                worker.join()
                ingest_s = round(box.get("s", 0.0), 1)
            latencies = sorted(r[0] for r in results)
            return {
                "round": label,
                "questions": len(results),
                "p50_s": round(statistics.median(latencies), 2),
                "p95_s": round(latencies[max(0, int(len(latencies) * 0.95) - 1)], 2),
                "errors": sum(r[1] for r in results),
                "mixed_up": sum(r[2] for r in results),
                "ingest_s": ingest_s,
            }

        return {"rounds": [round_("20 sessions", False), round_("20 sessions + ingest", True)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--only", choices=STEPS, help="run one step (its JSON beside the result), for parallel runs")
    parser.add_argument("--merge", action="store_true", help="combine the steps' JSON files into the result")
    args = parser.parse_args()
    if args.merge:
        result = {step: json.loads(OUT.with_name(f"reliability_{step}.json").read_text()) for step in STEPS}
        OUT.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        print_tables(result)
        print(f"\nwrote {OUT.relative_to(REPO)}")
        return
    from rag.backends.st_embedder import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    embedder.warm_up()
    started = time.perf_counter()
    result: dict = {}
    with tempfile.TemporaryDirectory(prefix="docqa-reliability-") as tmp:
        root = Path(tmp)
        for name, step in (
            ("pdf_batch", lambda: pdf_batch(root, embedder)),
            ("kill9", lambda: kill_runs(root, embedder, args.kills, args.seed)),
            ("sessions", lambda: sessions(root, embedder)),
            ("attacks", lambda: run_attacks(root / "attacks", embedder)),
        ):
            if args.only and name != args.only:
                continue
            t0 = time.perf_counter()
            result[name] = step()
            print(f"[{name}: {time.perf_counter() - t0:.0f} s]", file=sys.stderr, flush=True)
            if args.only:
                OUT.parent.mkdir(parents=True, exist_ok=True)
                OUT.with_name(f"reliability_{name}.json").write_text(json.dumps(result[name], indent=2) + "\n")
                return
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["strategies"] = [s.value for s in ALL_STRATEGIES]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print_tables(result)
    print(f"\nwrote {OUT.relative_to(REPO)} ({result['seconds']:.0f} s)")


def print_tables(r: dict) -> None:
    b = r["pdf_batch"]
    print("\n## PDF batch (pypdf sample files)")
    print("| files | ingested | refused | JavaScript warnings | max s per file |")
    print("|---|---|---|---|---|")
    print(f"| {b['files']} | {b['ingested']} | {b['refused']} | {b['javascript_warnings']} | {b['max_seconds']} |")
    print("refusals: " + "; ".join(f"{k} ({v})" for k, v in b["refusal_reasons"].items()))
    print("\n## kill -9 during a batch ingest (store inspected after each kill)")
    print("| run | killed after s | documents | duplicates | orphans | missing | unreachable |")
    print("|---|---|---|---|---|---|---|")
    for k in r["kill9"]["kills"]:
        print(f"| {k['run']} | {k['killed_after_s']} | {k['documents']} | {k['duplicates']} | {k['orphans']} | "
              f"{k['missing']} | {k['unreachable']} |")  # fmt: skip
    f = r["kill9"]["final"]
    print(f"| rerun | - | {f['documents']} of {f['files']} | {f['duplicates']} | {f['orphans']} | {f['missing']} | "
          f"{f['unreachable']} |")  # fmt: skip
    print("\n## 20 concurrent question sessions")
    print("| round | questions | p50 s | p95 s | errors | mixed-up answers | ingest s |")
    print("|---|---|---|---|---|---|---|")
    for s in r["sessions"]["rounds"]:
        print(f"| {s['round']} | {s['questions']} | {s['p50_s']} | {s['p95_s']} | {s['errors']} | {s['mixed_up']} | "
              f"{s['ingest_s'] or '-'} |")  # fmt: skip
    print("\n## Attacks")
    print("| attack | outcome | ok |")
    print("|---|---|---|")
    for a in r["attacks"]:
        print(f"| {a['attack']} | {a['outcome']} | {'yes' if a['ok'] else 'NO'} |")


if __name__ == "__main__":
    main()
