"""Progress for the slow things done on first use: building a strategy that ingest left out (ingest builds
only the answering strategy; rag/library.py `ensure_strategy`), in the CLI (Rich bars) and the web UI
(gr.Progress), through the same Progress protocol as ingest."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from rag.core.types import FileReport, Strategy
from ui.cli_output import RichProgress, progress_bars


def build_on_demand(qa: Any, strategy: Strategy | str, console: Console, *, quiet: bool = False) -> list[FileReport]:
    """Build `strategy` for the documents lacking it, with bars and a line saying why it takes a while."""
    strategy = Strategy(strategy)
    todo = qa.library.missing(strategy)
    if not todo:
        return []
    if not quiet:
        console.print(f"building the {strategy.value} index for {len(todo)} document(s) (first use of it)")
    with progress_bars(console, disable=quiet or not console.is_terminal) as progress:
        reports = qa.library.ensure_strategy(strategy, progress=RichProgress(progress))
    for r in reports:
        if r.status == "failed":
            console.print(f"[yellow]warning:[/] {r.source}: not indexed with {strategy.value}: {r.error}")
    return reports


class GradioBuildProgress:
    """The Progress protocol on a gr.Progress bar: 'Building the sentence index: doc 2 of 5, 340 of 900 chunks'."""

    def __init__(self, progress: Any, strategy: str) -> None:
        self.progress, self.strategy = progress, strategy
        self.index, self.total, self.planned, self.done = 0, 1, 0, 0

    def _show(self) -> None:
        part = self.done / self.planned if self.planned else 0.0
        desc = f"Building the {self.strategy} index: document {self.index + 1} of {self.total}"
        if self.planned:
            desc += f", {self.done} of {self.planned} chunks"
        self.progress((self.index + part) / max(1, self.total), desc=desc)

    def file_started(self, source: str, index: int, total: int) -> None:
        self.index, self.total, self.planned, self.done = index, total, 0, 0
        self._show()

    def chunks_planned(self, n: int) -> None:
        self.planned += n
        self._show()

    def chunks_embedded(self, n: int) -> None:
        self.done += n
        self._show()

    def file_done(self, report: FileReport) -> None:
        pass
