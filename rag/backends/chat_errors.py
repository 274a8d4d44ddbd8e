"""Every language-model failure, turned into one line a user can act on.

The openai client raises a dozen exception types (and wraps transport errors from its HTTP library);
users should see neither them nor a stack trace, and never the API key, which some servers echo back in
their error text. Both the answer generator and the LLM judge map errors through `describe_error`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

from rag.core.errors import GenerationError
from rag.core.settings import Settings


def _safe_url(url: str | None) -> str:
    """The server URL without credentials or query string, fit for an error message."""
    if not url:
        return "the OpenAI API"
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", "")) or "the configured server"


def _detail(exc: Exception, secrets: Sequence[str]) -> str:
    """The server's own error text, one line, short, with any secret removed."""
    body = getattr(exc, "body", None)
    text = ""
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        text = str(inner.get("message", "")) if isinstance(inner, Mapping) else str(inner)
    text = text or str(getattr(exc, "message", "") or "")
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    text = re.sub(r"\b(sk-[A-Za-z0-9_\-]{4})[A-Za-z0-9_\-]+", r"\1***", text)  # key-shaped strings
    text = " ".join(text.split())
    return text[:200] + ("…" if len(text) > 200 else "")


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes (the client wraps transport errors in its own types)."""
    out: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in out and len(out) < 10:
        out.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return out


def _named(chain: Sequence[BaseException], *names: str) -> bool:
    # By class name: the openai client has shipped both `httpx` and a vendored `httpx2` transport.
    return any(any(n in type(e).__name__ for n in names) for e in chain)


def describe_error(exc: BaseException, settings: Settings) -> GenerationError:
    """Map an openai/transport exception to a GenerationError with advice that names the setting to check."""
    import openai

    if isinstance(exc, GenerationError):
        return exc
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    where = _safe_url(settings.openai_base_url)
    model = settings.llm_model
    chain = _chain(exc)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        detail = _detail(exc, [key])
        suffix = f" Server said: {detail}" if detail else ""
        if status == 401:
            msg, kind = f"The language model server rejected the API key (401). Check OPENAI_API_KEY.{suffix}", "auth"
        elif status == 403:
            msg, kind = (
                f"The language model server refused access to model '{model}' (403). "
                f"Check OPENAI_API_KEY's permissions and DOCQA_LLM_MODEL.{suffix}",
                "permission",
            )
        elif status == 404:
            msg, kind = (
                f"The language model server at {where} does not know model '{model}' (404). "
                f"Check DOCQA_LLM_MODEL and OPENAI_BASE_URL (it usually ends in /v1).{suffix}",
                "not_found",
            )
        elif status == 429:
            msg, kind = (
                f"The language model server is rate limiting requests or the quota is used up (429). "
                f"Wait a moment and try again.{suffix}",
                "rate_limit",
            )
        elif status >= 500:
            msg, kind = f"The language model server failed (HTTP {status}). Try again later.{suffix}", "server"
        else:
            msg, kind = f"The language model server rejected the request (HTTP {status}).{suffix}", "bad_request"
        return GenerationError(msg, kind, status)
    if (
        isinstance(exc, openai.APITimeoutError)
        or _named(chain, "Timeout")
        or any(isinstance(e, TimeoutError) for e in chain)
    ):
        return GenerationError(
            f"The language model server at {where} did not answer within {settings.llm_timeout_s:g} s. "
            "Try again, or raise DOCQA_LLM_TIMEOUT_S.",
            "timeout",
        )
    transport = isinstance(exc, openai.APIConnectionError) or _named(
        chain, "ConnectError", "ProtocolError", "ReadError", "WriteError", "NetworkError", "TransportError"
    )
    if transport or any(isinstance(e, ConnectionError) for e in chain):
        if _named(chain, "ConnectError") or any(isinstance(e, ConnectionRefusedError) for e in chain):
            return GenerationError(
                f"Could not connect to the language model server at {where} (connection refused). "
                "Check that it is running and that OPENAI_BASE_URL is right.",
                "connection",
            )
        return GenerationError(
            f"The connection to the language model server at {where} was closed before the answer was complete. "
            "Try again; if it persists, check the server's logs.",
            "connection",
        )
    if isinstance(exc, openai.OpenAIError):
        detail = _detail(exc, [key])
        return GenerationError(f"The language model request failed: {detail or type(exc).__name__}.", "unknown")
    return GenerationError(f"The language model request failed unexpectedly ({type(exc).__name__}).", "unknown")
