"""Errors every layer may raise or catch: each carries a one-line, user-facing message.

They live in the core so that front ends can catch a store or model failure without importing the
backend that raised it.
"""

from __future__ import annotations


class ModelNotAvailable(RuntimeError):
    """The embedding model cannot be found locally (and nothing may be downloaded)."""


class BackendError(RuntimeError):
    """The ONNX backend cannot be used for this model (the caller falls back to torch)."""


class StoreUnavailable(RuntimeError):
    """The store cannot be used: the Chroma server cannot be reached (server mode), or the index folder is
    read-only, corrupt, truncated or incomplete (StoreBroken). Front ends print the message and exit 2."""


class StoreBroken(StoreUnavailable):
    """The index on disk cannot be opened as it is; the message says what is wrong and what to do, and
    nothing was changed (a broken database is refused, never replaced by an empty one)."""


class FingerprintMismatch(RuntimeError):
    """The collection was built with another embedder or chunker parameters."""


class GenerationError(RuntimeError):
    """A generation failure with a one-line, user-facing message (no key, no traceback).

    `kind` is one of auth, permission, not_found, rate_limit, server, timeout, connection,
    bad_request, config, unknown; `status` is the HTTP status when there was one.
    """

    def __init__(self, message: str, kind: str = "unknown", status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
