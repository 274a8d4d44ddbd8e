"""A real HTTP server on loopback that speaks the OpenAI chat-completions protocol.

Only the model's words are scripted: requests travel through the real openai / langchain-openai client
stack (HTTP, JSON, SSE streaming, retries, status codes). Tests queue replies and read back what was
sent, e.g. to check that a prompt kept a poisoned passage inside its delimited source block.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted reply: text content, or an HTTP error, or a tool call, or a dropped connection."""

    content: str = ""
    status: int = 200
    error_message: str = "scripted error"
    tool_call: dict | None = None  # {"name": ..., "arguments": {...}} -> returned as a tool call
    delay_s: float = 0.0
    close_connection: bool = False
    # Streaming only: the last word waits until this event is set (or hold_timeout_s passes), so a test can
    # see what a client shows while the answer is still being written, with no timing assumption.
    hold_last: threading.Event | None = None
    hold_timeout_s: float = 120.0


@dataclass
class ScriptedOpenAI:
    """Queue of replies; when empty, `default` (a function of the request body) answers."""

    replies: deque = field(default_factory=deque)
    requests: list[dict] = field(default_factory=list)
    default: Callable[[dict], Reply] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def push(self, *replies: Reply | str) -> None:
        with self.lock:
            for r in replies:
                self.replies.append(Reply(content=r) if isinstance(r, str) else r)

    def next_reply(self, body: dict) -> Reply:
        with self.lock:
            self.requests.append(body)
            if self.replies:
                return self.replies.popleft()
        if self.default is not None:
            return self.default(body)
        return Reply(content="I cannot answer that from the sources.")

    def reset(self) -> None:
        with self.lock:
            self.replies.clear()
            self.requests.clear()
            self.default = None


def _completion(body: dict, reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    finish = "stop"
    if reply.tool_call is not None:
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {
                        "name": reply.tool_call["name"],
                        "arguments": json.dumps(reply.tool_call["arguments"]),
                    },
                }
            ],
        }
        finish = "tool_calls"
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "test-model"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


def _make_handler(script: ScriptedOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def _json(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # /v1/models, for clients that probe
            self._json(200, {"object": "list", "data": [{"id": "test-model", "object": "model"}]})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            body["_headers"] = {k.lower(): v for k, v in self.headers.items()}
            reply = script.next_reply(body)
            if reply.delay_s:
                time.sleep(reply.delay_s)
            if reply.close_connection:
                self.close_connection = True
                self.connection.close()
                return
            if reply.status != 200:
                self._json(
                    reply.status,
                    {"error": {"message": reply.error_message, "type": "test_error", "code": reply.status}},
                )
                return
            if not body.get("stream"):
                self._json(200, _completion(body, reply))
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            words = reply.content.split(" ")
            for i, word in enumerate(words):
                piece = word if i == 0 else " " + word
                if reply.hold_last is not None and i == len(words) - 1:
                    reply.hold_last.wait(reply.hold_timeout_s)
                chunk = {
                    "id": "chatcmpl-test",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": body.get("model", "test-model"),
                    "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
                }
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
            end = {
                "id": "chatcmpl-test",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": body.get("model", "test-model"),
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            }
            self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
            self.wfile.flush()

    return Handler


class OpenAIServer:
    """Context manager: `with OpenAIServer() as srv: srv.base_url, srv.script.push(...)`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.script = ScriptedOpenAI()
        self._httpd = ThreadingHTTPServer((host, port), _make_handler(self.script))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
