"""kill -9 the batch ingest at seeded random points, several times; a rerun ends with exactly the right store.

"Exactly right" is checked against a reference index built in one clean run over the same final files:
the same chunk ids and texts in every collection (no duplicates, no orphans, no partial documents), the
same registry, a readable vector index, and a rerun that skips every file committed before it.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rag.core.types import PARENTS, Strategy
from tests.conftest import REPO, SAMPLES, shared
from tests.e2e.test_ingest import store_consistent
from tests.integration.test_sandbox import gone

STRATEGIES = [Strategy.SENTENCE, Strategy.PARENT_CHILD]
KINDS = [s.value for s in STRATEGIES] + [PARENTS]

# The batch script under test: the real app from DOCQA_* settings; one stdout line per progress event.
DRIVER = """
import json, sys
from rag.app import build_app
from rag.core.settings import load_settings
from rag.core.types import Strategy

qa = build_app(load_settings())
if sys.argv[1] == "list":  # committed documents, read-only (no recovery)
    print(json.dumps({d.source: d.doc_id for d in qa.store.list_documents()}))
    sys.exit(0)
qa.warm_up()

class Events:
    def file_started(self, source, index, total): print("event start", source, flush=True)
    def chunks_planned(self, n): pass
    def chunks_embedded(self, n): print("event embedded", n, flush=True)
    def file_done(self, report): print("event done", report.source, flush=True)

print("ready", flush=True)
reports = qa.ingestor.ingest_paths([sys.argv[2]], [Strategy.SENTENCE, Strategy.PARENT_CHILD], progress=Events())
print("reports " + json.dumps([[r.source, r.status, r.error, r.embedded] for r in reports]), flush=True)
"""


@pytest.fixture
def env(tmp_path) -> dict:
    out = {k: v for k, v in os.environ.items() if not k.startswith("DOCQA_")}
    out.update(DOCQA_DATA_DIR=str(tmp_path / "data"), DOCQA_INDEX_DIR=str(tmp_path / "index"))
    return out


def driver(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def kill_after(proc: subprocess.Popen, delay: float) -> tuple[bool, int]:
    """Wait for the script to be ready, let it work `delay` s, then SIGKILL it. Returns (finished, events)."""
    events = 0
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("ready"), line
    os.set_blocking(proc.stdout.fileno(), False)
    end = time.monotonic() + delay
    finished = False
    while time.monotonic() < end and not finished:
        for line in proc.stdout.readlines() or []:
            events += line.startswith("event")
            finished = finished or line.startswith("reports")
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return finished, events


def sandbox_workers_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"ingest.sandbox_worker" in cmd and str(pid).encode() in cmd and not gone(int(entry), wait_s=0):
                found.append(int(entry))
    return found


def library(store) -> set:
    return {(d.source, d.doc_id, json.dumps(d.chunks, sort_keys=True), d.pages) for d in store.list_documents()}


def snapshot(store) -> dict:
    return {kind: sorted((c.id, c.doc_id, c.text) for c in store.iter_chunks(kind)) for kind in KINDS}


@pytest.mark.slow
@pytest.mark.timeout(1500)  # ten kills, three full ingests of a 151-page filing: ~10 min on a loaded 2-core box
def test_repeated_kill_9_then_rerun_gives_exactly_the_clean_store(env, tmp_path, make_app):
    rng = random.Random(20240611)
    folder = tmp_path / "batch"
    folder.mkdir()
    shutil.copy(shared("pdf", "long_en", "google_prompt_engineering_whitepaper_2024.pdf"), folder / "whitepaper.pdf")
    # With the ONNX embedder the 60-page whitepaper takes under 9 s on a quiet machine, so a run could finish
    # before its kill; a 151-page filing keeps every run busy for longer than any of the delays below.
    shutil.copy(shared("pdf", "long_en", "c3ai_form_10-k.pdf"), folder / "zz_form_10k.pdf")
    for name in ("company_handbook.txt", "heat_pumps.pdf", "korean_sample.txt", "solar_system_guide.md"):
        shutil.copy(SAMPLES / name, folder / name)
    changing = folder / "changing.txt"
    changing.write_text("Version one of the notes. The valve opens at 3 bar. The tank holds 200 litres.\n")

    killed: list[int] = []
    delays = [rng.uniform(0.3, 9.0) for _ in range(4)]
    progress = []
    for i, delay in enumerate(delays):
        proc = driver(env, "ingest", str(folder))
        finished, events = kill_after(proc, delay)
        assert not finished, f"run {i} finished before its kill at {delay:.1f} s; raise the workload"
        killed.append(proc.pid)
        progress.append((round(delay, 1), events))
        if i == 1:  # a file replaced while the batch keeps being killed
            changing.write_text("Version two of the notes. The valve now opens at 4 bar. A filter was added.\n")

    assert sum(events > 1 for _, events in progress) >= 2, f"kills landed before any work: {progress}"
    for pid in killed:  # the killed scripts' loader workers died with them
        assert all(gone(w) for w in sandbox_workers_of(pid)), f"sandbox worker of {pid} still running"

    lister = driver(env, "list")
    committed = json.loads(lister.communicate(timeout=300)[0])
    assert committed, "no file was committed before the final run; the kills came too early"

    final = driver(env, "ingest", str(folder))
    out, _ = final.communicate(timeout=1200)
    assert final.returncode == 0, out[-2000:]
    reports = {s: (status, err, n) for s, status, err, n in json.loads(out.split("reports ", 1)[1])}
    assert set(reports) == {p.name for p in folder.iterdir()}
    for source, (status, error, embedded) in reports.items():
        assert status != "failed", (source, error)
        if source in committed and source != "changing.txt":
            assert status == "unchanged" and embedded == 0, (source, status)  # finished work is not redone

    recovered = make_app(index_dir=tmp_path / "index", data_dir=tmp_path / "data")
    reference = make_app(index_dir=tmp_path / "reference", data_dir=tmp_path / "data")
    clean = reference.ingestor.ingest_paths([folder], STRATEGIES)
    assert all(r.status == "ingested" for r in clean)

    store_consistent(recovered.store)
    got, want = snapshot(recovered.store), snapshot(reference.store)
    for kind in KINDS:
        assert len(set(got[kind])) == len(got[kind]) == recovered.store.count(kind), f"duplicates in {kind}"
        assert got[kind] == want[kind], f"{kind}: {len(got[kind])} chunks vs {len(want[kind])} in a clean run"
    assert library(recovered.store) == library(reference.store)
    texts = " ".join(t for _, _, t in got["sentence"])
    assert "4 bar" in texts and "3 bar" not in texts  # the replaced version only

    vector = np.asarray(recovered.embedder.embed_query("When does the valve open?"), dtype=np.float32)
    for strategy in STRATEGIES:  # the vector index survived the kills and answers queries
        hits = recovered.store.query(strategy.value, vector, 5)
        assert len(hits) == 5 and all(c.doc_id in {d for _, d, _ in got[strategy.value]} for c, _ in hits)
