"""Progress for the slow things done on first use: building a strategy that ingest left out (ingest builds
only the answering strategy; rag/library.py `ensure_strategy`), in the CLI (Rich bars) and the web UI
(gr.Progress), through the same Progress protocol as ingest; and the long steps of rag/core/activity.py
(a full keyword-index build) in the web UI."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from rich.console import Console

from rag.core.activity import Step
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


def step_line(step: Step) -> str:
    """'Building the keyword index (parent-child): 4,000 of 14,986 chunks' — one line for a chat or a bar."""
    text = step.description[:1].upper() + step.description[1:]
    if step.total and step.unit:
        return f"{text}: {step.done:,} of {step.total:,} {step.unit}"
    return f"{text}…"


class GradioSteps:
    """Long steps (rag/core/activity.py) on the request's gr.Progress bar (an upload that triggers a full
    keyword-index build)."""

    def __init__(self, progress: Any) -> None:
        self.progress = progress

    def _show(self, step: Step) -> None:
        share = step.done / step.total if step.total else None
        self.progress(share, desc=step_line(step))

    step_started = step_advanced = _show

    def step_finished(self, step: Step) -> None:
        pass


def run_with_steps(activity: Any, work: Callable[[], Any], every_s: float = 0.5) -> Iterator[str]:
    """Run `work` in a thread and yield a line whenever a long step it reports moves (at most every
    `every_s`), so a streaming chat shows "Building the keyword index: 4,000 of 14,986 chunks" instead of
    a frozen "Starting…"; a step quicker than that still yields its last line once. Nothing is yielded when
    no long step happens; `work`'s error is re-raised."""
    latest = ""  # the line of the last step event heard

    class _Listener:
        def step_started(self, step: Step) -> None:
            nonlocal latest
            latest = step_line(step)

        step_advanced = step_started

        def step_finished(self, step: Step) -> None:
            pass

    failure: list[BaseException] = []

    def target() -> None:
        try:
            work()
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    shown = ""
    with activity.listening(_Listener()):
        thread = threading.Thread(target=target, name="docqa-step", daemon=True)
        thread.start()
        while thread.is_alive():
            thread.join(every_s)
            if latest != shown:
                shown = latest
                yield shown
    if failure:
        raise failure[0]
    if latest != shown:  # a step quicker than one poll still says it happened
        yield latest
