"""Opening the Chroma database: embedded on disk, or a `chroma run` server over HTTP (used by chroma_store.py).

Server mode is where things go wrong at a distance (server down, wrong port, wrong token, a server that
stalls), so every failure surfaces as one StoreUnavailable that names host:port and what to check.
"""

from __future__ import annotations

from rag.core.errors import StoreUnavailable


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
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


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
