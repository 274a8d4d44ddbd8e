"""Answer generation behind one small Protocol: an OpenAI-compatible LLM, or extractive offline answers.

The rest of docqa only sees `Generator.generate/stream -> str`. LangChain's ChatOpenAI stays inside
`OpenAIGenerator`, and every client or server failure leaves this module as a `GenerationError` whose
message is one line a user can act on: never a stack trace, never the API key.

Without an LLM, `ExtractiveComposer` (rag/answer/extractive.py) still answers: it quotes the retrieved
sentences that best answer the question, each with its [n] marker, or gives the refusal phrase when none
is relevant enough.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from rag.answer.extractive import ExtractiveComposer
from rag.answer.followups import rewrite as rewrite_follow_up
from rag.answer.prompts import (
    PROMPTS,
    HistoryItem,
    PromptSet,
    build_condense_messages,
    build_messages,
    normalise_history,
)
from rag.core.errors import GenerationError
from rag.core.protocols import ChatModels, Embedder, Generator
from rag.core.settings import Settings
from rag.core.types import Source

if TYPE_CHECKING:
    from langchain_core.language_models import LanguageModelInput

# --------------------------------------------------------------------------------------------- LLM


def _text(content: object) -> str:
    """LangChain message content as plain text (providers may return a list of content blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            b if isinstance(b, str) else str(b.get("text", "")) for b in content if isinstance(b, str | dict)
        )
    return ""


class OpenAIGenerator:
    """Any OpenAI-compatible chat server (OpenAI, Ollama, vLLM, llama.cpp) through langchain-openai."""

    mode = "llm"

    def __init__(self, settings: Settings, chat_factory: ChatModels, prompts: PromptSet = PROMPTS) -> None:
        if not settings.llm_enabled:
            raise GenerationError("No language model is configured: set OPENAI_API_KEY or OPENAI_BASE_URL.", "config")
        self.settings = settings
        self.prompts = prompts
        self.name = settings.llm_model
        self.chat = chat_factory
        self._llm = chat_factory(settings)

    def complete(self, messages: LanguageModelInput, temperature: float | None = None) -> str:
        """One chat completion; the building block of every call.

        `messages` is anything a LangChain chat model accepts: a filled `ChatPromptTemplate`'s messages
        (what docqa's own prompts give), a prompt value, or plain role/content dicts.
        """
        kwargs = {} if temperature is None else {"temperature": temperature}
        try:
            reply = self._llm.invoke(messages, **kwargs)
        except Exception as exc:
            raise self.chat.describe_error(exc, self.settings) from None
        return _text(reply.content).strip()

    def generate(self, question: str, sources: Sequence[Source], history: Sequence[HistoryItem] | None = None) -> str:
        return self.complete(build_messages(question, sources, history, self.prompts))

    def stream(
        self, question: str, sources: Sequence[Source], history: Sequence[HistoryItem] | None = None
    ) -> Iterator[str]:
        messages = build_messages(question, sources, history, self.prompts)
        try:
            for chunk in self._llm.stream(messages):
                piece = _text(chunk.content)
                if piece:
                    yield piece
        except GeneratorExit:
            raise
        except Exception as exc:
            raise self.chat.describe_error(exc, self.settings) from None


# ------------------------------------------------------------------------------------- extractive

# The offline composer lives in rag/answer/extractive.py; the name stays importable from here.
ExtractiveGenerator = ExtractiveComposer


def make_generator(
    settings: Settings, embedder: Embedder, chat_factory: ChatModels, multilingual: Embedder | None = None
) -> Generator:
    """The LLM when one is configured (OPENAI_API_KEY or OPENAI_BASE_URL), else extractive answers
    (which use the multilingual embedder, when given, for sources in another language)."""
    if settings.llm_enabled:
        return OpenAIGenerator(settings, chat_factory)
    return ExtractiveGenerator(embedder, multilingual=multilingual)


# ----------------------------------------------------------------------------------- follow-ups


def condense_offline(question: str, history: Sequence[HistoryItem] | None) -> str:
    """The offline follow-up rule (see `condense_question`)."""
    standalone: str | None = None
    for message in normalise_history(history):
        if message["role"] == "user":
            standalone = rewrite_follow_up(message["content"].strip(), standalone)
    return rewrite_follow_up(question.strip(), standalone)


def condense_question(question: str, history: Sequence[HistoryItem] | None, generator: Generator | None = None) -> str:
    """Turn a follow-up question into one that retrieval can answer on its own.

    No history: the question is returned unchanged. With an LLM generator (anything with a
    `complete(messages, temperature)` method), the CONDENSE prompt asks it, at temperature 0, to rewrite
    the follow-up; if that call fails or returns nothing, the offline rule is used instead (the answer
    call will surface a persistent server error anyway).

    Offline rule (rag/answer/followups.py): a follow-up of the previous user question (itself made
    standalone by the same rule, so chains keep their topic) replaces the contrasted slot of that question
    ("and for creative ones?" after "... for factual tasks?" -> "... for creative tasks?"; "그럼 서울은?"),
    or has its pronouns replaced by that question's topic ("How tall is it?" -> "How tall is the Eiffel
    Tower?"); when neither applies, the previous question's content words are prepended as
    "<words>: <question>". Other questions pass through unchanged.
    """
    if not normalise_history(history):
        return question
    complete = getattr(generator, "complete", None) if generator is not None else None
    if complete is not None and getattr(generator, "mode", "") == "llm":
        prompts = getattr(generator, "prompts", PROMPTS)
        try:
            reply = complete(build_condense_messages(question, history, prompts), temperature=0)
        except GenerationError:
            reply = ""
        lines = [line.strip().strip('"“”').strip() for line in reply.splitlines() if line.strip()]
        if lines:
            return re.sub(r"^(standalone question|question)\s*:\s*", "", lines[0], flags=re.IGNORECASE)
    return condense_offline(question, history)
