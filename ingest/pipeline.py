"""Ingestion: files -> loaded documents -> chunks per strategy -> unique embeddings -> store.

Each file is one unit of work and one store transaction: a bad file fails alone with a one-line reason,
an unchanged file costs a hash and a registry lookup (no parsing, no embedding), and an interrupted batch
run again skips everything that was committed.

A batch runs as three overlapping stages, because the embedder is the bound and everything else can hide
behind it (benchmarks/ingest.py): a preparing thread reads the next files (in the sandbox worker process)
and chunks them, the calling thread embeds, and a writing thread commits the previous file to the store.
Queues of one or two files bound the memory. Progress is reported from the calling thread only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import queue
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ingest.loaders import SUPPORTED_SUFFIXES, LoadError
from rag.core.names import printable_name
from rag.core.protocols import Chunker, ChunkIndex, Embedder, Loader, Progress, SentenceSplitter
from rag.core.text import text_key
from rag.core.types import Chunk, DocumentRecord, FileReport, LoadedDocument, Strategy

PREPARE_AHEAD = 2  # files read and chunked ahead of the embedder (bounds memory)
EMBED_GROUP = 512  # texts per embedder call: progress granularity; sorted by length, so batches pad little


class NullProgress:
    def file_started(self, source: str, index: int, total: int) -> None:
        pass

    def chunks_planned(self, n: int) -> None:
        pass

    def chunks_embedded(self, n: int) -> None:
        pass

    def file_done(self, report: FileReport) -> None:
        pass


def file_digest(path: Path) -> str:
    """Content hash of the file bytes: the document id (same function the loader uses)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:32]


def expand_paths(paths: Iterable[str | Path], glob: str | None = None) -> list[tuple[Path, str]]:
    """Files and folders (recursive) -> (path, source key). Inside a folder the key is the relative path,
    so two README.md files in different folders stay two documents."""
    found: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            pattern = glob or "**/*"
            for f in sorted(p.glob(pattern)):
                if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES and not _hidden(f.relative_to(p)):
                    key = printable_name(f.relative_to(p).as_posix())  # shown and stored: no escapes
                    if f.resolve() not in seen:
                        seen.add(f.resolve())
                        found.append((f, key))
        else:
            if glob and not p.match(glob):
                continue
            if p.resolve() not in seen:
                seen.add(p.resolve())
                found.append((p, printable_name(p.name)))
    return found


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


@dataclasses.dataclass
class Prepared:
    """One file read and chunked, waiting for the embedder (or already final: unchanged or failed)."""

    report: FileReport
    started: float
    doc: LoadedDocument | None = None
    busy: float = 0.0  # seconds spent on this file itself (reading, embedding, writing), not waiting its turn
    searchable: dict[str, list[Chunk]] = dataclasses.field(default_factory=dict)
    parents: list[Chunk] = dataclasses.field(default_factory=list)
    reused: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)  # text key -> stored vector

    @property
    def final(self) -> bool:
        return self.doc is None


