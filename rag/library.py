"""The document library as a service: what the CLI, the web UI and the Python API call to change it.

Before, each front end carried its own copy of these rules (the UI stored uploads and refreshed BM25
after a removal, the CLI did neither), so the same action left a different library behind depending on
where it was clicked. Here they exist once: every change ends with the lexical index refreshed, and a
document's stored upload copy lives and dies with the document.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from ingest.loaders import SUPPORTED_SUFFIXES, supported_types
from ingest.pipeline import Ingestor, file_digest
from rag.core.names import printable_name
from rag.core.protocols import ChunkIndex, Progress
from rag.core.settings import Settings
from rag.core.types import (
    ALL_STRATEGIES,
    PARENTS,
    REGISTRY,
    DocumentRecord,
    FileReport,
    Strategy,
    base_strategy,
    multilingual_kind,
)

log = logging.getLogger(__name__)

MAX_NAME_BYTES = 120
DUPLICATE = "same content as"  # a skipped report's reason: "same content as <stored name>"
UNSUPPORTED = "unsupported file type"  # a skipped report's reason for a file no loader reads
_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')


class DocumentNotFound(LookupError):
    """No document of that name; the message lists what there is."""


class SourceFileGone(FileNotFoundError):
    """A document cannot be re-ingested: the file it was read from no longer exists."""

    def __init__(self, name: str, path: str) -> None:
        super().__init__(f"the original file of {name} is gone (it was read from {path}); add it again")
        self.name, self.path = name, path


def safe_name(raw: str | None) -> str:
    """A document name that is one plain file name: no folders, escape sequences, control or bidi
    characters (rag.core.names) or leading dots, at most MAX_NAME_BYTES (UTF-8) with the extension kept;
    "upload" when nothing is left."""
    name = re.split(r"[\\/]", printable_name(raw or ""))[-1]
    name = " ".join(_UNSAFE_CHARS.sub("", name).split()).strip(" .")
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, dot, ext = name, "", ""
    ext = ext[:16]
    while stem and len(f"{stem}{dot}{ext}".encode()) > MAX_NAME_BYTES:
        stem = stem[:-1]
    stem = stem.rstrip(" .")
    return f"{stem}{dot}{ext}" if stem else "upload"


def unsupported_files(paths: Sequence[str | Path], glob: str | None = None) -> list[FileReport]:
    """The files inside the given folders that no loader reads: listed as skipped, so a folder ingest
    says what it left out instead of passing over it in silence (hidden files are not listed)."""
    reports = []
    for raw in paths:
        folder = Path(raw)
        if not folder.is_dir():
            continue
        for f in sorted(folder.glob(glob or "**/*")):
            rel = f.relative_to(folder)
            if (
                f.is_file()
                and f.suffix.lower() not in SUPPORTED_SUFFIXES
                and not any(p.startswith(".") for p in rel.parts)
            ):
                kind = f.suffix.lower() or "without an extension"
                reason = f"{UNSUPPORTED} ({kind}); docqa reads {supported_types(suffixes=True)}"
                source = printable_name(rel.as_posix())
                reports.append(FileReport(path=str(f), source=source, status="skipped", warnings=[reason]))
    return reports


class Library:
    """Add, list, remove, re-ingest and rebuild documents, with the same rules for every front end."""

    def __init__(
        self,
        settings: Settings,
        store: ChunkIndex,
        ingestor: Ingestor,
        refresh: Callable[[Sequence[str]], None],
    ) -> None:
        self.settings = settings
        self.store = store
        self.ingestor = ingestor
        self.refresh = refresh  # brings the lexical indexes of these strategies up to date

    @property
    def upload_dir(self) -> Path:
        """Uploaded files are kept under the index dir (never a folder the web server serves)."""
        return self.settings.resolved_index_dir / "uploads"

    def open(self) -> int:
        """At start-up: finish or roll back an ingest a previous run left half-done, then bring the
        lexical indexes up to date before the first question. Returns the documents recovered."""
        recovered = self.store.recover()
        if recovered:
            log.warning("recovered %d document(s) from an ingest a previous run left half-done", recovered)
        self.backfill_multilingual()
        self.refresh([s.value for s in self.settings.strategies])
        return recovered

    def backfill_multilingual(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Give committed chunks that lack one an e5 vector (DOCQA_MULTILINGUAL; a library built before
        it, or while it was off). One registry read when nothing is missing; returns chunks embedded."""
        backfill = getattr(self.store, "backfill_multilingual", None)
        return backfill(progress) if backfill is not None else 0

    # --- reading ----------------------------------------------------------------------------------
    def documents(self) -> list[DocumentRecord]:
        return self.store.list_documents()

    def get(self, name: str) -> DocumentRecord | None:
        return self.store.get_document(name) if name else None

    def require(self, name: str) -> DocumentRecord:
        record = self.get(name)
        if record is None:
            known = ", ".join(r.source for r in self.documents()) or "none"
            raise DocumentNotFound(f"no document named {name!r} (known: {known})")
        return record

    def _strategies(self, strategies: Iterable[Strategy | str] | None) -> list[Strategy]:
        return [Strategy(s) for s in strategies] if strategies else list(self.settings.strategies)

    def refresh_after(self, reports: Sequence[FileReport], strategies: Sequence[Strategy | str]) -> None:
        """After a batch of `add_upload(..., refresh=False)`: one lexical refresh for the whole batch."""
        if any(r.status == "ingested" for r in reports):
            self.refresh([Strategy(s).value for s in strategies])  # so the first question after a change is fast

    # --- adding -----------------------------------------------------------------------------------
    def add_paths(
        self,
        paths: Sequence[str | Path],
        strategies: Iterable[Strategy | str] | None = None,
        *,
        glob: str | None = None,
        progress: Progress | None = None,
    ) -> list[FileReport]:
        """Ingest files and folders where they are (the CLI, the batch script, the Python API)."""
        chosen = self._strategies(strategies)
        reports = [
            self._skip_duplicate(r) for r in self.ingestor.ingest_paths(paths, chosen, glob=glob, progress=progress)
        ]
        reports += unsupported_files(paths, glob)
        self.backfill_multilingual()
        self.refresh_after(reports, chosen)
        return reports

    def add_upload(
        self,
        path: str | Path,
        name: str,
        strategies: Iterable[Strategy | str] | None = None,
        *,
        progress: Progress | None = None,
        refresh: bool = True,
    ) -> FileReport:
        """Copy the upload to upload_dir/<content digest>/<safe name> and ingest it from there; a file
        that fails leaves no copy behind, and a replaced version's copy is deleted."""
        chosen = self._strategies(strategies)
        name = safe_name(name)
        source = Path(path)
        if not source.is_file():
            report = self.ingestor.ingest_file(path, chosen, source=name, progress=progress)
        else:
            report = self._ingest_copy(source, name, chosen, progress)
        report = self._skip_duplicate(report, source)  # the stored copy of a duplicate is gone already
        if refresh:
            self.refresh_after([report], chosen)
        return report

    def _skip_duplicate(self, report: FileReport, path: Path | None = None) -> FileReport:
        """A byte-identical copy of a stored document is "skipped (same content as X)", not a failure."""
        if report.status != "failed" or not report.error.startswith("same content as"):
            return report
        twin = None
        with contextlib.suppress(OSError):
            twin = self.store.find_by_doc_id(file_digest(path or Path(report.path)))
        if twin is None or twin.source == report.source:
            return report
        report.status, report.error = "skipped", ""
        report.warnings = [f"{DUPLICATE} {twin.source}"]
        return report

    def _ingest_copy(self, source: Path, name: str, strategies: list[Strategy], progress) -> FileReport:
        root = self.upload_dir.resolve()
        stored = (root / file_digest(source)[:16] / name).resolve()
        if not stored.is_relative_to(root):  # safe_name makes this impossible; never write outside
            return FileReport(path=name, source=name, status="failed", error="invalid file name")
        previous = self.store.get_document(name)
        fresh = not stored.exists()
        if fresh:
            stored.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, stored)
        report = self.ingestor.ingest_file(stored, strategies, source=name, progress=progress)
        if report.status == "failed" and fresh:
            self._discard(stored)
        elif report.status == "ingested" and previous and previous.path and Path(previous.path) != stored:
            self._discard(Path(previous.path))  # the replaced version's copy
        return report

    # --- changing ---------------------------------------------------------------------------------
    def remove(self, name: str) -> DocumentRecord:
        """Remove a document, its chunks and its stored upload copy; the lexical index follows at once."""
        record = self.require(name)
        if not self.store.remove_document(name):  # removed meanwhile by another front end
            raise DocumentNotFound(f"no document named {name!r}")
        self.refresh(list(record.chunks) or [s.value for s in self.settings.strategies])
        if record.path:
            self._discard(Path(record.path))  # only ever a copy we stored
        return record

    def missing(self, strategy: Strategy | str) -> list[DocumentRecord]:
        """Committed documents not yet indexed with `strategy` (ingest builds only DOCQA_INGEST_STRATEGIES,
        by default just the answering strategy; the others are built when first asked for)."""
        value = Strategy(strategy).value
        return [r for r in self.documents() if value not in r.chunks]

    def ensure_strategy(self, strategy: Strategy | str, *, progress: Progress | None = None) -> list[FileReport]:
        """Build `strategy` for every document that lacks it (on demand: the UI or CLI picked another
        strategy, the Strategy lab or `docqa eval` needs it), with progress per document, then its lexical
        index. Texts a document already has vectors for are not embedded again. A document whose file is
        gone is reported failed with the reason, never skipped in silence. Costs one registry read when
        nothing is missing."""
        chosen = Strategy(strategy)
        todo = self.missing(chosen)
        if not todo:
            return []
        log.info("building the %s index for %d document(s) on demand", chosen.value, len(todo))
        reports = []
        for i, record in enumerate(todo):
            if progress is not None:
                progress.file_started(record.source, i, len(todo))
            report = self.ingestor.add_strategy(record, chosen, progress)
            if progress is not None:
                progress.file_done(report)
            reports.append(report)
        self.refresh_after(reports, [chosen])
        return reports

    def reingest(self, name: str, *, progress: Progress | None = None) -> FileReport:
        """Ingest a document again from the path it was read from ("unchanged" when it has not changed)."""
        record = self.require(name)
        if not record.path or not Path(record.path).is_file():
            raise SourceFileGone(name, record.path)
        strategies = [Strategy(s) for s in record.chunks] or list(self.settings.strategies)
        report = self.ingestor.ingest_file(record.path, strategies, source=name, progress=progress)
        self.refresh_after([report], strategies)
        return report

    def rebuild(self) -> None:
        """Drop the whole index (every strategy, the parents and the registry): after changing models."""
        log.info("dropping the whole index (every strategy, the parents and the registry) to rebuild it")
        kinds = [k for s in ALL_STRATEGIES for k in (s.value, multilingual_kind(s))]
        self.store.drop([*kinds, PARENTS, REGISTRY])

    # --- index health ---------------------------------------------------------------------------
    def _index_kinds(self, strategies: Iterable[Strategy | str] | None) -> list[str]:
        """The strategy collections the store holds, or those of `strategies` among them."""
        stored = self.store.searchable_kinds()
        return [s.value for s in self._strategies(strategies) if s.value in stored] if strategies else stored

    def check(
        self, strategies: Iterable[Strategy | str] | None = None, *, full: bool = False, sample: int = 200
    ) -> list:
        """Prove stored chunks are reachable by their own vector (Chroma #7758): a random `sample` per
        collection, or every chunk with `full`. Read-only; one ReachabilityReport per collection."""
        return [self.store.check_reachability(kind, None if full else sample) for kind in self._index_kinds(strategies)]

    def repair(self, strategies: Iterable[Strategy | str] | None = None, *, force: bool = False) -> list:
        """Finish any interrupted ingest or repair, then rebuild each collection in which a full check finds
        unreachable chunks (every chosen one with `force`) from its stored vectors; the lexical index follows."""
        self.store.recover()
        reports = [self.store.repair(kind, force=force) for kind in self._index_kinds(strategies)]
        for r in reports:
            if r.rebuilt:
                log.info("rebuilt the %s collection from its %d stored vectors", r.kind, r.records)
        rebuilt = sorted({base_strategy(r.kind) for r in reports if r.rebuilt})
        if rebuilt:
            self.refresh(rebuilt)
        return reports

    def _discard(self, path: Path) -> None:
        """Delete a stored upload (and its folder when empty); only ever inside upload_dir."""
        root = self.upload_dir.resolve()
        path = path.resolve()
        if not path.is_relative_to(root) or path == root:
            return
        path.unlink(missing_ok=True)
        if path.parent != root:
            with contextlib.suppress(OSError):  # another document with the same content still lives there
                path.parent.rmdir()
