"""The one place that builds a chat model: the generator, the LLM judge and follow-up condensing share it.

Any OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp) through langchain-openai. Callers get a
langchain_core chat model and know this adapter only through the `ChatModels` protocol, so the openai
client's exception types stay here too (`describe_error`, `rejects_tools`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.backends.chat_errors import describe_error
from rag.core.errors import GenerationError
from rag.core.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

LOCAL_SERVER_KEY = "not-needed"  # local servers (Ollama, vLLM, llama.cpp) ignore the key but need one


class OpenAIChat:
    """Chat models from an OpenAI-compatible server (rag.core.protocols.ChatModels)."""

    name = "openai"

    def __call__(
        self,
        settings: Settings,
        *,
        model: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
    ) -> BaseChatModel:
        """A chat model for these settings; the keyword arguments override them (the judge's own model,
        temperature 0 and seed). Construction is cheap and opens no connection."""
        from langchain_openai import ChatOpenAI  # ~1 s of imports: paid only when a model is configured

        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else LOCAL_SERVER_KEY
        extra = {} if seed is None else {"seed": seed}
        return ChatOpenAI(
            model=model or settings.llm_model,
            api_key=key,
            base_url=settings.openai_base_url,
            temperature=settings.temperature if temperature is None else temperature,
            max_tokens=settings.max_tokens if max_tokens is None else max_tokens,
            timeout=settings.llm_timeout_s,
            max_retries=settings.llm_retries,
            **extra,
        )

    def describe_error(self, exc: BaseException, settings: Settings) -> GenerationError:
        """One user-facing line for a failed call, naming the setting to check (never the key)."""
        return describe_error(exc, settings)

    def rejects_tools(self, exc: BaseException) -> bool:
        """The server refused a tool-calling request (the judge then asks for plain JSON)."""
        from openai import BadRequestError

        return isinstance(exc, BadRequestError)
