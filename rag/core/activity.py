"""Progress of the long steps that are not a batch of files: a full build of a lexical (BM25) index, the
first export of the embedding model to ONNX.

These happen inside a question or an ingest, deep in a backend that knows no front end, and a user who
waits 30 s for them with no sign of life thinks docqa hangs. So the composition root makes one
`Activity` per app and hands it to the components that do such steps; a front end listens while one of
its commands or requests runs (the CLI draws a Rich bar, the web UI moves its gr.Progress) and stops
listening after. With no listener a step costs a lock and a loop over an empty list.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol


class StepListener(Protocol):
    """What a front end implements to show steps (ui/cli_output.py RichSteps, ui/callbacks.py)."""

    def step_started(self, step: Step) -> None: ...

    def step_advanced(self, step: Step) -> None: ...

    def step_finished(self, step: Step) -> None: ...


@dataclass
class Step:
    """One long step: what it is, how far along (`total` None while unknown)."""

    id: int
    description: str
    total: int | None = None
    done: int = 0
    unit: str = ""  # what `total` counts ("chunks"), or "" for stages
    _activity: Activity | None = field(default=None, repr=False, compare=False)

    def advance(self, n: int = 1, *, description: str | None = None) -> None:
        self.done += n
        if description is not None:
            self.description = description
        if self._activity is not None:
            self._activity._emit("step_advanced", self)


class Activity:
    """The app's channel for long steps: components report, front ends listen (see the module docstring)."""

    def __init__(self) -> None:
        self._listeners: list[StepListener] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def add_listener(self, listener: StepListener) -> None:
        """Show every step from now on (a CLI command listens for its whole process)."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: StepListener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    @contextmanager
    def listening(self, listener: StepListener) -> Iterator[StepListener]:
        """Show the steps that start or move while the block runs (a web request)."""
        self.add_listener(listener)
        try:
            yield listener
        finally:
            self.remove_listener(listener)

    @contextmanager
    def step(self, description: str, total: int | None = None, unit: str = "") -> Iterator[Step]:
        """Report a long step; the listeners hear it start, move and finish (also when it fails)."""
        step = Step(next(self._ids), description, total, 0, unit, self)
        self._emit("step_started", step)
        try:
            yield step
        finally:
            self._emit("step_finished", step)

    def _emit(self, event: str, step: Step) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            with contextlib.suppress(Exception):  # a broken progress display never breaks the work it shows
                getattr(listener, event)(step)
