"""Load files in a worker process with a wall-clock limit and a memory limit.

A hostile or broken PDF can keep pypdf busy for hours or make it allocate gigabytes (a 1 KB file can
expand to many GB of text). Loading therefore runs in a separate Python process, started with
`python -m ingest.sandbox_worker` (a fresh interpreter that imports only the loaders, never torch), whose
address space is capped with RLIMIT_AS. The parent waits at most `timeout_s` for each file; a worker that
overruns is killed (SIGKILL) and the file fails alone with a one-line reason:

    timed out after 300 s while reading
    ran out of memory (limit 2048 MB) while reading

Workers are reused across files (a process start costs ~0.3 s) and replaced after `max_files` files,
after any failure that may have left them in a bad state, and when they have been idle a while. A worker
never outlives its parent: it exits on EOF of its request pipe, and a watchdog thread exits when the
parent process is gone (even while the loader is stuck in a loop); RLIMIT_CPU backs both up.

This module is the parent side: the pool of workers, the deadlines, and turning a worker's reply or death
into a document or a LoadError. The worker's loop and the pipe protocol are in ingest/sandbox_worker.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path
from select import POLLERR, POLLHUP, POLLIN
from select import poll as select_poll

from ingest.loaders.errors import CorruptFile, LoadError, error_type
from ingest.sandbox_worker import HEADER, doc_from_wire, encode
from rag.core.types import LoadedDocument

_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
_STARTUP_TIMEOUT_S = 120.0  # a cold interpreter on a busy machine; not counted against a file's limit


def _readable(fd: int, timeout_s: float) -> bool:
    """Wait for input on `fd`. poll, not select: select() refuses descriptors above 1023, which a
    long-running server (or a test process with many Chroma clients open) reaches."""
    poller = select_poll()
    poller.register(fd, POLLIN | POLLHUP | POLLERR)
    return bool(poller.poll(max(timeout_s, 0.0) * 1000))


class LoadTimeout(LoadError):
    """Loading the file took longer than the per-file time limit."""


class LoadOutOfMemory(LoadError):
    """Loading the file needed more memory than the per-file limit."""


class LoaderCrashed(LoadError):
    """The worker process died while reading the file (a crash in a native library)."""


def timeout_reason(timeout_s: float) -> str:
    return f"timed out after {timeout_s:g} s while reading"


def memory_reason(memory_mb: int) -> str:
    return f"ran out of memory (limit {memory_mb} MB) while reading"


class _Worker:
    """One worker process and its pipes."""

    def __init__(self, memory_mb: int, idle_s: float) -> None:
        env = {**os.environ, "MALLOC_ARENA_MAX": "2", "PYTHONDONTWRITEBYTECODE": "1"}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ingest.sandbox_worker", str(os.getpid()), str(memory_mb), f"{idle_s:g}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
            start_new_session=True,  # its own process group: killing it also kills an OCR run it started
        )
        self.files = 0
        self.started = time.monotonic()
        try:
            ready = self._receive(time.monotonic() + _STARTUP_TIMEOUT_S)
        except _Died as died:
            raise LoadError(f"could not start the loader process (exit status {died.returncode})") from None
        except _Overran:
            self.kill()
            raise LoadError("could not start the loader process (it did not answer)") from None
        if ready.get("kind") != "ready":
            self.kill()
            raise LoadError("could not start the loader process (unexpected greeting)")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL and reap: the process is gone when this returns."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # the worker and any Tesseract it runs
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL cannot be ignored
            self.proc.wait(timeout=30)
        for pipe in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                pipe.close()

    def request(self, message: dict, deadline: float) -> dict:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(encode(message))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.proc.wait(timeout=30)
            raise _Died(self.proc.returncode) from None
        self.files += 1
        return self._receive(deadline)

    def _receive(self, deadline: float) -> dict:
        header = self._read_exact(HEADER.size, deadline)
        (size,) = HEADER.unpack(header)
        body = self._read_exact(size, deadline)
        try:
            message = json.loads(body.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            message = None
        if not isinstance(message, dict):
            raise CorruptFile("the loader process sent a malformed result")
        return message

    def _read_exact(self, n: int, deadline: float) -> bytes:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        parts: list[bytes] = []
        while n > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Overran
            if not _readable(fd, min(remaining, 1.0)):
                continue
            part = os.read(fd, min(n, 1 << 20))
            if not part:  # EOF: the worker is gone
                try:
                    self.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.kill()
                raise _Died(self.proc.returncode)
            parts.append(part)
            n -= len(part)
        return b"".join(parts)


class _Overran(Exception):
    pass


class _Died(Exception):
    def __init__(self, returncode: int | None) -> None:
        super().__init__(returncode)
        self.returncode = returncode


class SandboxLoader:
    """A `Loader` (same call as `load_document`) that reads each file in a limited worker process.

    Thread-safe: up to `max_workers` files load at once, each in its own process; more callers wait.
    """

    def __init__(
        self,
        timeout_s: float = 300.0,
        memory_mb: int = 2048,
        *,
        max_workers: int = 2,
        max_files: int = 200,
        idle_s: float = 120.0,
    ) -> None:
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.max_workers = max_workers
        self.max_files = max_files
        self.idle_s = idle_s
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._cond = threading.Condition()
        self._closed = False
        self._finalizer = weakref.finalize(self, _kill_all, self._idle, self._busy)

    def __call__(
        self, path: str | Path, *, max_bytes: int | None = None, max_pages: int | None = None
    ) -> LoadedDocument:
        message = {"path": str(path), "max_bytes": max_bytes, "max_pages": max_pages, "cpu_s": self.timeout_s}
        for attempt in range(3):
            worker = self._acquire()
            keep = False
            try:
                reply = worker.request(message, time.monotonic() + self.timeout_s)
                keep = (
                    reply.get("kind") in ("ok", "error") and not reply.get("retire") and worker.files < self.max_files
                )
            except _Overran:
                raise LoadTimeout(timeout_reason(self.timeout_s)) from None
            except _Died as died:
                # Exit status 0 before any reply: the worker retired (idle) as the request arrived.
                if died.returncode == 0 and attempt == 0:
                    continue
                death = self._death_reason(died.returncode)
                pdfium = message.get("pdfium", True)
                if isinstance(death, LoaderCrashed) and pdfium and str(path).lower().endswith(".pdf"):
                    # PDFium (C) aborts where pypdf raises: read the file once more with pypdf alone, which
                    # reads it or says why (e.g. out of memory) instead of "crashed".
                    message = {**message, "pdfium": False}
                    continue
                raise death from None
            finally:
                self._release(worker, keep)
            return self._result(reply)
        raise LoaderCrashed("the loader process stopped unexpectedly while reading")  # pragma: no cover

    def _result(self, reply: dict) -> LoadedDocument:
        kind = reply.get("kind")
        if kind == "ok" and isinstance(reply.get("doc"), dict):
            return doc_from_wire(reply["doc"])
        if kind == "memory":
            raise LoadOutOfMemory(memory_reason(self.memory_mb))
        if kind == "error":
            cls = error_type(reply.get("type"))
            raise cls(str(reply.get("message") or "the file could not be read"))
        raise CorruptFile("the loader process sent a malformed result")

    def _death_reason(self, returncode: int | None) -> LoadError:
        if returncode is not None and -returncode in (signal.SIGXCPU, signal.SIGKILL):
            # SIGXCPU: our CPU limit; SIGKILL from outside is most often the kernel's OOM killer.
            if -returncode == signal.SIGXCPU:
                return LoadTimeout(timeout_reason(self.timeout_s))
            return LoadOutOfMemory(memory_reason(self.memory_mb))
        if returncode is not None and returncode < 0:
            try:
                name = signal.Signals(-returncode).name
            except ValueError:
                name = f"signal {-returncode}"
            return LoaderCrashed(f"the PDF reader crashed ({name}) while reading")
        return LoaderCrashed(f"the loader process stopped unexpectedly (exit status {returncode}) while reading")

    def _acquire(self) -> _Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise LoadError("the loader has been shut down")
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive():
                        self._busy.add(worker)
                        return worker
                    worker.kill()
                if len(self._busy) < self.max_workers:
                    break
                self._cond.wait()
        # Start outside the lock (takes a while); the slot is reserved by a placeholder count.
        placeholder = _Placeholder()
        with self._cond:
            self._busy.add(placeholder)  # type: ignore[arg-type]
        try:
            worker = _Worker(self.memory_mb, self.idle_s)
        except BaseException:
            with self._cond:
                self._busy.discard(placeholder)  # type: ignore[arg-type]
                self._cond.notify()
            raise
        with self._cond:
            self._busy.discard(placeholder)  # type: ignore[arg-type]
            self._busy.add(worker)
        return worker

    def _release(self, worker: _Worker, keep: bool) -> None:
        if not keep or self._closed:
            worker.kill()
        with self._cond:
            self._busy.discard(worker)
            if keep and not self._closed and worker.alive():
                self._idle.append(worker)
            self._cond.notify()

    def worker_pids(self) -> list[int]:
        """Process ids of the live workers (for tests and diagnostics)."""
        with self._cond:
            workers = [*self._idle, *self._busy]
        return [w.pid for w in workers if isinstance(w, _Worker) and w.alive()]

    def close(self) -> None:
        """Kill every worker; later calls fail. Also runs when the loader is collected or at exit."""
        with self._cond:
            self._closed = True
        self._finalizer()


class _Placeholder:
    """Holds a worker slot while a process starts."""


def _kill_all(idle: list, busy: set) -> None:
    for worker in [*idle, *busy]:
        if isinstance(worker, _Worker):
            worker.kill()
    idle.clear()
