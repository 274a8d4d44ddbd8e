"""The loader sandbox: real worker processes, real pathological PDFs, real time and memory limits."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ingest.loaders import SANDBOX_PDF_ELEMENTS, CorruptFile, EncryptedPdf, WrongContent, load_document
from ingest.sandbox import LoadOutOfMemory, LoadTimeout, SandboxLoader
from ingest.sandbox_worker import doc_from_wire, doc_to_wire
from tests.conftest import REPO, SAMPLES, shared
from tests.pathological import cpu_bomb_pdf, memory_bomb_pdf


def gone(pid: int, wait_s: float = 10.0) -> bool:
    """True once `pid` no longer runs (a zombie waiting for init to reap it counts as gone)."""
    end = time.monotonic() + wait_s
    while time.monotonic() < end:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def loader():
    sandbox = SandboxLoader(timeout_s=60, memory_mb=1024)
    yield sandbox
    sandbox.close()


def test_sandboxed_load_equals_in_process_load(loader):
    for name in ("heat_pumps.pdf", "korean_sample.txt", "solar_system_guide.md"):
        path = SAMPLES / name
        assert loader(path, max_pages=100) == load_document(path, max_pages=100), name


def test_errors_keep_their_type_and_reason(loader, tmp_path):
    locked = next(shared("pdf", "pypdf_sample_files", "005-libreoffice-writer-password").glob("*.pdf"))
    with pytest.raises(EncryptedPdf, match="password"):
        loader(locked)
    fake = tmp_path / "fake.pdf"
    fake.write_text("not a pdf")
    with pytest.raises(WrongContent, match="%PDF- header"):
        loader(fake)


def test_one_worker_is_reused_then_closed(loader):
    loader(SAMPLES / "company_handbook.txt")
    (pid,) = loader.worker_pids()
    loader(SAMPLES / "solar_system_guide.md")
    assert loader.worker_pids() == [pid]
    loader.close()
    assert loader.worker_pids() == [] and gone(pid)


def test_cpu_bomb_times_out_and_its_worker_is_killed(tmp_path):
    bomb = cpu_bomb_pdf(tmp_path / "spin.pdf")
    assert bomb.stat().st_size < 10_000
    sandbox = SandboxLoader(timeout_s=3, memory_mb=1024)
    try:
        sandbox(SAMPLES / "company_handbook.txt")
        (pid,) = sandbox.worker_pids()  # this worker takes the bomb next
        t0 = time.monotonic()
        with pytest.raises(LoadTimeout) as info:
            sandbox(bomb)
        assert str(info.value) == "timed out after 3 s while reading"
        assert time.monotonic() - t0 < 10
        assert gone(pid, wait_s=1) and sandbox.worker_pids() == []
        assert sandbox(SAMPLES / "heat_pumps.pdf").page_count > 1  # a fresh worker takes over
    finally:
        sandbox.close()


def test_memory_bomb_hits_the_memory_limit(tmp_path):
    bomb = memory_bomb_pdf(tmp_path / "expand.pdf")
    assert bomb.stat().st_size < 10_000  # ...that would expand to ~256 G characters of text
    sandbox = SandboxLoader(timeout_s=120, memory_mb=768)
    try:
        with pytest.raises(LoadOutOfMemory) as info:
            sandbox(bomb)
        assert str(info.value) == "ran out of memory (limit 768 MB) while reading"
        assert sandbox.worker_pids() == []
        assert sandbox(SAMPLES / "company_handbook.txt").text
    finally:
        sandbox.close()


def test_concurrent_callers_share_a_bounded_pool():
    sandbox = SandboxLoader(timeout_s=60, memory_mb=1024, max_workers=2)
    files = [SAMPLES / n for n in ("company_handbook.txt", "solar_system_guide.md", "korean_sample.txt")] * 2
    results: dict[int, object] = {}
    seen: set[int] = set()

    def load(i: int, path: Path) -> None:
        results[i] = sandbox(path)
        seen.update(sandbox.worker_pids())

    threads = [threading.Thread(target=load, args=(i, p)) for i, p in enumerate(files)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert len(results) == len(files)
        assert all(results[i] == load_document(p) for i, p in enumerate(files))
        assert 1 <= len(sandbox.worker_pids()) <= 2
    finally:
        sandbox.close()


_ORPHAN_SCRIPT = """
import sys, threading, time
from ingest.sandbox import SandboxLoader
loader = SandboxLoader(timeout_s=600, memory_mb=1024)
threading.Thread(target=lambda: loader(sys.argv[1]), daemon=True).start()
while not loader.worker_pids():
    time.sleep(0.05)
