"""Event handlers of the web UI: translate between Gradio values and the app, never decide.

One `Callbacks` object wraps the shared `DocQA`; it keeps no per-user state (conversations live in
each browser session's gr.State), so any number of sessions can call it at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.utils import get_upload_folder

from rag.answer.answerer import AskOptions
from rag.app import DocQA
from rag.core.settings import parse_strategies
from rag.core.types import Answer, FileReport, Strategy
from rag.library import DocumentNotFound, SourceFileGone, safe_name
from ui import render
from ui.on_demand import GradioSteps, run_with_steps
from ui.uploads import discard_temp_copy

ALL = "all"


class GradioProgress:
    """The ingest Progress protocol forwarded to a gr.Progress bar, one file at a time."""

    def __init__(self, progress: gr.Progress, name: str, index: int, total: int) -> None:
        self.progress, self.name, self.index, self.total = progress, name, index, total
        self.planned = 0
        self.done = 0
        self._show("reading")

    def _show(self, what: str) -> None:
        share = self.done / self.planned if self.planned else 0.0
        desc = f"{self.name} ({self.index + 1} of {self.total}): {what}"
        self.progress((self.index + share) / max(self.total, 1), desc=desc)

    def file_started(self, source: str, index: int, total: int) -> None:
        pass

    def chunks_planned(self, n: int) -> None:
        self.planned += n
        self._show(f"embedding {n} chunks")

    def chunks_embedded(self, n: int) -> None:
        self.done += n
        self._show(f"embedded {self.done} of {self.planned} chunks")

    def file_done(self, report: FileReport) -> None:
        pass


def _strategies(choice: str | None) -> tuple[Strategy, ...]:
    return parse_strategies(choice or ALL)


def _file_name(path: str) -> str:
    # Gradio keeps the original name as the last path part of its upload cache (…/<hash>/<name>).
    return safe_name(Path(path).name)


def _record_dict(record) -> dict:
    return {
        "name": record.source,
        "title": record.title,
        "file_type": record.file_type,
        "pages": record.pages,
        "chunks": dict(record.chunks),
        "ingested_at": record.ingested_at,
        "warnings": list(record.warnings),
    }  # no server path: names only (and a "path" key makes gradio_client fetch it as a file)


class Callbacks:
    def __init__(self, qa: DocQA) -> None:
        self.qa = qa

    # --- chat ----------------------------------------------------------------------------------
    @staticmethod
    def options(
        strategy: str | None = None,
        k: float | None = None,
        retrieval_mode: str | None = None,
        mmr: bool | None = None,
        threshold: float | None = None,
        documents: Sequence[str] | None = None,
        model: str | None = None,
        temperature: float | None = None,
        max_tokens: float | None = None,
        judge: bool = True,
    ) -> AskOptions:
        return AskOptions(
            strategy=Strategy(strategy) if strategy else None,
            k=int(k) if k else None,
            retrieval_mode=retrieval_mode or None,
            mmr=mmr,
            threshold=threshold,
            documents=list(documents) if documents else None,
            model=(model or "").strip() or None,
            temperature=temperature,
            max_tokens=int(max_tokens) if max_tokens else None,
            judge=bool(judge),
        )

    def chat(
        self, question: str, chat: list, conversation: list, answers: list, *settings: Any
    ) -> Iterator[tuple[Any, ...]]:
        """Stream one turn into the chat: a steps message (status events), the answer (deltas), then
        the final answer with its sources panel and faithfulness badge."""
        question = (question or "").strip()
        if not question:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        chat = list(chat or [])
        user = {"role": "user", "content": question}
        steps: list[str] = []
        waiting = render.busy("Starting…")

        def view(status: dict, reply: str | None) -> list:
            messages = [*chat, user, status]
            return messages if reply is None else [*messages, {"role": "assistant", "content": reply}]

        def pending(title: str) -> dict:
            log = render.steps_log(steps, {})
            return {"role": "assistant", "content": log, "metadata": {"title": title, "status": "pending"}}

        yield "", view(pending("Starting…"), None), waiting, "", conversation, answers
        text = ""
        answer: Answer | None = None
        try:
            options = self.options(*settings)
            chosen = Strategy(options.strategy or self.qa.settings.strategy)
            if self.qa.library.missing(chosen):  # not built at ingest: built now, said in the steps
                steps.append(f"Building the {chosen.value} index (first use of this strategy)…")
                busy = render.busy(f"Building the {chosen.value} index…")
                yield gr.skip(), view(pending(f"Building the {chosen.value} index…"), None), busy, *(gr.skip(),) * 3
                self.qa.library.ensure_strategy(chosen)
            for line in run_with_steps(self.qa.activity, lambda: self.qa.refresh_indexes([chosen.value])):
                said = line.split(":")[0].rstrip("…") + "…"  # a full keyword-index build, said once in the log
                if said not in steps:
                    steps.append(said)
                yield gr.skip(), view(pending(line), None), render.busy(line), *(gr.skip(),) * 3
            for event in self.qa.answerer.stream(question, conversation, options):
                if event.kind == "status":
                    steps.append(event.text)
                    busy = render.busy(render.status_title(event.text))
                    reply = render.streaming_markdown(text) if text else None
                    yield gr.skip(), view(pending(render.status_title(event.text)), reply), busy, *(gr.skip(),) * 3
                elif event.kind == "delta":
                    text += event.text
                    reply = render.streaming_markdown(text)
                    yield gr.skip(), view(pending("Writing the answer…"), reply), *(gr.skip(),) * 4
                elif event.kind == "answer":
                    answer = event.answer
        except Exception as exc:  # the store or model failed: show why, keep the session usable
            answer = Answer(question, question, f"Could not answer: {exc}", mode="error")
        assert answer is not None
        total = answer.timings.get("total", 0.0)
        done = {
            "role": "assistant",
            "content": render.steps_log(steps, answer.timings),
            "metadata": {"title": _done_title(answer), "status": "done", "duration": round(total, 2)},
        }
        conversation = [
            *conversation,
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer.text},
        ]
        turn = len(answers)  # this answer's index: its [n] chips open that turn's sources
        yield (
            "",
            view(done, render.answer_markdown(answer, turn)),
            render.sources_html(answer, turn),
            render.faithfulness_html(
                answer.faithfulness, answer.mode, render.display_numbers(answer), answer.relevance
            ),
            conversation,
            [*answers, answer],
        )

    @staticmethod
    def show_turn(chat: list, answers: list, evt: gr.SelectData) -> tuple[str, str]:
        """Clicking a message shows the sources and score of that turn's answer."""
        index = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        turn = sum(1 for m in (chat or [])[: int(index) + 1] if _role(m) == "user")
        if not answers or turn < 1 or turn > len(answers):
            return gr.skip(), gr.skip()
        answer = answers[turn - 1]
        numbers = render.display_numbers(answer)
        badge = render.faithfulness_html(answer.faithfulness, answer.mode, numbers, answer.relevance)
        return render.sources_html(answer, turn - 1), badge

    @staticmethod
    def new_conversation() -> tuple:
        return [], [], [], render.empty_sources(), ""

    def api_ask(self, question: str, history: list | None = None, options: dict | None = None) -> tuple[str, dict]:
        """Ask a question about the ingested documents; the answer cites its sources as [n].

        Args:
            question: The question, in your own words.
            history: Earlier turns of the conversation as {"role", "content"} dicts (None for a new one).
            options: Per-question settings (None for the defaults): strategy, k, retrieval_mode, mmr,
                threshold, documents, model, temperature, max_tokens, judge.

        Returns:
            The answer text, and the full answer (citations with file and page, sources, faithfulness).
        """
        if options is not None and not isinstance(options, dict):
            raise gr.Error(f"options must be a JSON object, not {type(options).__name__}")
        opts = dict(options or {})
        fields = set(AskOptions.__dataclass_fields__)
        unknown = sorted(set(opts) - fields)
        if unknown:
            raise gr.Error(f"unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(fields))}")
        try:
            if opts.get("strategy"):
                known = ", ".join(s.value for s in Strategy)
                if opts["strategy"] not in {s.value for s in Strategy}:
                    raise ValueError(f"invalid option strategy={opts['strategy']!r}: choose {known}")
                opts["strategy"] = Strategy(opts["strategy"])
            answer = self.qa.answerer.answer(question, history or [], AskOptions(**opts))
        except ValueError as exc:  # a bad option value: its own message, not Gradio's generic one
            raise gr.Error(str(exc)) from None
        return answer.text, self.qa.redactor.redact_data(answer.to_dict(), self.qa.settings)

    # --- upload ----------------------------------------------------------------------------------
    def upload(
        self,
        files: list | None,
        strategy: str | None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio injects it)
    ) -> Iterator[tuple[list[list], str]]:
        """Ingest each uploaded file under its original name; the table grows as files finish."""
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in (files or [])]
        if not paths:
            yield [], render.report_summary([])
            return
        try:
            strategies = _strategies(strategy)
        except ValueError as exc:
            raise gr.Error(str(exc)) from None
        reports: list[FileReport] = []
        with self.qa.activity.listening(GradioSteps(progress)):  # a full keyword-index build shows its bar
            yield from self._upload(paths, strategies, reports, progress)

    def _upload(self, paths: list[str], strategies, reports: list[FileReport], progress) -> Iterator:
        for i, path in enumerate(paths):
            name = _file_name(path)
            tracker = GradioProgress(progress, name, i, len(paths))
            try:
                reports.append(self.qa.library.add_upload(path, name, strategies, progress=tracker, refresh=False))
            finally:  # ingested (docqa keeps its own copy) or refused: Gradio's temp copy goes (ui/uploads.py)
                discard_temp_copy(path, Path(get_upload_folder()))
            if i + 1 < len(paths):
                yield render.report_rows(reports), render.busy(f"Ingested {i + 1} of {len(paths)} files…")
        if any(r.status == "ingested" for r in reports):
            progress(1.0, desc="Updating the keyword index")
            self.qa.library.refresh_after(reports, strategies)  # so the first question after an upload is fast
        yield render.report_rows(reports), render.report_summary(reports)

    # --- library ---------------------------------------------------------------------------------
    def documents(self) -> list[dict]:
        """All ingested documents: name, title, file_type, pages, chunks per strategy, ingested_at, warnings."""
        return [_record_dict(r) for r in self.qa.library.documents()]

    def remove(self, name: str) -> dict:
        """Remove a document by name (as listed by `documents`)."""
        try:
            self.qa.library.remove(name)
        except DocumentNotFound:
            return {"removed": False, "name": name, "message": f"No document named {name!r}."}
        return {"removed": True, "name": name, "message": f"Removed {name}."}

    def library(self, selected: str | None = None) -> tuple:
        """Table, summary, the name pickers (library and chat filter) and the header, in one refresh."""
        records = self.qa.library.documents()
        names = [r.source for r in records]
        keep = selected if selected in names else (names[0] if names else None)
        return (
            render.library_rows(records),
            render.library_summary(records),
            gr.update(choices=names, value=keep),
            gr.update(choices=names),
            self.header(len(records)),
        )

    def header(self, count: int | None = None) -> str:
        s = self.qa.settings
        if count is None:
            count = len(self.qa.library.documents())
        return render.header(s.llm_enabled, s.llm_model, count)

    def remove_from_ui(self, name: str | None) -> str:
        if not name:  # none chosen, or the confirmation was cancelled
            return render.banner("info", "Nothing was removed.")
        result = self.remove(name)
        return render.banner("ok" if result["removed"] else "error", result["message"])

    def reingest(self, name: str | None, progress: gr.Progress = gr.Progress()) -> str:  # noqa: B008
        """Ingest a document again from the path it was read from (if that file still exists)."""
        if not name:
            return render.banner("info", "Choose a document to re-ingest.")
        tracker = GradioProgress(progress, name, 0, 1)
        try:
            report = self.qa.library.reingest(name, progress=tracker)
        except DocumentNotFound:
            return render.banner("error", f"No document named {name!r}.")
        except SourceFileGone as exc:
            return render.banner(
                "warn", f"The original file of {name} is gone.", f"It was read from {exc.path}; upload it again."
            )
        if report.status == "failed":
            return render.banner("error", f"Re-ingesting {name} failed.", report.error)
        if report.status == "unchanged":
            return render.banner("ok", f"{name} is up to date.", "The file has not changed since it was ingested.")
        return render.banner("ok", f"Re-ingested {name}.", render.chunks_label(report.chunks))


def _role(message: Any) -> str:
    return message.get("role", "") if isinstance(message, dict) else getattr(message, "role", "")


def _done_title(answer: Answer) -> str:
    label = {
        "llm": "Answered",
        "extractive": "Answered from quotes",
        "no-sources": "No matching passage",
        "refused": "Not answered",
        "error": "Failed",
    }.get(answer.mode, "Done")
    cached = " (cached)" if answer.cached else ""
    return f"{label}{cached} · {len(answer.sources)} sources"
