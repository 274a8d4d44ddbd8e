"""The `LoadError` family: every way a file can fail to load, each with a one-line reason for users.

Its own module so that format modules, the registry and both sides of the loader sandbox share one set of
classes without importing any reader library. The sandbox worker sends an error across the process
boundary as (class name, message) and the parent rebuilds it with `error_type`, so a class defined
anywhere else would arrive as a plain `LoadError`: new failure kinds belong here.
"""

from __future__ import annotations


class LoadError(Exception):
    """A file that cannot be loaded; `str(exc)` is the one-line reason shown to users."""

    def __init__(self, reason: str) -> None:
        super().__init__(one_line(reason))


class UnsupportedFileType(LoadError):
    """The file name's extension is not one docqa reads."""


class WrongContent(LoadError):
    """The content does not match the extension: a `.pdf` without a PDF header, a binary `.txt`."""


class EncryptedDocument(LoadError):
    """The content is encrypted: a password, DRM, or an HWP "distribution" (read-only) document."""


class EncryptedPdf(EncryptedDocument):
    """The PDF needs a password."""


class CorruptFile(LoadError):
    """The file is damaged or truncated, or the reader could not parse it."""


class EmptyDocument(LoadError):
    """Zero bytes, or no extractable text at all (e.g. a scanned PDF without a text layer)."""


class TooLarge(LoadError):
    """Over the byte or page limit."""


_BY_NAME: dict[str, type[LoadError]] = {
    cls.__name__: cls
    for cls in (
        LoadError,
        UnsupportedFileType,
        WrongContent,
        EncryptedDocument,
        EncryptedPdf,
        CorruptFile,
        EmptyDocument,
        TooLarge,
    )
}


def error_type(name: object) -> type[LoadError]:
    """The class a worker named in its reply; anything unknown (the worker is untrusted) is a `LoadError`."""
    return _BY_NAME.get(str(name), LoadError)


def one_line(text: str, limit: int = 240) -> str:
    """Whitespace collapsed and cut at `limit`: reasons land in table cells and one-line logs."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reason(exc: BaseException) -> str:
    """'ValueError: message' for an unexpected exception from a reader library (the class tells most)."""
    message = one_line(str(exc), 160)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
