"""A real `chroma run` server on loopback and a bearer-token proxy in front of it, for the server-mode tests.

chromadb 1.5's server (Rust) has no authentication of its own, so the token path is tested through the
proxy, which is also how a real deployment adds auth.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

CHROMA = Path(sys.executable).parent / "chroma"
START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChromaServer:
    """`chroma run` on loopback; start() waits for its heartbeat, stop() terminates it (then kills)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.host, self.port = "127.0.0.1", free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> ChromaServer:
        log = open(self.folder / "server.log", "wb")  # noqa: SIM115 - kept open for the server's lifetime
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        cmd = [str(CHROMA), "run", "--path", str(self.folder / "db"), "--host", self.host, "--port", str(self.port)]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.proc.returncode}: {self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://{self.host}:{self.port}/api/v2/heartbeat", timeout=1.0).status_code == 200:
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"chroma run did not answer within {START_TIMEOUT_S:g} s: {self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log_tail(self) -> str:
        return (self.folder / "server.log").read_text(errors="replace")[-2000:]


class AuthProxy:
    """A loopback reverse proxy in front of the Chroma server that demands `Authorization: Bearer TOKEN`."""

    def __init__(self, upstream_port: int, token: str) -> None:
        self.token, self.upstream_port = token, upstream_port
        self.seen: list[str | None] = []
        self._sockets: list[socket.socket] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def setup(self) -> None:
                super().setup()
                proxy._sockets.append(self.connection)

            def _reply(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                auth = self.headers.get("Authorization")
                proxy.seen.append(auth)
                if auth != f"Bearer {proxy.token}":
                    message = b'{"error":"Unauthorized","message":"missing or wrong bearer token"}'
                    self._reply(401, message, [("Content-Type", "application/json")])
                    return
                skip = ("host", "authorization", "connection", "content-length")
                headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    self._reply(response.status, response.read(), response.getheaders())
                finally:
                    upstream.close()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop accepting and cut open keep-alive connections (the server is gone)."""
        self.server.shutdown()
        self.server.server_close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
