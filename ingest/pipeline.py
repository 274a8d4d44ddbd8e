"""Ingestion: files -> loaded documents -> chunks per strategy -> unique embeddings -> store.

Each file is one unit of work and one store transaction: a bad file fails alone with a one-line reason,
an unchanged file costs a hash and a registry lookup (no parsing, no embedding), and an interrupted batch
run again skips everything that was committed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ingest.loaders import SUPPORTED_SUFFIXES, LoadError
from rag.core.names import printable_name
from rag.core.protocols import Chunker, ChunkIndex, Embedder, Loader, Progress, SentenceSplitter
from rag.core.text import text_key
from rag.core.types import Chunk, DocumentRecord, FileReport, LoadedDocument, Strategy


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

    def ingest_paths(
        self,
        paths: Iterable[str | Path],
        strategies: Sequence[Strategy],
        glob: str | None = None,
        progress: Progress | None = None,
    ) -> list[FileReport]:
        progress = progress or NullProgress()
        self.store.recover()
        files = expand_paths(paths, glob)
        reports = []
        for i, (path, key) in enumerate(files):
            progress.file_started(key, i, len(files))
            report = self.ingest_file(path, strategies, source=key, progress=progress)
            progress.file_done(report)
            reports.append(report)
        return reports

    def ingest_file(
        self,
        path: str | Path,
        strategies: Sequence[Strategy],
        source: str | None = None,
        progress: Progress | None = None,
    ) -> FileReport:
        """Ingest one file; never raises for bad input (the report carries the error)."""
        progress = progress or NullProgress()
        path = Path(path)
        key = source or path.name
        report = FileReport(path=str(path), source=key, status="failed")
        t0 = time.perf_counter()
        try:
            self._ingest(path, key, list(strategies), report, progress)
        except LoadError as exc:
            report.error = str(exc)
        except OSError as exc:
            report.error = f"cannot read file: {exc.strerror or exc}"
        report.seconds = time.perf_counter() - t0
        return report

    def _ingest(self, path: Path, key: str, strategies: list[Strategy], report: FileReport, progress: Progress) -> None:
        if not path.is_file():
            raise LoadError("no such file" if not path.exists() else "not a regular file")
        doc_id = file_digest(path)
        existing = self.store.get_document(key)
        wanted = [s for s in strategies if not (existing and existing.doc_id == doc_id and s.value in existing.chunks)]
        if not wanted:
            report.status = "unchanged"
            report.pages = existing.pages
            report.chunks = dict(existing.chunks)
            report.warnings = list(existing.warnings)
            return
        twin = self.store.find_by_doc_id(doc_id)
        if twin is not None and twin.source != key:
            raise LoadError(f"same content as the already ingested {twin.source!r}; skipped")

        doc = self.loader(path, max_bytes=self.max_bytes, max_pages=self.max_pages)
        doc = dataclasses.replace(doc, source=key, doc_id=doc_id, path=str(path.resolve()))
        self._store_document(doc, wanted, report, progress)

    def ingest_document(
        self, doc: LoadedDocument, strategies: Sequence[Strategy], progress: Progress | None = None
    ) -> FileReport:
        """Ingest an already-loaded document (evaluation sets hold text, not files)."""
        report = FileReport(path=doc.path, source=doc.source, status="failed")
        t0 = time.perf_counter()
        existing = self.store.get_document(doc.source)
        wanted = [
            s for s in strategies if not (existing and existing.doc_id == doc.doc_id and s.value in existing.chunks)
        ]
        if wanted:
            self._store_document(doc, wanted, report, progress or NullProgress())
        else:
            report.status, report.pages, report.chunks = "unchanged", existing.pages, dict(existing.chunks)
        report.seconds = time.perf_counter() - t0
        return report

    def _store_document(
        self, doc: LoadedDocument, wanted: list[Strategy], report: FileReport, progress: Progress
    ) -> None:
        sentences = self.splitter(doc.text)
        searchable: dict[str, list[Chunk]] = {}
        parents: list[Chunk] = []
        for strategy in wanted:
            chunks = self.chunkers[strategy].chunk(doc, sentences)
            searchable[strategy.value] = [c for c in chunks if c.role != "parent"]
            parents.extend(c for c in chunks if c.role == "parent")

        embeddings = self._embed_unique(searchable, report, progress)
        record = DocumentRecord(
            source=doc.source,
            doc_id=doc.doc_id,
            title=doc.title,
            path=doc.path,
            file_type=doc.file_type,
            pages=doc.page_count,
            chunks={s: len(c) for s, c in searchable.items()},
            warnings=list(doc.warnings),
        )
        self.store.replace_document(record, searchable, embeddings, parents, batch_size=self.store_batch_size)
        report.status = "ingested"
        report.pages = doc.page_count
        report.chunks = dict(record.chunks)
        report.warnings = list(doc.warnings)

    def _embed_unique(
        self, searchable: dict[str, list[Chunk]], report: FileReport, progress: Progress
    ) -> dict[str, np.ndarray]:
        """Embed each distinct text once, even when strategies share it (sentences = children)."""
        unique: dict[str, str] = {}
        for chunks in searchable.values():
            for c in chunks:
                unique.setdefault(text_key(c.text), c.text)
        keys = list(unique)
        progress.chunks_planned(len(keys))
        vectors: dict[str, np.ndarray] = {}
        step = max(self.batch_size * 4, 64)
        for i in range(0, len(keys), step):
            part = keys[i : i + step]
            out = self.embedder.embed([unique[k] for k in part])
            vectors.update(zip(part, out, strict=True))
            progress.chunks_embedded(len(part))
        report.embedded = len(keys)
        return {c.id: vectors[text_key(c.text)] for chunks in searchable.values() for c in chunks}
