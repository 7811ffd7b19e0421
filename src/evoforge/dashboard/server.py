"""The dashboard's HTTP server: the standard library's ThreadingHTTPServer, no dependency.

Access: one random token per server, printed at start inside the URL to open.
Opening that URL once stores the token in a SameSite=Strict cookie, so pages and
their data requests carry it; every request, read or write, must carry the token,
because run data holds candidate code and held-out figures that no other local
user or web page should read (on a shared machine, loopback is not private).
Requests that change anything (POST) must also carry it in the ``X-Evoforge-Token``
header or a ``token`` form field — a cookie alone is never enough, so another
site cannot make the browser act (CSRF). Tokens are compared with
``hmac.compare_digest``. The Host header must name this server (no DNS rebinding).
Pages are fixed files: candidate text reaches the browser only as JSON and is put
into the page as text, never as markup, under ``Content-Security-Policy:
default-src 'self'``.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import math
import mimetypes
import re
import secrets
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from evoforge.dashboard import api
from evoforge.governance.control import ControlError, decide, stop
from evoforge.governance.rundir import ARCHIVE, RUNS, RunDir
from evoforge.stream.store import DB as STREAM_DB
from evoforge.stream.store import STREAM_DIR

COOKIE = "evoforge_token"
HEADER = "X-Evoforge-Token"
CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
PAGES = {"/": "runs.html", "/run": "run.html", "/candidate": "candidate.html",
         "/stream": "stream.html"}  # fmt: skip
_NAME = re.compile(r"^[\w.-]+$")


@dataclass(frozen=True)
class Site:
    """What one server shows: the runs under ``runs_dir`` (and the stream of their
    experiment, ``EXPERIMENT/stream``, where it has one) and who may act on them."""

    runs_dir: Path
    token: str

    def run(self, name: str) -> RunDir:
        if not _NAME.match(name) or name.startswith("."):
            raise KeyError(f"no run {name!r}")
        path = self.runs_dir / name
        if not (path / ARCHIVE).is_file():
            raise KeyError(f"no run {name!r}")
        return RunDir(path)

    def stream(self) -> Path:
        """The stream folder of the experiment whose runs these are; KeyError if none."""
        folder = self.runs_dir.parent / STREAM_DIR
        if not (folder / STREAM_DB).is_file():
            raise KeyError("no stream in this experiment")
        return folder


def runs_dir_of(target: Path) -> Path:
    """The folder of runs to show: an experiment's ``runs/``, the folder holding a run,
    or, for a stream folder, its experiment's ``runs/``."""
    if (target / ARCHIVE).is_file():
        return target.parent
    if (target / STREAM_DB).is_file():
        return target.parent / RUNS
    return target / RUNS


