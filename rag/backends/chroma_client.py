"""Opening the Chroma database: embedded on disk, or a `chroma run` server over HTTP (used by chroma_store.py).

Server mode is where things go wrong at a distance (server down, wrong port, wrong token, a server that
stalls), so every failure surfaces as one StoreUnavailable that names host:port and what to check.

The embedded store is checked before Chroma touches it (`check_index_folder`): a read-only folder, a
0-byte, truncated or non-SQLite `chroma.sqlite3`, or vector folders without their database are refused
with a StoreBroken that says what to do. Chroma would otherwise fail with a traceback ("attempt to write
a readonly database") or, worse, silently create a new empty database over a 0-byte one and leave the
old vector folders abandoned beside it. Errors Chroma raises later (a page found corrupt mid-query) are
turned into the same kind of sentence by `describe_store_error`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from rag.core.errors import StoreBroken, StoreUnavailable

DATABASE = "chroma.sqlite3"
_SQLITE_HEADER = b"SQLite format 3\x00"
_UUID_DIR = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_RESTORE = (
    "restore the index folder from a backup, or move it aside and run `docqa ingest PATH...` to build a new "
    "index from your files"
)


def make_client(settings):
    """Embedded PersistentClient by default; HttpClient when DOCQA_CHROMA_HOST is set.

    Server mode probes the server first with a bounded timeout (chromadb's own client has none) and turns
    every later connection failure into StoreUnavailable naming host:port, so callers print one line.
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_host:
        where = f"{settings.chroma_host}:{settings.chroma_port}"
        headers = {}
        if settings.chroma_auth_token is not None:
            headers["Authorization"] = f"Bearer {settings.chroma_auth_token.get_secret_value()}"
        _probe_server(settings, headers, where)
        try:
            client = chromadb.HttpClient(
                host=settings.chroma_host,
                port=settings.chroma_port,
                ssl=settings.chroma_ssl,
                headers=headers or None,
                settings=chroma_settings,
            )
        except Exception as exc:  # chromadb raises several types for an unreachable server
            raise StoreUnavailable(f"cannot reach the Chroma server at {where}: {exc}") from None
        _guard_session(client, settings.chroma_timeout_s, where)
        return client
    path = settings.resolved_chroma_path
    check_index_folder(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        raise describe_store_error(exc, path) from None


def _writable(path: Path) -> bool:
    """os.access also reports a read-only file system (EROFS), even for root."""
    return os.access(path, os.W_OK | os.X_OK)


def check_index_folder(path: Path) -> None:
    """Refuse an embedded index folder Chroma cannot use as it is; read-only: nothing is written here."""
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise StoreBroken(f"the index folder {path} is not a folder; set DOCQA_INDEX_DIR to a folder")
    if not _writable(existing):
        raise StoreBroken(
            f"the index folder {existing} is read-only (docqa writes its database there, even to read it); "
            "make it writable, or set DOCQA_INDEX_DIR to a writable folder"
        )
    if not path.exists():
        return  # a new index: created on first use
    database = path / DATABASE
    vectors = [p.name for p in path.iterdir() if p.is_dir() and _UUID_DIR.match(p.name)]
    if not database.exists():
        if vectors:
            raise StoreBroken(
                f"the index folder {path} holds {len(vectors)} vector folder(s) but no {DATABASE}: the index is "
                f"incomplete; {_RESTORE}"
            )
        return
    if not os.access(database, os.R_OK | os.W_OK):
        raise StoreBroken(f"{database} is read-only; make it writable, or set DOCQA_INDEX_DIR to a writable folder")
    size = database.stat().st_size
    if size == 0:
        raise StoreBroken(f"{database} is empty (0 bytes): the index database was truncated or lost; {_RESTORE}")
    with database.open("rb") as fh:
        header = fh.read(100)
    if not header.startswith(_SQLITE_HEADER):
        raise StoreBroken(f"{database} is not a SQLite database (corrupt or overwritten); {_RESTORE}")
    if len(header) == 100:
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = int.from_bytes(header[28:32], "big")
        valid = header[24:28] == header[92:96]  # the in-header size is trustworthy only then
        if valid and pages and size < pages * page_size:
            raise StoreBroken(
                f"{database} is truncated ({size:,} of {pages * page_size:,} bytes): the index database is "
                f"incomplete; {_RESTORE}"
            )
    else:
        raise StoreBroken(f"{database} is truncated ({size} bytes, not even a header); {_RESTORE}")


# Chroma's messages (from SQLite and its Rust bindings) for a store it cannot use.
_PROBLEMS = (
    (re.compile(r"readonly database|read-only file system|permission denied", re.I), "read-only"),
    (re.compile(r"malformed|not a database|file is encrypted|disk image|corrupt", re.I), "corrupt"),
    (re.compile(r"disk I/O error|unable to open database|no such table", re.I), "unreadable"),
    (re.compile(r"Chroma server at", re.I), "unreachable"),  # our StoreUnavailable, wrapped by chromadb
)


def describe_store_error(exc: BaseException, path: Path | str | None = None) -> StoreUnavailable:
    """The store failure `exc` as one sentence with what to do (StoreBroken for a broken index, the error
    itself when it already is one); anything else becomes a StoreUnavailable naming the original error."""
    return store_problem(exc, path) or StoreUnavailable(
        f"the index at {path} cannot be used: {type(exc).__name__}: {_short(str(exc))}"
    )


def store_problem(exc: BaseException, path: Path | str | None = None) -> StoreUnavailable | None:
    """`exc` as a StoreUnavailable when it is a store problem (read-only, corrupt, unreadable, unreachable),
    else None: the front ends' last guard turns only these into one line, never a bug into silence."""
    if isinstance(exc, StoreUnavailable):
        return exc
    text = str(exc)
    where = f"the index at {path}" if path else "the index"
    for pattern, kind in _PROBLEMS:
        if pattern.search(text):
            if kind == "read-only":
                return StoreBroken(
                    f"{where} is read-only ({_short(text)}); make it writable, or set DOCQA_INDEX_DIR to a "
                    "writable folder"
                )
            if kind == "unreachable":
                return StoreUnavailable(_short(text))
            return StoreBroken(f"{where} is {kind} ({_short(text)}); {_RESTORE}")
    return None


def _short(text: str) -> str:
    return " ".join(text.split())[:200]


def _probe_server(settings, headers: dict[str, str], where: str) -> None:
    """One bounded request that tells 'not running', 'wrong credentials' and 'not Chroma' apart."""
    import httpx

    scheme = "https" if settings.chroma_ssl else "http"
    url = f"{scheme}://{settings.chroma_host}:{settings.chroma_port}/api/v2/auth/identity"
    hint = "is `chroma run` running there? Check DOCQA_CHROMA_HOST, DOCQA_CHROMA_PORT and DOCQA_CHROMA_SSL"
    try:
        response = httpx.get(url, headers=headers, timeout=settings.chroma_timeout_s)
    except httpx.TimeoutException:
        raise StoreUnavailable(
            f"the Chroma server at {where} did not answer within {settings.chroma_timeout_s:g} s ({hint})"
        ) from None
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        raise StoreUnavailable(f"cannot reach the Chroma server at {where}: {reason} ({hint})") from None
    if response.status_code in (401, 403):
        raise StoreUnavailable(
            f"the Chroma server at {where} refused the credentials (HTTP {response.status_code}); "
            "check DOCQA_CHROMA_AUTH_TOKEN"
        )
    if response.status_code != 200:
        raise StoreUnavailable(f"{where} answered HTTP {response.status_code}: is it a Chroma >= 1.0 server?")


def _guard_session(client, timeout_s: float, where: str) -> None:
    """Bound every request of an HttpClient and report a lost server as StoreUnavailable."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if not isinstance(session, httpx.Client):  # chromadb internals moved: keep its defaults
        return
    session.timeout = httpx.Timeout(timeout_s)
    send = session.request

    def request(*args, **kwargs):
        try:
            return send(*args, **kwargs)
        except httpx.TimeoutException:
            raise StoreUnavailable(f"the Chroma server at {where} did not answer within {timeout_s:g} s") from None
        except httpx.TransportError as exc:
            reason = str(exc) or type(exc).__name__
            raise StoreUnavailable(f"lost the Chroma server at {where}: {reason}") from None

    session.request = request
