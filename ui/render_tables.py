"""Tables of the web UI: the ingest report and the library, as rows and summary banners.

Split from ui/render.py by role; `ui.render` re-exports these names.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ingest.loaders import supported_types
from rag.core.types import DocumentRecord, FileReport
from ui.render_base import banner

FILE_KINDS = supported_types()  # "PDF, TXT, Markdown, Word, HTML, HWP or HWPX": from the loader registry
STATUS_ICON = {"ingested": "✓", "unchanged": "=", "failed": "✗"}


# --- ingestion and the library ----------------------------------------------------------------------
REPORT_HEADERS = ["File", "Status", "Pages", "Chunks", "Warnings", "Error"]
LIBRARY_HEADERS = ["Document", "Type", "Pages", "Chunks per strategy", "Ingested", "Warnings"]


def chunks_label(chunks: dict[str, int]) -> str:
    return " · ".join(f"{k} {v}" for k, v in sorted(chunks.items()))


def report_rows(reports: Sequence[FileReport]) -> list[list]:
    return [
        [
            r.source,
            f"{STATUS_ICON.get(r.status, '')} {r.status}",
            r.pages or "",
            chunks_label(r.chunks),
            "; ".join(r.warnings),
            r.error,
        ]
        for r in reports
    ]


def report_summary(reports: Sequence[FileReport]) -> str:
    if not reports:
        return banner("info", "No files selected.", f"Choose one or more {FILE_KINDS} files.")
    counts = {s: sum(r.status == s for r in reports) for s in ("ingested", "unchanged", "skipped", "failed")}
    parts = [f"{n} {s}" for s, n in counts.items() if n]
    seconds = sum(r.seconds for r in reports)
    text = " · ".join(parts) + f" in {seconds:.1f} s."
    if counts["failed"]:
        failed = ", ".join(r.source for r in reports if r.status == "failed")
        return banner("error" if counts["failed"] == len(reports) else "warn", text, f"Not stored: {failed}.")
    warned = sum(bool(r.warnings) for r in reports)
    extra = f"{warned} with warnings (see the table)." if warned else "Ask about them in the Chat tab."
    return banner("ok", text, extra)


def library_rows(records: Sequence[DocumentRecord]) -> list[list]:
    return [
        [
            r.source,
            (r.file_type or "").upper(),
            r.pages or "",
            chunks_label(r.chunks),
            datetime.fromtimestamp(r.ingested_at).strftime("%Y-%m-%d %H:%M") if r.ingested_at else "",
            "; ".join(r.warnings),
        ]
        for r in records
    ]


def library_summary(records: Sequence[DocumentRecord]) -> str:
    if not records:
        return banner("info", "The library is empty.", f"Upload {FILE_KINDS} files in the Upload tab.")
    pages = sum(r.pages for r in records)
    chunks = sum(sum(r.chunks.values()) for r in records)
    return (
        f'<div class="dq-stats"><div><b>{len(records)}</b><span>documents</span></div>'
        f"<div><b>{pages}</b><span>pages</span></div><div><b>{chunks}</b><span>chunks</span></div></div>"
    )