def make_server(site: Site, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    handler = type("Handler", (_Handler,), {"site": site})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def url_of(server: ThreadingHTTPServer, site: Site, path: str = "/") -> str:
    host, port = str(server.server_address[0]), int(server.server_address[1])
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{path}?token={site.token}"


def serve(target: RunDir | Path, *, host: str = "127.0.0.1", port: int = 8765,
          token: str | None = None) -> None:  # fmt: skip
    """Serve until interrupted; prints the URL (with the token) to open."""
    path = target.path if isinstance(target, RunDir) else target
    site = Site(runs_dir_of(path), token or secrets.token_urlsafe(24))
    server = make_server(site, host, port)
    start = f"/run/{path.name}" if isinstance(target, RunDir) else "/"
    if (path / STREAM_DB).is_file():
        start = "/stream"
    print(f"dashboard: {url_of(server, site, start)}", flush=True)
    print(f"token: {site.token}", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: bound to {host}: reachable from other machines", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@contextlib.contextmanager
def background_dashboard(experiment: Path, *, enabled: bool, port: int = 8765) -> Iterator[None]:
    """While the block runs, serve the experiment's runs from a thread of this process."""
    if not enabled:
        yield
        return
    site = Site(runs_dir_of(experiment.resolve()), secrets.token_urlsafe(24))
    try:
        server = make_server(site, "127.0.0.1", port)
    except OSError:  # the usual port is taken (another dashboard): take any free one
        server = make_server(site, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, name="dashboard", daemon=True)
    thread.start()
    print(f"dashboard: {url_of(server, site)}", flush=True)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        print("dashboard: stopped with the run (view it again: evoforge dashboard RUN)")


class _Handler(BaseHTTPRequestHandler):
    site: Site
    server_version = "evoforge-dashboard"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        del format, args  # quiet: the terminal belongs to the run's progress display

    # -- dispatch ---------------------------------------------------------------------
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if not self._host_ok():
            return self._error(HTTPStatus.FORBIDDEN, "unexpected Host header")
        given = parse_qs(url.query).get("token", [""])[0]
        if given and _same(given, self.site.token):
            # Remember the token, then drop it from the address bar and history.
            self.send_response(HTTPStatus.SEE_OTHER)
            self.send_header("Location", url.path or "/")
            self.send_header("Set-Cookie", f"{COOKIE}={self.site.token}; Path=/; SameSite=Strict")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if url.path == "/favicon.ico":
            return self._send(b"", "image/x-icon", HTTPStatus.NO_CONTENT)
        if url.path.startswith("/static/"):
            return self._static(url.path.removeprefix("/static/"))
        if not self._authorised(allow_cookie=True):
            return self._error(
                HTTPStatus.UNAUTHORIZED, "open the URL with ?token=... printed at start"
            )
        parts = [p for p in url.path.split("/") if p]
        query = parse_qs(url.query)
        try:
            if not parts:
                return self._static("runs.html")
            if parts[0] == "run" and len(parts) == 2:
                self.site.run(parts[1])
                return self._static("run.html")
            if parts[0] == "run" and len(parts) == 4 and parts[2] == "candidate":
                self.site.run(parts[1])
                return self._static("candidate.html")
            if parts == ["stream"]:
                self.site.stream()
                return self._static("stream.html")
            if parts[0] == "api":
                return self._json(self._api_get(parts[1:], query))
        except (KeyError, ValueError) as exc:
            return self._error(HTTPStatus.NOT_FOUND, str(exc.args[0] if exc.args else exc))
        return self._error(HTTPStatus.NOT_FOUND, "no such page")

    def do_POST(self) -> None:
        if not self._host_ok():
            return self._error(HTTPStatus.FORBIDDEN, "unexpected Host header")
        body = self._body()
        if not (
            self._authorised(allow_cookie=False)
            or _same(str(body.get("token", "")), self.site.token)
        ):
            return self._error(HTTPStatus.FORBIDDEN, "this action needs the access token")
        parts = [p for p in urlsplit(self.path).path.split("/") if p]
        if len(parts) != 4 or parts[:2] != ["api", "run"]:
            return self._error(HTTPStatus.NOT_FOUND, "no such action")
        try:
            run = self.site.run(parts[2])
        except KeyError as exc:
            return self._error(HTTPStatus.NOT_FOUND, str(exc.args[0]))
        action = parts[3]
        who = str(body.get("who") or "dashboard").strip()[:100]
        try:
            if action == "stop":
                message = f"run {run.name}: {stop(run, wait=float(body.get('wait', 10)))}"
            else:
                message = decide(
                    run, action, int(body.get("candidate", 0)),
                    who=who, reason=str(body.get("reason", ""))[:2000],
                )  # fmt: skip
        except (ControlError, ValueError) as exc:
            return self._json({"ok": False, "message": str(exc)}, HTTPStatus.CONFLICT)
        return self._json({"ok": True, "message": message})

    # -- data ------------------------------------------------------------------------
    def _api_get(self, parts: list[str], query: dict[str, list[str]]) -> Any:
        if parts == ["runs"]:
            stream = self.site.runs_dir.parent / STREAM_DIR
            return {"runs": api.list_runs(self.site.runs_dir), "stream": api.stream_brief(stream)}
        if parts == ["stream"]:
            return api.stream(self.site.stream())
        if len(parts) >= 3 and parts[0] == "run":
            run = self.site.run(parts[1])
            views: dict[str, Callable[[], Any]] = {
                "overview": lambda: api.overview(run),
                "points": lambda: api.points(run, since=int(query.get("since", ["0"])[0])),
                "importances": lambda: api.importances(run),
            }
            if len(parts) == 3 and parts[2] in views:
                return views[parts[2]]()
            if len(parts) == 4 and parts[2] == "candidate":
                return api.candidate(run, int(parts[3]))
        raise KeyError("no such data")

    # -- plumbing --------------------------------------------------------------------
    def _authorised(self, *, allow_cookie: bool) -> bool:
        if _same(self.headers.get(HEADER, ""), self.site.token):
            return True
        if not allow_cookie:
            return False
        cookie = SimpleCookie(self.headers.get("Cookie", ""))
        return COOKIE in cookie and _same(cookie[COOKIE].value, self.site.token)

    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
        address = self.server.server_address
        bound = str(address[0]) if isinstance(address, tuple) else ""
        return host in {"127.0.0.1", "localhost", "::1", bound}

    def _body(self) -> dict[str, Any]:
        length = min(int(self.headers.get("Content-Length") or 0), 64_000)
        raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        if (self.headers.get("Content-Type") or "").startswith("application/json"):
            try:
                data = json.loads(raw or "{}")
            except json.JSONDecodeError:
                return {}
            return data if isinstance(data, dict) else {}
        return {k: v[0] for k, v in parse_qs(raw).items()}

    def _static(self, name: str) -> None:
        if not re.fullmatch(r"[\w-]+\.(html|js|css|svg)", name):
            return self._error(HTTPStatus.NOT_FOUND, "no such file")
        item = resources.files("evoforge.dashboard") / "static" / name
        if not item.is_file():
            return self._error(HTTPStatus.NOT_FOUND, "no such file")
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        self._send(item.read_bytes(), f"{kind}; charset=utf-8", HTTPStatus.OK)

    def _json(self, value: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
        body = json.dumps(_plain(value), allow_nan=False, separators=(",", ":")).encode()
        self._send(body, "application/json", status)

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._json({"ok": False, "message": message}, status)

    def _send(self, body: bytes, kind: str, status: HTTPStatus) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


def _same(given: str, token: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


def _plain(value: Any) -> Any:
    """JSON without NaN or infinity (browsers reject them): such numbers become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
