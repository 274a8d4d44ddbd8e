"""The loader worker process of ingest/sandbox.py, and the pipe protocol both sides speak.

Run as `python -m ingest.sandbox_worker PARENT_PID MEMORY_MB IDLE_S` by SandboxLoader, never by hand: a
fresh interpreter that imports only the loaders (never torch), caps its own address space with RLIMIT_AS,
announces itself, then loads one requested file at a time until its request pipe closes, it has been idle
IDLE_S seconds, its parent is gone, or a file came near the memory limit.

The pipe protocol is JSON, not pickle: the worker parses untrusted files, so what it sends back must
never be able to run code in the parent. Messages are length-prefixed UTF-8 JSON objects.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import select
import struct
import sys
import threading
import time

from ingest import loaders
from ingest.loaders import ocr
from ingest.loaders.errors import CorruptFile, LoadError, reason
from rag.core.types import LoadedDocument, PageSpan

HEADER = struct.Struct("!Q")
_MB = 1024 * 1024


# --------------------------------------------------------------------------------------------------
# wire format (both sides)
# --------------------------------------------------------------------------------------------------


def doc_to_wire(doc: LoadedDocument) -> dict:
    return {
        "source": doc.source,
        "path": doc.path,
        "doc_id": doc.doc_id,
        "title": doc.title,
        "text": doc.text,
        "pages": [[p.number, p.start, p.end, p.ocr_confidence] for p in doc.pages],
        "sections": [[o, h] for o, h in doc.sections],
        "warnings": list(doc.warnings),
        "page_count": doc.page_count,
        "file_type": doc.file_type,
    }


def doc_from_wire(data: dict) -> LoadedDocument:
    """Rebuild a document from the worker's JSON, checking every type (the worker's input is hostile)."""
    try:
        pages = tuple(PageSpan(_opt_int(p[0]), int(p[1]), int(p[2]), _opt_float(p[3:4])) for p in data["pages"])
        sections = tuple((int(o), str(h)) for o, h in data["sections"])
        text = data["text"]
        if not isinstance(text, str):
            raise TypeError("text")
        return LoadedDocument(
            source=str(data["source"]),
            path=str(data["path"]),
            doc_id=str(data["doc_id"]),
            title=str(data["title"]),
            text=text,
            pages=pages,
            sections=sections,
            warnings=tuple(str(w) for w in data["warnings"]),
            page_count=int(data["page_count"]),
            file_type=str(data["file_type"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptFile(f"the loader process sent a malformed result ({type(exc).__name__})") from None


def _opt_int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[arg-type]


def _opt_float(rest: list) -> float | None:
    """The optional 4th page field (OCR confidence); absent or None means the page was not OCR'd."""
    return None if not rest or rest[0] is None else min(1.0, max(0.0, float(rest[0])))


def encode(message: dict) -> bytes:
    body = json.dumps(message, ensure_ascii=True).encode("ascii")
    return HEADER.pack(len(body)) + body


# --------------------------------------------------------------------------------------------------
# worker side
# --------------------------------------------------------------------------------------------------


def _watch_parent(parent_pid: int) -> None:
    while True:
        if os.getppid() != parent_pid:
            os._exit(0)
        time.sleep(0.5)


def _reply(out, message: dict) -> None:
    out.write(encode(message))
    out.flush()


def _read_request(fd: int, idle_s: float) -> dict | None:
    """The next request, or None on EOF or when idle too long."""
    poller = select.poll()  # not select(): it refuses descriptors above 1023
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    if not poller.poll(idle_s * 1000):
        return None
    header = _read_blocking(fd, HEADER.size)
    if header is None:
        return None
    body = _read_blocking(fd, HEADER.unpack(header)[0])
    return None if body is None else json.loads(body)


def _read_blocking(fd: int, n: int) -> bytes | None:
    parts = []
    while n > 0:
        part = os.read(fd, n)
        if not part:
            return None
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def _peak_bytes() -> int:
    """Peak resident memory of this worker's own address space.

    Not ru_maxrss: Linux keeps it across execve, so a worker forked from a parent that holds the embedder
    would start with the parent's peak and every error would look like an out-of-memory failure.
    VmHWM belongs to the address space and starts afresh at exec.
    """
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _memory_failure(message: str, limit_bytes: int) -> bool:
    """The loader turns MemoryError into page warnings or a CorruptFile; recognise it either way."""
    return "MemoryError" in message or _peak_bytes() > 0.8 * limit_bytes


def _load(request: dict, limit_bytes: int) -> dict:
    # OCR stops starting pages before the parent's wall-clock limit (request["cpu_s"]) kills the whole file.
    budget = ocr.BUDGET_SHARE * float(request.get("cpu_s") or 300)
    try:
        reader = contextlib.nullcontext() if request.get("pdfium", True) else loaders.pypdf_only()
        with loaders.sandbox_pdf_limits(), ocr.time_budget(budget), reader:  # our limits bound the readers
            doc = loaders.load_document(request["path"], max_bytes=request["max_bytes"], max_pages=request["max_pages"])
    except MemoryError:
        return {"kind": "memory"}
    except LoadError as exc:
        if _memory_failure(str(exc), limit_bytes):
            return {"kind": "memory"}
        return {"kind": "error", "type": type(exc).__name__, "message": str(exc)}
    except RecursionError:
        return {"kind": "error", "type": "CorruptFile", "message": "unreadable file: nested too deeply"}
    except Exception as exc:  # a bug in a reader must not take the batch down
        why = reason(exc)
        return {"kind": "error", "type": "CorruptFile", "message": f"the reader failed unexpectedly ({why})"}
    if any("MemoryError" in w for w in doc.warnings):
        return {"kind": "memory"}
    return {"kind": "ok", "doc": doc_to_wire(doc)}


def serve(parent_pid: int, memory_mb: int, idle_s: float) -> None:
    out = os.fdopen(os.dup(1), "wb")  # the protocol channel; stray prints go to stderr instead
    os.dup2(2, 1)
    threading.stack_size(256 * 1024)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    loaders.preload()  # the readers (pypdf, ~0.2 s) load now, not inside the first file's time limit
    limit = memory_mb * _MB
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    _reply(out, {"kind": "ready", "pid": os.getpid()})
    while True:
        request = _read_request(0, idle_s)
        if request is None:
            return
        used = resource.getrusage(resource.RUSAGE_SELF).ru_utime + resource.getrusage(resource.RUSAGE_SELF).ru_stime
        cpu = int(used + float(request.get("cpu_s") or 300) * 2 + 10)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, resource.RLIM_INFINITY))
        try:
            reply = _load(request, limit)
            # A worker whose peak memory came near the limit is retired, so its peak cannot make a later
            # file's unrelated error look like an out-of-memory failure.
            if _peak_bytes() > 0.5 * limit:
                reply["retire"] = True
            _reply(out, reply)
        except MemoryError:
            reply = {"kind": "memory"}
            try:
                _reply(out, reply)
            except MemoryError:
                os._exit(3)
        if reply["kind"] == "memory" or reply.get("retire"):
            return  # the parent starts a fresh worker: this one's heap may be fragmented


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))