print(loader.worker_pids()[0], flush=True)
time.sleep(600)
"""


def test_worker_never_outlives_a_killed_parent(tmp_path):
    """kill -9 the process that owns a worker stuck in a pathological PDF: the worker exits too."""
    bomb = cpu_bomb_pdf(tmp_path / "spin.pdf")
    parent = subprocess.Popen(
        [sys.executable, "-c", _ORPHAN_SCRIPT, str(bomb)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        worker = int(parent.stdout.readline())
        time.sleep(1.5)  # the worker is now deep inside the bomb
        assert not gone(worker, wait_s=0)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert gone(worker, wait_s=10), "worker left running after its parent was killed"
    finally:
        if parent.poll() is None:
            parent.kill()


def test_malformed_worker_replies_are_rejected():
    doc = load_document(SAMPLES / "company_handbook.txt")
    wire = doc_to_wire(doc)
    assert doc_from_wire(wire) == doc
    for key, bad in (("pages", [["x", 0, 1]]), ("text", 5), ("warnings", None), ("page_count", "many")):
        with pytest.raises(CorruptFile, match="malformed"):
            doc_from_wire({**wire, key: bad})
    del wire["doc_id"]
    with pytest.raises(CorruptFile):
        doc_from_wire(wire)


def test_app_uses_the_sandbox_unless_disabled(make_app):
    qa = make_app(file_timeout_s=7, file_memory_mb=900)
    assert isinstance(qa.loader, SandboxLoader)
    assert (qa.loader.timeout_s, qa.loader.memory_mb) == (7, 900)
    assert qa.ingestor.loader is qa.loader
    assert make_app(file_sandbox=False).loader is load_document
    qa.loader.close()


def test_a_big_parent_does_not_make_errors_look_like_out_of_memory(tmp_path):
    """Linux keeps ru_maxrss across exec: a parent that once held 800 MB (the embedder does) must not make
    its worker report every ordinary error as out-of-memory (this failed the whole suite in CI)."""
    script = (
        "import sys\n"
        "from ingest.loaders import WrongContent\n"
        "from ingest.sandbox import SandboxLoader\n"
        "big = bytearray(900 * 2**20)\n"
        "big[::4096] = b'x' * len(big[::4096])\n"
        "del big\n"
        "loader = SandboxLoader(timeout_s=60, memory_mb=1024)\n"
        "try:\n"
        "    loader(sys.argv[1])\n"
        "except WrongContent as exc:\n"
        "    print('WrongContent', exc)\n"
        "finally:\n"
        "    loader.close()\n"
    )
    fake = tmp_path / "fake.pdf"
    fake.write_text("not a pdf")
    done = subprocess.run(
        [sys.executable, "-c", script, str(fake)], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("WrongContent") and "%PDF- header" in done.stdout


def test_works_when_the_parent_has_over_a_thousand_open_files():
    """select() refuses descriptors above 1023; a long-running parent (the UI, the test suite) gets there."""
    script = (
        "import os, resource, sys\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))\n"
        "held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]\n"
        "from ingest.sandbox import SandboxLoader\n"
        "loader = SandboxLoader(timeout_s=60, memory_mb=1024)\n"
        "try:\n"
        "    print(len(loader(sys.argv[1]).pages))\n"
        "finally:\n"
        "    loader.close()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(SAMPLES / "heat_pumps.pdf")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.strip()) >= 2


def _huge_array_pdf(path: Path, elements: int) -> Path:
    """A one-page PDF whose page dictionary holds an array of `elements` numbers."""
    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, NameObject, NumberObject

    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    page[NameObject("/Junk")] = ArrayObject([NumberObject(0)] * elements)
    with path.open("wb") as f:
        writer.write(f)
    return path


def test_element_caps_are_raised_inside_the_sandbox_only(loader, tmp_path):
    """Microsoft's 10-Q filings hold arrays over pypdf's 100,000-element cap: in-process (no memory or
    time limit) that cap stays; the sandbox, whose limits bound the reader, takes them, up to its own cap."""
    filing = shared("qa", "docugami_sec10q", "docs") / "2023 Q2 MSFT.pdf"
    with pytest.raises(CorruptFile, match="safety limit of the reader"):
        load_document(filing)
    doc = loader(filing, max_pages=3000)
    assert doc.page_count > 50 and "Microsoft" in doc.text and doc.pages[-1].number == doc.page_count
    hostile = _huge_array_pdf(tmp_path / "huge.pdf", SANDBOX_PDF_ELEMENTS + 1000)
    with pytest.raises(CorruptFile, match="Reached maximum array element count"):
        loader(hostile)
