"""Safety filters around the answer road, as `AnswerHook`s (wired in rag/app.py, safety first).

- `InjectionFlagger` (before_generate): marks every source whose passage speaks to the model with
  "possible prompt injection"; the prompt carries the mark in the source tag, the user sees it.
- `InputFilter`: refuses jailbreak attempts (before_retrieve) and questions that are off-topic for the
  loaded documents, judged by retrieval: the best dense similarity of the retrieved passages must reach
  the level's minimum (before_generate).
- `OutputFilter` (after_answer, rag/safety/outbound.py): redacts leaked secrets (the configured keys
  always, credential-shaped strings from level low) and personal data (card and resident registration
  numbers from low, e-mail addresses and phone numbers from medium) from the answer, its sources and
  citations and the question, and says what it removed.

DOCQA_SAFETY_LEVEL sets the strictness: off | low (default) | medium | high. "off" disables the input
filter and the pattern-based redaction, but configured secrets are still scrubbed and injected passages
still flagged (marking is not filtering). `install_log_scrubber` keeps secrets out of every log record.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from rag.answer.prompts import REFUSAL
from rag.core.settings import Settings
from rag.core.types import Answer, Source
from rag.safety.injection import INJECTION_FLAG, find_injection, find_jailbreak
from rag.safety.outbound import OUTPUT_RULES, Redactor, configured_secrets  # noqa: F401 (re-exported)
from rag.safety.redact import scrub_secrets

# Minimum best dense (cosine) similarity between the question and a retrieved passage, per level.
# Over the sample documents (k = 6 sources, 3,000-token budget) the bundled MiniLM scores on-topic
# questions 0.40-0.81 ("Can I work from home?" 0.40, Korean "한글날은 언제인가?" 0.79) and unrelated ones
# 0.15-0.25 ("Who won the 2018 FIFA World Cup?" 0.23, "What is the price of bitcoin today?" 0.25,
# "Who wrote Hamlet?" 0.15). Every level sits in that gap: "low" refuses only the clearly unrelated,
# "high" also what is barely about the documents.
OFFTOPIC_MIN: dict[str, float | None] = {"off": None, "low": 0.28, "medium": 0.32, "high": 0.36}


def _level(settings: Settings) -> str:
    return getattr(settings, "safety_level", "low") or "low"


class _Hook:
    def before_retrieve(self, question: str, standalone: str, settings: Settings) -> Answer | None:
        return None

    def before_generate(self, question: str, sources: list[Source], settings: Settings) -> Answer | None:
        return None

    def after_answer(self, answer: Answer, settings: Settings) -> Answer:
        return answer


class InjectionFlagger(_Hook):
    """Flag sources whose passage (or matched child) contains instructions to the model."""

    def before_generate(self, question: str, sources: list[Source], settings: Settings) -> Answer | None:
        for source in sources:
            texts = [source.chunk.text]
            if source.hit.matched is not None:
                texts.append(source.hit.matched.text)
            if INJECTION_FLAG not in source.flags and any(find_injection(t) for t in texts):
                source.flags.append(INJECTION_FLAG)
        return None


@dataclass
class InputFilter(_Hook):
    """Refuse jailbreak attempts and questions that the loaded documents do not cover."""

    def before_retrieve(self, question: str, standalone: str, settings: Settings) -> Answer | None:
        level = _level(settings)
        found = find_jailbreak(question, level)
        if not found and standalone and standalone != question:
            found = find_jailbreak(standalone, level)
        if not found:
            return None
        message = (
            "This question was not answered: it looks like an attempt to change the assistant's instructions "
            f"({', '.join(found)}). Ask about the content of your documents instead."
        )
        return Answer(question, standalone, message, mode="refused", notice=message)

    def before_generate(self, question: str, sources: list[Source], settings: Settings) -> Answer | None:
        level = _level(settings)
        minimum = OFFTOPIC_MIN.get(level)
        scores = [s.hit.dense_score for s in sources if s.hit.dense_score is not None]
        if minimum is None or not scores or max(scores) >= minimum:
            return None
        message = (
            "This question does not seem to be about your documents: the closest passage has a similarity of "
            f"{max(scores):.2f}, below the {minimum:.2f} required at safety level {level}. Rephrase it with "
            "words your documents use, or lower DOCQA_SAFETY_LEVEL."
        )
        # The text is the standard refusal, so every consumer (UI, CLI, evaluation) recognises it.
        return Answer(question, question, REFUSAL, mode="refused", sources=sources, notice=message)


class OutputFilter(Redactor):
    """Redact secrets and personal data from everything the answer shows (rag/safety/outbound.py): the
    answer, its sources and citations, the question; the Answerer runs the same pass on early answers."""


def safety_hooks() -> list:
    """The safety hooks in the order they must run: refuse first, then flag, redact last."""
    return [InputFilter(), InjectionFlagger(), OutputFilter()]


# --------------------------------------------------------------------------------------------------
# logs
# --------------------------------------------------------------------------------------------------

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def install_log_scrubber(settings: Settings) -> None:
    """Scrub configured secrets and credential-shaped strings from every log record, whoever logs it.

    Works at record creation (a LogRecord factory), so it covers handlers added later (the web server's)
    and exception text, which is formatted here once, scrubbed, and reused by every formatter.
    """
    global _installed
    with _lock:
        _secrets.update(configured_secrets(settings))
        if _installed:
            return
        _installed = True
        previous = logging.getLogRecordFactory()

        def factory(*args, **kwargs) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            try:
                record.msg, record.args = scrub_secrets(record.getMessage(), _secrets), ()
                if record.exc_info and not record.exc_text:
                    record.exc_text = scrub_secrets(logging.Formatter().formatException(record.exc_info), _secrets)
            except Exception:  # a log call must never fail because of the scrubber
                pass
            return record

        logging.setLogRecordFactory(factory)
