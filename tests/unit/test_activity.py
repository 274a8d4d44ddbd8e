"""Long steps reach whoever listens, and a broken listener never breaks the work (rag/core/activity.py)."""

from __future__ import annotations

import pytest

from rag.core.activity import Activity, Step
from ui.on_demand import run_with_steps, step_line


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, int, int | None]] = []

    def _note(self, kind: str, step: Step) -> None:
        self.events.append((kind, step.description, step.done, step.total))

    def step_started(self, step: Step) -> None:
        self._note("start", step)

    def step_advanced(self, step: Step) -> None:
        self._note("advance", step)

    def step_finished(self, step: Step) -> None:
        self._note("finish", step)


class Broken:
    def step_started(self, step: Step) -> None:
        raise RuntimeError("display gone")

    step_advanced = step_finished = step_started


def test_listeners_hear_a_step_start_move_and_finish_only_while_listening():
    activity, heard = Activity(), Recorder()
    with (
        activity.listening(heard),
        activity.listening(Broken()),
        activity.step("building the keyword index (sentence)", 3, "chunks") as step,
    ):
        step.advance(2)
        step.advance(1, description="building the keyword index (sentence): writing")
    with activity.step("not heard", 1):
        pass
    assert heard.events == [
        ("start", "building the keyword index (sentence)", 0, 3),
        ("advance", "building the keyword index (sentence)", 2, 3),
        ("advance", "building the keyword index (sentence): writing", 3, 3),
        ("finish", "building the keyword index (sentence): writing", 3, 3),
    ]


def test_a_failing_step_still_finishes_for_its_listeners():
    activity, heard = Activity(), Recorder()
    with activity.listening(heard), pytest.raises(ValueError), activity.step("export", 4):
        raise ValueError("no space left")
    assert [e[0] for e in heard.events] == ["start", "finish"]


def test_step_lines_say_how_far_along():
    assert step_line(Step(1, "building the keyword index (parent-child)", 14986, 4000, "chunks")) == (
        "Building the keyword index (parent-child): 4,000 of 14,986 chunks"
    )
    assert step_line(Step(2, "preparing the embedding model: exporting", 4, 1)) == (
        "Preparing the embedding model: exporting…"
    )


def test_run_with_steps_yields_progress_of_the_work_and_reraises_its_error():
    activity = Activity()

    def work() -> None:
        import time

        with activity.step("building the keyword index (sentence)", 2000, "chunks") as step:
            for _ in range(2):
                time.sleep(0.15)
                step.advance(1000)
                time.sleep(0.15)

    lines = list(run_with_steps(activity, work, every_s=0.05))
    assert lines and lines[-1] == "Building the keyword index (sentence): 2,000 of 2,000 chunks"
    assert "Building the keyword index (sentence): 1,000 of 2,000 chunks" in lines
    assert list(run_with_steps(activity, lambda: None)) == []  # no long step: nothing to show

    def failing() -> None:
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        list(run_with_steps(activity, failing))