class Ingestor:
    """Runs the ingest road for files; everything it needs is passed in (see rag/app.py)."""

    def __init__(
        self,
        store: ChunkIndex,
        embedder: Embedder,
        chunkers: dict[Strategy, Chunker],
        splitter: SentenceSplitter,
        loader: Loader,
        *,
        max_bytes: int | None = None,
        max_pages: int | None = None,
        batch_size: int = 32,
        store_batch_size: int = 256,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.chunkers = chunkers
        self.splitter = splitter
        self.loader = loader
        self.max_bytes = max_bytes
        self.max_pages = max_pages
        self.batch_size = batch_size
        self.store_batch_size = store_batch_size

    # --- batches ---------------------------------------------------------------------------------
    def ingest_paths(
        self,
        paths: Iterable[str | Path],
        strategies: Sequence[Strategy],
        glob: str | None = None,
        progress: Progress | None = None,
    ) -> list[FileReport]:
        """Ingest files and folders; reports in the order of `expand_paths`. Files are processed smallest
        first, so the embedder starts after the shortest possible read."""
        progress = progress or NullProgress()
        self.store.recover()
        files = expand_paths(paths, glob)
        order = sorted(range(len(files)), key=lambda i: _size(files[i][0]))
        reports: list[FileReport | None] = [None] * len(files)
        stop = threading.Event()
        ahead: queue.Queue = queue.Queue(maxsize=PREPARE_AHEAD)
        feeder = threading.Thread(
            target=self._feed, args=([files[i] for i in order], list(strategies), ahead, stop), daemon=True
        )
        feeder.start()
        writing: tuple[int, Prepared, Future] | None = None
        try:
            with ThreadPoolExecutor(1, thread_name_prefix="docqa-write") as writer:
                for n, i in enumerate(order):
                    item = ahead.get()
                    if isinstance(item, BaseException):
                        raise item
                    progress.file_started(item.report.source, n, len(files))
                    if item.final:
                        item.report.seconds = item.busy
                        reports[i] = item.report
                        progress.file_done(item.report)
                        continue
                    embed_started = time.perf_counter()
                    vectors = self._embed_unique(item, progress)
                    item.busy += time.perf_counter() - embed_started
                    if writing is not None:
                        reports[writing[0]] = self._finish(*writing[1:], progress)
                    writing = (i, item, writer.submit(self._timed_write, item, vectors))
                if writing is not None:
                    reports[writing[0]] = self._finish(*writing[1:], progress)
                    writing = None
        finally:
            stop.set()
            with contextlib.suppress(queue.Empty):
                ahead.get_nowait()  # unblock a feeder waiting to put
        return [r for r in reports if r is not None]

    def _feed(self, files: list[tuple[Path, str]], strategies: list[Strategy], out: queue.Queue, stop) -> None:
        """The preparing thread: read and chunk files in order; an unexpected error ends the batch."""
        batch: dict[str, str] = {}  # doc id -> source, for identical files within this batch
        try:
            for path, key in files:
                if stop.is_set():
                    return
                out.put(self.prepare(path, strategies, source=key, batch=batch))
        except BaseException as exc:  # handed to the caller's thread, raised there
            out.put(exc)

    def _timed_write(self, item: Prepared, vectors: dict[str, np.ndarray]) -> None:
        write_started = time.perf_counter()
        try:
            self._write(item, vectors)
        finally:
            item.busy += time.perf_counter() - write_started

    def _finish(self, item: Prepared, future: Future, progress: Progress) -> FileReport:
        future.result()  # an unexpected store error ends the batch, as it always did
        # The file's own time: in the overlapped batch it also waits for the next file's embedding.
        item.report.seconds = item.busy
        progress.file_done(item.report)
        return item.report

    # --- one file ----------------------------------------------------------------------------------
    def ingest_file(
        self,
        path: str | Path,
        strategies: Sequence[Strategy],
        source: str | None = None,
        progress: Progress | None = None,
    ) -> FileReport:
        """Ingest one file; never raises for bad input (the report carries the error)."""
        progress = progress or NullProgress()
        item = self.prepare(Path(path), list(strategies), source=source)
        if not item.final:
            try:
                self._write(item, self._embed_unique(item, progress))
            except LoadError as exc:
                item.report.status, item.report.error = "failed", str(exc)
        item.report.seconds = time.perf_counter() - item.started
        return item.report

    def prepare(
        self, path: Path, strategies: list[Strategy], source: str | None = None, batch: dict[str, str] | None = None
    ) -> Prepared:
        """Hash, skip if unchanged, read (sandboxed) and chunk one file; never raises for bad input."""
        started = time.perf_counter()
        item = self._prepare(path, strategies, source, batch)
        item.busy += time.perf_counter() - started
        return item

    def _prepare(
        self, path: Path, strategies: list[Strategy], source: str | None, batch: dict[str, str] | None
    ) -> Prepared:
        key = source or path.name
        item = Prepared(FileReport(path=str(path), source=key, status="failed"), time.perf_counter())
        try:
            if not path.is_file():
                raise LoadError("no such file" if not path.exists() else "not a regular file")
            doc_id = file_digest(path)
            existing = self.store.get_document(key)
            wanted = [
                s for s in strategies if not (existing and existing.doc_id == doc_id and s.value in existing.chunks)
            ]
            if not wanted:
                _unchanged(item.report, existing)
                return item
            twin = self.store.find_by_doc_id(doc_id)
            twin_source = twin.source if twin is not None else (batch or {}).get(doc_id)
            if twin_source is not None and twin_source != key:
                raise LoadError(f"same content as the already ingested {twin_source!r}; skipped")
            doc = self.loader(path, max_bytes=self.max_bytes, max_pages=self.max_pages)
            doc = dataclasses.replace(doc, source=key, doc_id=doc_id, path=str(path.resolve()))
            self._chunk(item, doc, wanted)
            if batch is not None:  # only a file that read well is "the same content" for the next one
                batch[doc_id] = key
        except LoadError as exc:
            item.report.error = str(exc)
        except OSError as exc:
            item.report.error = f"cannot read file: {exc.strerror or exc}"
        return item

    def ingest_document(
        self, doc: LoadedDocument, strategies: Sequence[Strategy], progress: Progress | None = None
    ) -> FileReport:
        """Ingest an already-loaded document (evaluation sets hold text, not files)."""
        item = Prepared(FileReport(path=doc.path, source=doc.source, status="failed"), time.perf_counter())
        existing = self.store.get_document(doc.source)
        wanted = [
            s for s in strategies if not (existing and existing.doc_id == doc.doc_id and s.value in existing.chunks)
        ]
        if wanted:
            self._chunk(item, doc, wanted)
            self._write(item, self._embed_unique(item, progress or NullProgress()))
        else:
            _unchanged(item.report, existing)
        item.report.seconds = time.perf_counter() - item.started
        return item.report

    def add_strategy(self, record: DocumentRecord, strategy: Strategy, progress: Progress | None = None) -> FileReport:
        """Build one more strategy for a committed document (on demand: a strategy not built at ingest).

        The file is read again from where it was ingested; texts the document already has stored vectors
        for (a sentence is often also a parent-child child) are not embedded again."""
        item = Prepared(FileReport(path=record.path, source=record.source, status="failed"), time.perf_counter())
        path = Path(record.path) if record.path else None
        try:
            if path is None or not path.is_file():
                raise LoadError(f"its file is gone (it was read from {record.path or 'an upload'}); add it again")
            if file_digest(path) != record.doc_id:
                raise LoadError("its file changed since it was ingested; re-ingest it first")
            doc = self.loader(path, max_bytes=self.max_bytes, max_pages=self.max_pages)
            doc = dataclasses.replace(doc, source=record.source, doc_id=record.doc_id, path=record.path)
            self._chunk(item, doc, [strategy])
            item.reused = self.store.vectors_by_text(record.doc_id)
            self._write(item, self._embed_unique(item, progress or NullProgress()))
        except LoadError as exc:
            item.report.error = str(exc)
        except OSError as exc:
            item.report.error = f"cannot read file: {exc.strerror or exc}"
        item.report.seconds = time.perf_counter() - item.started
        return item.report

    # --- stages ------------------------------------------------------------------------------------
    def _chunk(self, item: Prepared, doc: LoadedDocument, wanted: list[Strategy]) -> None:
        sentences = self.splitter(doc.text)
        for strategy in wanted:
            chunks = self.chunkers[strategy].chunk(doc, sentences)
            item.searchable[strategy.value] = [c for c in chunks if c.role != "parent"]
            item.parents.extend(c for c in chunks if c.role == "parent")
        item.doc = doc

    def _embed_unique(self, item: Prepared, progress: Progress) -> dict[str, np.ndarray]:
        """Embed each distinct text once, even when strategies share it (sentences = children) or the store
        already holds it; longest first in groups, so the embedder's batches pad little.

        Progress counts chunks (what the library then lists), advanced by the chunks each text covers."""
        uses: dict[str, int] = {}
        texts: dict[str, str] = {}
        for chunks in item.searchable.values():
            for c in chunks:
                k = text_key(c.text)
                uses[k] = uses.get(k, 0) + 1
                texts.setdefault(k, c.text)
        vectors: dict[str, np.ndarray] = {k: v for k, v in item.reused.items() if k in texts}
        keys = sorted((k for k in texts if k not in vectors), key=lambda k: -len(texts[k]))
        progress.chunks_planned(sum(uses.values()))
        covered = sum(uses[k] for k in vectors)
        if covered:
            progress.chunks_embedded(covered)
        for i in range(0, len(keys), EMBED_GROUP):
            part = keys[i : i + EMBED_GROUP]
            vectors.update(zip(part, self.embedder.embed([texts[k] for k in part]), strict=True))
            progress.chunks_embedded(sum(uses[k] for k in part))
        item.report.embedded = len(keys)
        return {c.id: vectors[text_key(c.text)] for chunks in item.searchable.values() for c in chunks}

    def _write(self, item: Prepared, embeddings: dict[str, np.ndarray]) -> None:
        doc, report = item.doc, item.report
        assert doc is not None
        record = DocumentRecord(
            source=doc.source,
            doc_id=doc.doc_id,
            title=doc.title,
            path=doc.path,
            file_type=doc.file_type,
            pages=doc.page_count,
            chunks={s: len(c) for s, c in item.searchable.items()},
            warnings=list(doc.warnings),
        )
        self.store.replace_document(record, item.searchable, embeddings, item.parents, batch_size=self.store_batch_size)
        report.status = "ingested"
        report.pages = doc.page_count
        report.chunks = dict(record.chunks)
        report.warnings = list(doc.warnings)
        item.doc = None  # the text is no longer needed; the report stays


def _unchanged(report: FileReport, existing: DocumentRecord) -> None:
    report.status = "unchanged"
    report.pages = existing.pages
    report.chunks = dict(existing.chunks)
    report.warnings = list(existing.warnings)
