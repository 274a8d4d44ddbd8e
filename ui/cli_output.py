"""What the `docqa` command prints: the two consoles, progress bars, tables and answers.

Kept apart from the commands (ui/cli.py) so that the command module stays a list of thin commands and the
terminal formatting lives in one place.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import typer
from rich.console import Console
from rich.errors import LiveError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from rag.core.activity import Step
from rag.core.names import printable_name
from rag.core.types import FileReport

# Piped or captured output (CI logs, `| less`) is not limited to 80 columns: tables would wrap into
# unreadable cells. A terminal keeps its own width; COLUMNS still wins over both.
_PIPED_WIDTH = None if os.environ.get("COLUMNS") else 140
console = Console(stderr=True, width=None if sys.stderr.isatty() else _PIPED_WIDTH)
out = Console(width=None if sys.stdout.isatty() else _PIPED_WIDTH)


def fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[red]error:[/] {message}")
    return typer.Exit(code)


def progress_bars(console: Console, *, disable: bool) -> Progress:
    """The one bar layout of every long CLI step (ingest, on-demand builds), so they read alike."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=disable,
    )


class RichProgress:
    """Two bars: files, and chunks embedded for the current batch."""

    def __init__(self, progress: Progress) -> None:
        self.p = progress
        self.files = progress.add_task("files", total=None)
        self.chunks = progress.add_task("chunks", total=0)

    def file_started(self, source: str, index: int, total: int) -> None:
        self.p.update(self.files, total=total, description=f"files  [dim]{source[:40]}[/]")

    def chunks_planned(self, n: int) -> None:
        task = self.p.tasks[self.chunks]
        self.p.update(self.chunks, total=(task.total or 0) + n)

    def chunks_embedded(self, n: int) -> None:
        self.p.advance(self.chunks, n)

    def file_done(self, report: FileReport) -> None:
        self.p.advance(self.files, 1)


class RichSteps:
    """Long steps (rag/core/activity.py: a full BM25 build, the first ONNX export) as a Rich bar on a
    terminal, as a start and an end line in a log or under another live display (the ingest's bars: Rich
    shows one at a time), or not at all (--json)."""

    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        self.console, self.quiet = console, quiet
        self._bars: Progress | None = None
        self._tasks: dict[int, tuple[Any, float]] = {}  # step id -> (bar task or None for lines, start time)
        self._lock = threading.Lock()

    def step_started(self, step: Step) -> None:
        if self.quiet:
            return
        with self._lock:
            task = self._bar_task(step) if self.console.is_terminal else None
            if task is None:
                size = f" ({step.total:,} {step.unit})" if step.total and step.unit else ""
                self.console.print(f"{step.description}{size}…", markup=False, highlight=False)
            self._tasks[step.id] = (task, time.perf_counter())

    def _bar_task(self, step: Step) -> Any:
        if self._bars is None:
            bars = progress_bars(self.console, disable=False)
            try:
                bars.start()
            except LiveError:  # the ingest's bars are on screen: lines instead
                return None
            self._bars = bars
        return self._bars.add_task(step.description, total=step.total)

    def step_advanced(self, step: Step) -> None:
        with self._lock:
            task, _ = self._tasks.get(step.id, (None, 0.0))
            if task is not None and self._bars is not None:
                self._bars.update(task, completed=step.done, total=step.total, description=step.description)

    def step_finished(self, step: Step) -> None:
        with self._lock:
            if step.id not in self._tasks:
                return
            task, t0 = self._tasks.pop(step.id)
            if task is not None and self._bars is not None:
                self._bars.update(task, completed=step.done, total=step.total)
                if not any(t is not None for t, _ in self._tasks.values()):
                    self._bars.stop()
                    self._bars = None
            else:
                seconds = time.perf_counter() - t0
                self.console.print(f"{step.description}: done in {seconds:.1f} s", markup=False, highlight=False)


def docs_table(records: list) -> Table:
    """`docqa docs list`: names and warnings as literal text (a file name is never Rich markup)."""
    table = Table(title=f"{len(records)} documents")
    for col in ("name", "pages", "chunks", "ingested at", "warnings"):
        table.add_column(col, overflow="fold")
    for r in records:
        when = datetime.fromtimestamp(r.ingested_at).strftime("%Y-%m-%d %H:%M")
        chunks = ", ".join(f"{k}:{v}" for k, v in sorted(r.chunks.items()))
        table.add_row(plain(r.source), str(r.pages), chunks, when, plain("; ".join(r.warnings)))
    return table


