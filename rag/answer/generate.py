"""Answer generation behind one small Protocol: an OpenAI-compatible LLM, or extractive offline answers.

The rest of docqa only sees `Generator.generate/stream -> str`. LangChain's ChatOpenAI stays inside
`OpenAIGenerator`, and every client or server failure leaves this module as a `GenerationError` whose
message is one line a user can act on: never a stack trace, never the API key.

Without an LLM, `ExtractiveGenerator` still answers: it quotes the retrieved sentences that best answer
the question, each with its [n] marker, or gives the refusal phrase when none is relevant enough.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from rag.answer.citations import overlap, sentence_spans, support_score, unit_rows
from rag.answer.prompts import (
    PROMPTS,
    REFUSAL,
    HistoryItem,
    PromptSet,
    build_condense_messages,
    build_messages,
    normalise_history,
)
from rag.core.errors import GenerationError
from rag.core.protocols import ChatModels, Embedder, Generator
from rag.core.settings import Settings
from rag.core.text import content_words
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


class ExtractiveGenerator:
    """Offline answers: the best-matching source sentences, verbatim, each followed by its [n].

    Each sentence of each source is scored 0.7 * cosine(question, sentence) + 0.3 * share of the
    question's content words it contains. The best sentence is kept when it scores at least `floor`;
    up to `max_sentences - 1` more join it when they score at least `floor` and `relative` times the best,
    while the answer stays within `max_words`. Kept sentences appear in source order. Deterministic.
    """

    mode = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        floor: float = 0.35,
        relative: float = 0.85,
        max_sentences: int = 3,
        max_words: int = 80,
    ) -> None:
        self.embedder = embedder
        self.name = "extractive"
        self.floor = floor
        self.relative = relative
        self.max_sentences = max_sentences
        self.max_words = max_words

    def select(self, question: str, sources: Sequence[Source]) -> list[tuple[Source, int, int, float]]:
        """The chosen sentences as (source, start, end, score), in source order."""
        candidates: list[tuple[Source, int, int]] = []
        previous: list[int | None] = []  # index of the sentence before, in the same source
        for s in sources:
            for k, (a, b) in enumerate(sentence_spans(s.chunk.text)):
                previous.append(len(candidates) - 1 if k else None)
                candidates.append((s, a, b))
        if not candidates or not question.strip():
            return []
        texts = [s.chunk.text[a:b] for s, a, b in candidates]
        # "It is 330 m tall." means little alone: a sentence that opens with a referring word scores the
        # mean of itself and of itself read with the sentence before (a cheap stand-in for coreference).
        windows = {
            i: f"{texts[p]} {texts[i]}"
            for i, p in enumerate(previous)
            if p is not None and _opens_with_reference(texts[i])
        }
        vectors = unit_rows(np.asarray(self.embedder.embed([question, *texts, *windows.values()]), dtype=np.float32))
        cosine = vectors[1:] @ vectors[0]
        words = content_words(question)
        scores = [support_score(float(cosine[i]), overlap(words, content_words(t))) for i, t in enumerate(texts)]
        for k, (i, window) in enumerate(windows.items()):
            in_context = support_score(float(cosine[len(texts) + k]), overlap(words, content_words(window)))
            scores[i] = (scores[i] + in_context) / 2
        order = sorted(range(len(candidates)), key=lambda i: (-scores[i], i))
        best = scores[order[0]]
        if best < self.floor:
            return []
        chosen: list[int] = []
        seen: set[str] = set()
        n_words = 0
        for i in order:
            if len(chosen) >= self.max_sentences or scores[i] < max(self.floor, self.relative * best):
                break
            key = " ".join(texts[i].lower().split())
            length = len(texts[i].split())
            if key in seen or (chosen and n_words + length > self.max_words):
                continue
            chosen.append(i)
            seen.add(key)
            n_words += length
            p = previous[i]
            if p is not None and i in windows and p not in chosen:
                # Keep the antecedent so the quoted sentence still says what "it" is.
                extra = len(texts[p].split())
                if len(chosen) < self.max_sentences and n_words + extra <= self.max_words:
                    chosen.append(p)
                    seen.add(" ".join(texts[p].lower().split()))
                    n_words += extra
        chosen.sort(key=lambda i: (candidates[i][0].number, candidates[i][1]))
        return [(*candidates[i], scores[i]) for i in chosen]

    def generate(self, question: str, sources: Sequence[Source], history: Sequence[HistoryItem] | None = None) -> str:
        chosen = self.select(question, sources)
        if not chosen:
            return REFUSAL
        return " ".join(_with_marker(" ".join(s.chunk.text[a:b].split()), s.number) for s, a, b, _ in chosen)

    def stream(
        self, question: str, sources: Sequence[Source], history: Sequence[HistoryItem] | None = None
    ) -> Iterator[str]:
        text = self.generate(question, sources, history)
        yield from re.findall(r"\S+\s*", text)


_OPENER_TEXT = "it its they their them this these that those he she his her such there"
_REFERRING_OPENERS = frozenset(_OPENER_TEXT.split())


def _opens_with_reference(sentence: str) -> bool:
    first = re.match(r"\W*(\w+)", sentence)
    return bool(first) and first.group(1).lower() in _REFERRING_OPENERS


def _with_marker(sentence: str, number: int) -> str:
    """'Paris is big.' -> 'Paris is big [1].' (the marker stays inside the sentence it supports)."""
    if sentence and sentence[-1] in ".!?。":
        return f"{sentence[:-1]} [{number}]{sentence[-1]}"
    return f"{sentence} [{number}]"


def make_generator(settings: Settings, embedder: Embedder, chat_factory: ChatModels) -> Generator:
    """The LLM when one is configured (OPENAI_API_KEY or OPENAI_BASE_URL), else extractive answers."""
    return OpenAIGenerator(settings, chat_factory) if settings.llm_enabled else ExtractiveGenerator(embedder)


# ----------------------------------------------------------------------------------- follow-ups

_PRONOUN_TEXT = (
    "it its it's they them their theirs that this those these he she him her his one ones there former latter same"
)
_PRONOUNS = frozenset(_PRONOUN_TEXT.split())
_LEADS = ("and ", "but ", "also ", "then ", "so ", "what about", "how about", "or ", "and?", "what else")
_KO_REFERENTS = ("그것", "이것", "저것", "그거", "이거", "저거", "그건", "이건", "거기", "그곳", "그분", "그들")
_KO_WORDS = frozenset(("그", "이", "저", "그럼", "그러면", "그리고", "그래서", "또", "또는", "그건", "그게", "이게"))
SHORT_QUESTION_WORDS = 2
CONTEXT_WORDS = 12


def _is_follow_up(question: str) -> bool:
    q = question.strip().lower()
    tokens = re.findall(r"[\w']+", q)
    if len(content_words(q)) <= SHORT_QUESTION_WORDS:
        return True
    if q.startswith(_LEADS) or q.rstrip("?!. ").endswith(("...", "…")) or "..." in q or "…" in q:
        return True
    if any(t in _PRONOUNS for t in tokens):
        return True
    return any(t in _KO_WORDS or t.startswith(_KO_REFERENTS) for t in tokens)


def _offline_rewrite(question: str, previous: str | None) -> str:
    if previous is None or not _is_follow_up(question):
        return question
    present = content_words(question)
    context: list[str] = []
    for word in re.findall(r"[\w'-]+", previous):
        folded = content_words(word)
        if folded and not folded & present and word.lower() not in (w.lower() for w in context):
            context.append(word)
    if not context:
        return question
    return f"{' '.join(context[:CONTEXT_WORDS])}: {question}"


def condense_offline(question: str, history: Sequence[HistoryItem] | None) -> str:
    """The offline follow-up rule (see `condense_question`)."""
    standalone: str | None = None
    for message in normalise_history(history):
        if message["role"] == "user":
            standalone = _offline_rewrite(message["content"].strip(), standalone)
    return _offline_rewrite(question.strip(), standalone)


def condense_question(question: str, history: Sequence[HistoryItem] | None, generator: Generator | None = None) -> str:
    """Turn a follow-up question into one that retrieval can answer on its own.

    No history: the question is returned unchanged. With an LLM generator (anything with a
    `complete(messages, temperature)` method), the CONDENSE prompt asks it, at temperature 0, to rewrite
    the follow-up; if that call fails or returns nothing, the offline rule is used instead (the answer
    call will surface a persistent server error anyway).

    Offline rule: a question counts as a follow-up when it has at most two content words, contains a
    referring word (it, its, they, them, their, that, this, those, these, he, she, one, there, ...;
    Korean 그것, 이것, 그거, 그건, 거기, 그, 이, 그럼, 그러면, ...), starts with "and", "but", "also",
    "what about" or "how about", or contains an ellipsis. A follow-up gets the content words of the
    previous user question (itself made standalone by the same rule, so chains of follow-ups keep their
    topic) that it does not already contain, prepended as "<words>: <question>". Other questions pass
    through unchanged.
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
