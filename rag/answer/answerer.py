"""The answer road: question (+ history) -> standalone question -> retrieval -> grounded generation ->
citations -> faithfulness -> one `Answer`.

Everything is composed from injected parts (retriever, generator factory, judge), so the CLI, the web UI
and the evaluation run exactly the same steps. `stream()` is the primitive; `answer()` drains it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from rag.answer.citations import resolve_citations
from rag.answer.generate import condense_question
from rag.answer.prompts import REFUSAL
from rag.answer.relevance import assess_relevance
from rag.core.errors import GenerationError
from rag.core.protocols import Embedder, Generator, Judge, Retriever
from rag.core.settings import Settings
from rag.core.types import Answer, HistoryItem, Source, Strategy

EXTRACTIVE_NOTICE = (
    "Extractive mode: no language model is configured, so the answer quotes the best-matching sentences "
    "of your documents and the faithfulness score comes from a heuristic judge. Set OPENAI_API_KEY (or "
    "OPENAI_BASE_URL for a local server such as Ollama or vLLM) to get generated answers."
)


@dataclass
class AskOptions:
    """Per-question overrides of the settings (the UI's settings panel, CLI flags)."""

    strategy: Strategy | None = None
    k: int | None = None
    retrieval_mode: str | None = None
    mmr: bool | None = None
    threshold: float | None = None
    documents: list[str] | None = None
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    judge: bool = True

    def settings_update(self) -> dict:
        """Fields of the per-question settings copy. `documents` and `judge` are not Settings fields but go
        on the copy too: hooks only receive the settings, and the semantic cache must tell a filtered or
        unjudged question from the plain one (rag.answer.cache.answer_key)."""
        update = {
            "strategy": self.strategy,
            "top_k": self.k,
            "retrieval_mode": self.retrieval_mode,
            "mmr": self.mmr,
            "relevance_threshold": self.threshold,
            "llm_model": self.model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "documents": self.documents or None,
            "judge": self.judge,
        }
        return {k: v for k, v in update.items() if v is not None}

    def apply(self, settings: Settings) -> Settings:
        """The per-question settings copy, each changed field checked like its environment variable: a bad
        option (API, CLI) is one clear ValueError before any work, not a failure deep inside retrieval."""
        update = self.settings_update()
        probe = settings.model_copy()
        for name, value in update.items():
            if name in NOT_SETTINGS or name not in type(settings).model_fields:
                continue
            try:
                type(settings).__pydantic_validator__.validate_assignment(probe, name, value)
            except ValidationError as exc:
                option = OPTION_NAMES.get(name, name)
                raise ValueError(f"invalid option {option}={value!r}: {exc.errors()[0]['msg']}") from None
            update[name] = getattr(probe, name)  # the parsed value ("sentence" -> Strategy.SENTENCE)
        return settings.model_copy(update=update)


# AskOptions field -> the Settings field it overrides, where the names differ (for error messages).
OPTION_NAMES = {"top_k": "k", "relevance_threshold": "threshold", "llm_model": "model"}
NOT_SETTINGS = {"documents", "judge"}  # carried on the copy for hooks, not Settings values to validate


@dataclass
class StreamEvent:
    """`status` (a step started), `delta` (answer text), or `answer` (the final result, always last)."""

    kind: str
    text: str = ""
    answer: Answer | None = None


class AnswerHook(Protocol):
    """A step around the answer road (safety filters, semantic cache). Any method may be a no-op.

    `before_retrieve` and `before_generate` return an Answer to stop early (a refusal, a cache hit) or
    None to go on; `before_generate` may also flag sources in place. `after_answer` may rewrite the final
    answer (redaction) or record it (cache). Hooks run in list order.
    """

    def before_retrieve(self, question: str, standalone: str, settings: Settings) -> Answer | None: ...

    def before_generate(self, question: str, sources: list[Source], settings: Settings) -> Answer | None: ...

    def after_answer(self, answer: Answer, settings: Settings) -> Answer: ...


class Redactor(Protocol):
    """The one outbound redaction pass (rag.safety.outbound.Redactor in the app): the question on arrival
    (so nothing secret is keyed, cached or sent on), streamed text, and every answer handed out."""

    def redact_text(self, text: str, settings: Settings) -> str: ...

    def redact_answer(self, answer: Answer, settings: Settings) -> Answer: ...

    def stream(self, settings: Settings) -> Any: ...


@dataclass
class Answerer:
    settings: Settings
    retriever: Retriever  # rag.retrieval.hybrid.Retriever in the app
    embedder: Embedder
    judge: Judge
    make_generator: Callable[[Settings], Generator]
    hooks: list[AnswerHook] = field(default_factory=list)  # wired in rag/app.py
    redactor: Redactor | None = None  # wired in rag/app.py; every answer leaves through it

    def answer(
        self, question: str, history: Sequence[HistoryItem] | None = None, options: AskOptions | None = None
    ) -> Answer:
        final = None
        for event in self.stream(question, history, options):
            if event.kind == "answer":
                final = event.answer
        assert final is not None
        return final

    def stream(
        self, question: str, history: Sequence[HistoryItem] | None = None, options: AskOptions | None = None
    ) -> Iterator[StreamEvent]:
        options = options or AskOptions()
        settings = options.apply(self.settings)
        timings: dict[str, float] = {}
        t_all = time.perf_counter()
        question = question.strip()
        if not question:
            yield StreamEvent("answer", answer=Answer(question, "", "Please type a question.", mode="refused"))
            return
        generator = self.make_generator(settings)
        redactor = self.redactor
        if redactor is not None:
            question = redactor.redact_text(question, settings)

        yield StreamEvent("status", "Understanding the question")
        t0 = time.perf_counter()
        standalone = condense_question(question, history, generator if generator.mode == "llm" else None)
        if redactor is not None:  # before the hooks: the cache keys and stores the redacted question
            standalone = redactor.redact_text(standalone, settings)
        timings["condense"] = time.perf_counter() - t0
        for hook in self.hooks:
            early = hook.before_retrieve(question, standalone, settings)
            if early is not None:
                yield StreamEvent("answer", answer=self._finish(early, timings, t_all, settings))
                return

        yield StreamEvent("status", "Searching your documents")
        t0 = time.perf_counter()
        retrieval = self.retriever.retrieve(
            standalone,
            strategy=settings.strategy,
            k=settings.top_k,
            mode=settings.retrieval_mode,
            mmr=settings.mmr,
            threshold=settings.relevance_threshold,
            doc_filter=options.documents,
            budget_tokens=settings.context_budget_tokens,
        )
        timings["retrieve"] = time.perf_counter() - t0
        if not retrieval.hits:
            closest = [Source(i + 1, hit) for i, hit in enumerate(retrieval.closest)]
            notice = retrieval.notice or "No passage in your documents matches this question."
            answer = Answer(question, standalone, notice, mode="no-sources", sources=closest, notice=notice)
            yield StreamEvent("answer", answer=self._finish(answer, timings, t_all, settings))
            return
        sources = [Source(i + 1, hit) for i, hit in enumerate(retrieval.hits)]
        for hook in self.hooks:
            early = hook.before_generate(question, sources, settings)
            if early is not None:
                yield StreamEvent("answer", answer=self._finish(early, timings, t_all, settings))
                return

        yield StreamEvent("status", "Writing the answer")
        t0 = time.perf_counter()
        pieces: list[str] = []
        shown = redactor.stream(settings) if redactor is not None else None
        try:
            for piece in generator.stream(standalone, sources, history):
                pieces.append(piece)
                piece = shown.feed(piece) if shown is not None else piece
                if piece:
                    yield StreamEvent("delta", piece)
            if shown is not None and (rest := shown.flush()):
                yield StreamEvent("delta", rest)
        except GenerationError as exc:
            answer = Answer(question, standalone, str(exc), mode="error", sources=sources, notice=str(exc))
            yield StreamEvent("answer", answer=self._finish(answer, timings, t_all, settings))
            return
        text = "".join(pieces).strip() or REFUSAL
        timings["generate"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        citations, dropped = resolve_citations(text, sources, self.embedder)
        timings["cite"] = time.perf_counter() - t0
        answer = Answer(
            question,
            standalone,
            text,
            mode=generator.mode,
            citations=citations,
            sources=sources,
            dropped_markers=dropped,
            notice=" ".join(
                filter(None, (EXTRACTIVE_NOTICE if generator.mode == "extractive" else "", retrieval.notice))
            ),
        )
        if options.judge:
            yield StreamEvent("status", "Checking faithfulness")
            t0 = time.perf_counter()
            answer.faithfulness = self.judge.judge(question, text, sources)
            timings["judge"] = time.perf_counter() - t0
        answer.relevance = assess_relevance(standalone, text)  # a faithful quote may still miss the question
        if redactor is not None:  # before the hooks: the cache stores the redacted answer
            answer = redactor.redact_answer(answer, settings)
        for hook in self.hooks:
            answer = hook.after_answer(answer, settings)
        yield StreamEvent("answer", answer=self._finish(answer, timings, t_all, settings))

    def _finish(self, answer: Answer, timings: dict[str, float], t_all: float, settings: Settings) -> Answer:
        """Every answer leaves here: early ones (refusals, cache hits, errors, no sources) are redacted
        like generated ones (a second pass over a redacted answer finds nothing)."""
        if self.redactor is not None:
            answer = self.redactor.redact_answer(answer, settings)
        answer.timings = {**timings, **answer.timings, "total": time.perf_counter() - t_all}
        return answer