def report_table(reports: list[FileReport]) -> Table:
    table = Table(title="ingest summary", show_lines=False)
    for col in ("file", "status", "pages", "chunks", "embedded", "seconds", "warnings / error"):
        table.add_column(col, overflow="fold")
    for r in reports:
        chunks = ", ".join(f"{k}:{v}" for k, v in sorted(r.chunks.items()))
        style = {"failed": "red", "unchanged": "dim", "skipped": "yellow"}.get(r.status, "green")
        note = r.error or "; ".join(r.warnings)
        table.add_row(
            plain(r.source),
            Text(r.status, style=style),
            str(r.pages),
            chunks,
            str(r.embedded),
            f"{r.seconds:.1f}",
            plain(note),
        )
    return table


def plain(text: str) -> Text:
    """A name or message as literal text: no terminal escapes or bidi controls (rag.core.names), and
    no Rich markup ("[red]" or "[/]" in a file name is shown as typed, never interpreted)."""
    return Text(printable_name(text or ""))


def skipped_lines(reports: list[FileReport]) -> list[str]:
    """The summary lines for skipped files: "skipped a.md (same content as b.md)"."""
    return [f"skipped {printable_name(r.source)} ({'; '.join(r.warnings)})" for r in reports if r.status == "skipped"]


def ids(ids: list[str], limit: int = 5) -> str:
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return ", ".join(ids[:limit]) + more


def print_health(reports: list, lines: list[str], as_json: bool, bad: int) -> None:
    if as_json:
        out.print_json(json.dumps({"ok": not bad, "collections": [r.to_dict() for r in reports]}))
    else:
        for line in lines:
            out.print(line, highlight=False)


def stream_answer(events: Iterable, show_status: bool = False):
    """Print the answer's text as the model writes it (flushed piece by piece, so a pipe sees it too);
    returns the final Answer and whether any text was printed. Steps go to stderr when `show_status`."""
    final, streamed, open_line = None, False, False
    for event in events:
        if event.kind == "delta" and event.text:
            out.print(event.text, end="", markup=False, highlight=False, soft_wrap=True)
            out.file.flush()
            streamed = open_line = True
            continue
        if open_line:  # end the answer's line before anything else is printed
            out.print()
            open_line = False
        if event.kind == "status" and show_status:
            console.print(f"[dim]{event.text}…[/]", highlight=False)
        elif event.kind == "answer":
            final = event.answer
    if open_line:
        out.print()
    return final, streamed


def print_answer(result, text: bool = True) -> None:
    """The answer (unless already streamed: `text=False`), its citations, faithfulness and sources."""
    if result.mode == "extractive" or result.notice:
        console.print(f"[yellow]{result.notice}[/]\n")
    if text:
        out.print(result.text, markup=False, highlight=False)
    if result.citations:
        out.print("\n[bold]Citations[/]")
        for c in result.citations:
            where = f"{c.file}, page {c.page}" if c.page else c.file
            where += f" (OCR {c.ocr_confidence:.0%})" if c.ocr_confidence is not None else ""
            mark = f"[{c.source_number}]" if c.cited else "(uncited)"
            out.print(f"  {mark} {where}: “{c.supporting_sentence}”", markup=False, highlight=False)
    if result.dropped_markers:
        out.print(f"  [dim]{result.dropped_markers} marker(s) pointed at no source and were dropped[/]")
    f = result.faithfulness
    if f is not None:
        label = {"heuristic": "heuristic judge", "learned": "learned offline judge"}.get(f.judge, f.judge)
        out.print(f"\n[bold]Faithfulness[/] {f.score:.0%} ({f.band}) — {label}")
        for v in f.verdicts:
            if v.verdict != "supported":
                out.print(f"  [red]{v.verdict}[/]: {v.claim}", highlight=False)
    r = getattr(result, "relevance", None)
    if r is not None:  # beside faithfulness: a faithful quote may still miss the question
        colour = {"high": "green", "medium": "yellow"}.get(r.band, "red")
        words = f" — {r.note}" if r.note else ""
        out.print(f"[bold]Relevance[/] [{colour}]{r.score:.0%} ({r.band})[/]{words}", highlight=False)
    if result.sources:
        table = Table(title="sources", show_lines=False)
        for col in ("#", "file", "page", "score", "passage"):
            table.add_column(col, overflow="fold")
        for src in result.sources:
            text = " ".join((src.hit.span.text or "").split())
            table.add_row(
                str(src.number),
                plain(src.chunk.source),
                src.chunk.pages_label,
                f"{src.hit.score:.3f}",
                plain(text[:160]),
            )
        out.print(table)
