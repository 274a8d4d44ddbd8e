"""Where docqa's log records go: one handler on the root logger, set up in one function.

Front ends (the `docqa` command, the web server) call `setup_logging` once; library code only ever calls
`logging.getLogger(__name__)`, so the Python API installs no handler behind its caller's back. The handler
is rich in a terminal and plain timestamped lines otherwise (CI logs, `docker logs`), and it carries a
filter that scrubs secrets: a question or an error message may contain an API key the user pasted.

Levels: DOCQA_LOG_LEVEL (default INFO) applies to docqa's own loggers, so one-time work users should
know about (the first-run ONNX export, a fallback to torch, Chroma recovery, index rebuilds) is visible;
`-v` lowers it to DEBUG (questions, timings); `-vv` also lets other libraries' DEBUG records through.
Other libraries stay at WARNING otherwise.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import IO

from rich.console import Console
from rich.logging import RichHandler

from rag.core.settings import load_settings
from rag.safety.filters import configured_secrets
from rag.safety.redact import scrub_secrets

DOCQA_LOGGERS = ("rag", "ingest", "ui")
HANDLER_NAME = "docqa"
PLAIN_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class RedactSecrets(logging.Filter):
    """Replace configured secrets and credential-shaped strings in a record's message and traceback."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            record.msg, record.args = scrub_secrets(record.getMessage(), self.secrets), ()
            if record.exc_info:
                text = record.exc_text or logging.Formatter().formatException(record.exc_info)
                record.exc_text = scrub_secrets(text, self.secrets)
                record.exc_info = None  # formatters would format the live exception again, unscrubbed
        except Exception:  # a log call must never fail because of the filter
            pass
        return True


def resolve_level(level: str | int, verbose: int = 0) -> int:
    """DOCQA_LOG_LEVEL (a name or number) lowered to DEBUG by any -v."""
    if verbose > 0:
        return logging.DEBUG
    if isinstance(level, int):
        return level
    name = level.strip().upper()
    if name not in LEVELS:
        raise ValueError(f"unknown log level {level!r}; choose from {', '.join(LEVELS)}")
    return getattr(logging, name)


def setup_logging(
    level: str | int = "INFO",
    *,
    verbose: int = 0,
    secrets: Iterable[str] = (),
    stream: IO[str] | None = None,
    console: Console | None = None,
    rich: bool | None = None,
) -> logging.Handler:
    """Install (or replace) docqa's one handler on the root logger and set the levels.

    `stream`: where plain lines go (default stderr); `console`: the rich console to share with progress
    bars; `rich`: force the format (default: rich when the stream is a terminal). Calling it again
    replaces the handler, so tests and a second command in one process do not print each record twice."""
    threshold = resolve_level(level, verbose)
    stream = stream or sys.stderr
    if rich is None:
        rich = bool(getattr(stream, "isatty", lambda: False)())
    if rich:
        handler: logging.Handler = RichHandler(
            console=console or Console(stderr=stream is sys.stderr, file=None if stream is sys.stderr else stream),
            show_path=False,
            rich_tracebacks=False,
            markup=False,
        )
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    else:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter(PLAIN_FORMAT))
    handler.set_name(HANDLER_NAME)
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose > 1 else logging.WARNING)
    for name in DOCQA_LOGGERS:
        logging.getLogger(name).setLevel(threshold)
    logging.captureWarnings(True)
    return handler


def setup_from_settings(verbose: int = 0, console: Console | None = None) -> logging.Handler:
    """For a front end: the level (DOCQA_LOG_LEVEL) and the secrets to redact (API key, Chroma token, UI
    passwords) from the settings. Invalid settings are the command's to report (exit 2): logging then
    starts at INFO with the credential-shaped rules only."""
    try:
        settings = load_settings()
    except ValueError:
        settings = None
    return setup_logging(
        settings.log_level if settings else "INFO",
        verbose=verbose,
        secrets=configured_secrets(settings) if settings else (),
        console=console,
        rich=console.is_terminal if console is not None else None,
    )
