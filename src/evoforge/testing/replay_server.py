"""A fake OpenAI-compatible chat server that replays scripted answers, for tests.

It binds 127.0.0.1 on a free port, answers each ``POST .../chat/completions``
with the next item of its script (then with ``default``), and records every
request, and the status of every answer it sent (``served``). An item is a
:class:`Reply` (content, HTTP status, delay, a slow body, headers, a raw body, an
error object), a plain string (the answer's content), or a function of the
:class:`RecordedRequest` returning either. ``GET .../models`` lists ``models``.

    with ReplayServer(["<<<<<<< SEARCH\\nA = 1\\n=======\\nA = 2\\n>>>>>>> REPLACE\\n"]) as server:
        base_url = server.url  # "http://127.0.0.1:PORT/v1"

With ``api_key`` set, a request without ``Authorization: Bearer <api_key>`` gets
401 as from the real API. Delayed answers wake up when the server closes, so a
test that ends early does not wait for them.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_TRICKLE_BYTES = 16


@dataclass(frozen=True)
class Reply:
    content: str | None = ""
    status: int = 200
    delay: float = 0.0
    """Seconds to wait before answering (longer than the client's timeout: a timeout)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    raw: str | None = None
    """A body sent as it is, instead of a chat completion or an error object."""
    error: str | None = None
    """Send an error object with this message instead of a completion (with ``status``:
    some servers answer 200 with one)."""
    trickle: float = 0.0
    """Seconds between pieces of 16 bytes of the body: an answer so slow that only a
    deadline on the whole request ends it (no single read waits long)."""
    usage: tuple[int, int] | None = None
    """(prompt_tokens, completion_tokens); default: estimated at 4 characters a token."""
    finish_reason: str = "stop"


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    body: Mapping[str, Any]
    authorization: str
    at: float

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def prompt(self) -> str:
        """The contents of every message, joined."""
        return "\n".join(str(m.get("content", "")) for m in self.body.get("messages", []))


Script = Reply | str | Callable[[RecordedRequest], "Reply | str"]


class ReplayServer:
    """A scripted chat completions server on 127.0.0.1 (thread per request)."""

    def __init__(
        self,
        script: Iterable[Script] = (),
        *,
        default: Script | None = None,
        api_key: str | None = None,
        models: Iterable[str] = ("replay",),
    ) -> None:
        self.default = default
        self.api_key = api_key
        self.models = tuple(models)
        self.requests: list[RecordedRequest] = []
        self.served: list[int] = []
        """The HTTP status of each answer the server began to send, in order (answers
        still delayed when it closed are not in it)."""
        self._script: deque[Script] = deque(script)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ---------------------------------------------------------------------
    def start(self) -> ReplayServer:
        handler = type("Handler", (_Handler,), {"replay": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The base URL to configure: ``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- script -------------------------------------------------------------------------
    def push(self, *items: Script) -> None:
        with self._lock:
            self._script.extend(items)

    def _next(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            item = self._script.popleft() if self._script else self.default
        if item is None:
            return Reply(status=500, raw=_error("the replay script is exhausted", "server_error"))
        if callable(item):
            item = item(request)
        return Reply(content=item) if isinstance(item, str) else item

    def _wait(self, seconds: float) -> bool:
        """Sleep; False when the server closed meanwhile."""
        return not self._closing.wait(seconds) if seconds > 0 else not self._closing.is_set()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that gave up (timeouts) close their sockets: not worth a traceback."""


class _Handler(BaseHTTPRequestHandler):
    replay: ReplayServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``ReplayServer.requests`` instead."""

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            data = {
                "object": "list",
                "data": [{"id": m, "object": "model"} for m in self.replay.models],
            }
            self._send(200, json.dumps(data), {})
        else:
            self._send(404, _error(f"no route {self.path}", "not_found"), {})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, _error(f"no route {self.path}", "not_found"), {})
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._send(400, _error("body is not JSON", "invalid_request_error"), {})
            return
        auth = self.headers.get("Authorization", "")
        request = RecordedRequest(self.path, body, auth, time.time())
        replay = self.replay
        if replay.api_key is not None and auth != f"Bearer {replay.api_key}":
            with replay._lock:
                replay.requests.append(request)
                replay.served.append(401)
            self._send(401, _error("Incorrect API key provided", "invalid_api_key"), {})
            return
        reply = replay._next(request)
        if not replay._wait(reply.delay):
            return
        if reply.raw is not None:
            text = reply.raw
        elif reply.error is not None:
            text = _error(reply.error, "server_error")
        elif reply.status >= 400:
            text = _error(f"scripted HTTP {reply.status}", "server_error")
        else:
            text = json.dumps(_completion(request, reply))
        with replay._lock:
            replay.served.append(reply.status)
        self._send(reply.status, text, reply.headers, trickle=reply.trickle)

    def _send(
        self, status: int, text: str, headers: Mapping[str, str], *, trickle: float = 0.0
    ) -> None:
        data = text.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            if trickle <= 0:
                self.wfile.write(data)
                return
            for start in range(0, len(data), _TRICKLE_BYTES):
                self.wfile.write(data[start : start + _TRICKLE_BYTES])
                self.wfile.flush()
                if not self.replay._wait(trickle):
                    break
        except OSError:
            self.close_connection = True  # the client went away (e.g. it timed out)


def _completion(request: RecordedRequest, reply: Reply) -> dict[str, Any]:
    content = reply.content
    prompt_tokens, completion_tokens = reply.usage or (
        max(1, len(request.prompt) // 4),
        max(1, len(content or "") // 4),
    )
    return {
        "id": f"replay-{int(request.at * 1000)}",
        "object": "chat.completion",
        "created": int(request.at),
        "model": request.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _error(message: str, code: str) -> str:
    return json.dumps({"error": {"message": message, "type": code, "code": code}})
