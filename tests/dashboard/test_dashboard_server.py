"""The dashboard's HTTP server itself, on 127.0.0.1 in this process: the token handshake,
routing to pages and actions, static files (and nothing outside static/), status codes and
headers, and stopping the background server with its run. The JSON views are in
test_dashboard_api.py."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, cast

import pytest

from evoforge.dashboard.server import (
    COOKIE,
    CSP,
    Site,
    _plain,
    background_dashboard,
    make_server,
    runs_dir_of,
    url_of,
)
from evoforge.governance.rundir import ARCHIVE

from dash_helpers import SCORES, TOKEN, recorded_run

RUN = "r1"
STATIC = resources.files("evoforge.dashboard") / "static"


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Served:
    port: int
    site: Site

    def request(
        self,
        path: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return Reply(resp.status, resp.headers, resp.read())
        finally:
            conn.close()

    def get(self, path: str, **headers: str) -> Reply:
        return self.request(path, headers={"Cookie": f"{COOKIE}={TOKEN}", **headers})


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    runs = tmp_path_factory.mktemp("dash") / "runs"
    recorded_run(runs / RUN, SCORES)
    site = Site(runs, TOKEN)
    server = make_server(site)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield Served(int(server.server_address[1]), site)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_the_server_listens_on_loopback_by_default(tmp_path: Path) -> None:
    server = make_server(Site(tmp_path, TOKEN))
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1" and int(port) > 0
    finally:
        server.server_close()


def test_the_token_url_sets_a_strict_cookie_and_drops_the_token_from_the_address(
    served: Served,
) -> None:
    reply = served.request(f"/run/{RUN}?token={TOKEN}")
    assert reply.status == 303
    assert reply.headers["Location"] == f"/run/{RUN}"
    assert reply.headers["Set-Cookie"] == f"{COOKIE}={TOKEN}; Path=/; SameSite=Strict"
    assert served.request(f"/?token={TOKEN}").headers["Location"] == "/"
    assert served.request("/?token=wrong").status == 401


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Cookie": f"{COOKIE}=wrong"},
        {"X-Evoforge-Token": "wrong"},
        {"Cookie": "other=" + TOKEN},
    ],
)
def test_pages_and_data_need_the_token(served: Served, headers: dict[str, str]) -> None:
    for path in ("/", f"/run/{RUN}", "/api/runs"):
        reply = served.request(path, headers=headers)
        assert reply.status == 401
        assert reply.json() == {
            "ok": False,
            "message": "open the URL with ?token=... printed at start",
        }


@pytest.mark.parametrize(
    ("path", "page"),
    [
        ("/", "runs.html"),
        (f"/run/{RUN}", "run.html"),
        (f"/run/{RUN}/candidate/2", "candidate.html"),
        (f"/run/{RUN}?tab=code", "run.html"),
    ],
)
def test_each_page_address_serves_its_fixed_file(served: Served, path: str, page: str) -> None:
    reply = served.get(path)
    assert reply.status == 200
    assert reply.body == (STATIC / page).read_bytes()
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    assert reply.headers["Content-Length"] == str(len(reply.body))


def test_the_token_header_alone_opens_a_page(served: Served) -> None:
    reply = served.request("/", headers={"X-Evoforge-Token": TOKEN})
    assert reply.status == 200 and reply.body == (STATIC / "runs.html").read_bytes()


def test_every_answer_carries_the_security_headers(served: Served) -> None:
    for reply in (served.get("/"), served.get("/api/runs"), served.request("/"), served.get("/x")):
        assert reply.headers["Content-Security-Policy"] == CSP
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        assert reply.headers["Referrer-Policy"] == "no-referrer"
        assert reply.headers["Cache-Control"] == "no-store"
        assert reply.headers["Server"].startswith("evoforge-dashboard")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/nowhere", "no such page"),
        (f"/run/{RUN}/candidate", "no such page"),
        (f"/run/{RUN}/extra/2/more", "no such page"),
        ("/run/nope", "no run 'nope'"),
        ("/run/.hidden", "no run '.hidden'"),
        ("/run/nope/candidate/2", "no run 'nope'"),
        ("/api/nothing", "no such data"),
        (f"/api/run/{RUN}/secrets", "no such data"),
        ("/api/run/nope/overview", "no run 'nope'"),
    ],
)
def test_unknown_pages_runs_and_data_are_404_with_why(
    served: Served, path: str, message: str
) -> None:
    reply = served.get(path)
    assert reply.status == 404
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.json() == {"ok": False, "message": message}


def test_the_api_is_routed_to_its_views(served: Served) -> None:
    runs = served.get("/api/runs")
    assert runs.status == 200 and [r["name"] for r in runs.json()["runs"]] == [RUN]
    assert served.get(f"/api/run/{RUN}/overview").json()["objective"] == "score"
    points = served.get(f"/api/run/{RUN}/points?since=2").json()
    assert points["id"] == [3, 4]
    assert served.get(f"/api/run/{RUN}/candidate/3").json()["id"] == 3
    assert served.get(f"/api/run/{RUN}/points?since=two").status == 404


@pytest.mark.parametrize(("name", "kind"), [("app.css", "text/css"), ("runs.js", "javascript")])
def test_static_files_are_served_without_the_token_with_their_type(
    served: Served, name: str, kind: str
) -> None:
    reply = served.request(f"/static/{name}")
    assert reply.status == 200
    assert reply.body == (STATIC / name).read_bytes()
    assert (
        kind in reply.headers["Content-Type"] and "charset=utf-8" in reply.headers["Content-Type"]
    )


@pytest.mark.parametrize(
    "path",
    [
        "/static/../server.py",
        "/static/../../../pyproject.toml",
        "/static/..%2fserver.py",
        "/static/%2e%2e/api.py",
        "/static//etc/passwd",
        "/static/sub/app.css",
        "/static/.app.css",
        "/static/server.py",
        "/static/missing.css",
        "/static/",
    ],
)
def test_static_refuses_anything_but_a_file_of_static(served: Served, path: str) -> None:
    reply = served.get(path)
    assert reply.status == 404
    assert reply.json() == {"ok": False, "message": "no such file"}


def test_the_favicon_is_an_empty_answer(served: Served) -> None:
    reply = served.request("/favicon.ico")
    assert (reply.status, reply.body) == (204, b"")


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.2"])
def test_a_foreign_host_header_is_refused_even_with_the_token(served: Served, host: str) -> None:
    reply = served.get("/", Host=host)
    assert reply.status == 403
    assert reply.json()["message"] == "unexpected Host header"
    post = served.request(
        f"/api/run/{RUN}/stop", method="POST", headers={"Host": host, "X-Evoforge-Token": TOKEN}
    )
    assert post.status == 403


@pytest.mark.parametrize("host", ["localhost", "localhost:1234", "127.0.0.1", "[::1]:8765"])
def test_loopback_host_headers_are_accepted(served: Served, host: str) -> None:
    assert served.get("/", Host=host).status == 200


def post(
    served: Served, path: str, fields: dict[str, Any], headers: dict[str, str] | None = None
) -> Reply:
    body = urllib.parse.urlencode(fields).encode()
    kind = {"Content-Type": "application/x-www-form-urlencoded"}
    return served.request(path, method="POST", body=body, headers={**kind, **(headers or {})})


def test_a_form_field_token_authorises_an_action(served: Served) -> None:
    reply = post(served, f"/api/run/{RUN}/stop", {"token": TOKEN, "wait": "0"})
    assert reply.status == 200
    assert reply.json() == {"ok": True, "message": f"run {RUN}: not running"}
    refused = post(served, f"/api/run/{RUN}/stop", {"token": "wrong"})
    assert refused.status == 403
    assert refused.json()["message"] == "this action needs the access token"


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/api/run", 404, "no such action"),
        (f"/api/run/{RUN}", 404, "no such action"),
        (f"/api/run/{RUN}/stop/now", 404, "no such action"),
        (f"/run/{RUN}/stop", 404, "no such action"),
        ("/api/run/nope/stop", 404, "no run 'nope'"),
        ("/api/run/..%2f..%2fetc/stop", 404, "no run '..%2f..%2fetc'"),
        (f"/api/run/{RUN}/dance", 409, "unknown action 'dance'"),
    ],
)
def test_actions_are_routed_by_run_and_name(
    served: Served, path: str, status: int, message: str
) -> None:
    reply = post(served, path, {"candidate": "2", "reason": "why not"}, {"X-Evoforge-Token": TOKEN})
    assert reply.status == status
    assert reply.json() == {"ok": False, "message": message}


def test_a_refused_action_is_a_conflict_with_why(served: Served) -> None:
    headers = {"X-Evoforge-Token": TOKEN}
    no_reason = post(served, f"/api/run/{RUN}/reject", {"candidate": "2"}, headers)
    assert no_reason.status == 409
    assert (
        no_reason.json()["message"] == "reject needs a reason (it is recorded in the audit trail)"
    )
    bad_number = post(
        served, f"/api/run/{RUN}/reject", {"candidate": "two", "reason": "x"}, headers
    )
    assert bad_number.status == 409 and bad_number.json()["ok"] is False


def test_a_json_body_that_is_not_an_object_carries_no_token(served: Served) -> None:
    for body in (b"[1, 2]", b"{not json", json.dumps({"token": TOKEN}).encode()):
        reply = served.request(
            f"/api/run/{RUN}/stop", method="POST", body=body,
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        assert reply.status == (200 if b"token" in body else 403)


def test_json_answers_turn_nan_and_infinity_into_null() -> None:
    value = {"a": float("nan"), "b": [1.5, float("inf")], 3: (float("-inf"), "x")}
    assert _plain(value) == {"a": None, "b": [1.5, None], "3": [None, "x"]}


def test_a_sites_runs_are_folders_with_an_archive(tmp_path: Path) -> None:
    (tmp_path / RUN).mkdir()
    (tmp_path / RUN / ARCHIVE).touch()
    (tmp_path / "empty").mkdir()
    site = Site(tmp_path, TOKEN)
    assert site.run(RUN).path == tmp_path / RUN
    for name in ("empty", "missing", "..", f"../{tmp_path.name}/{RUN}", ".r1", "r 1"):
        with pytest.raises(KeyError):
            site.run(name)


def test_the_runs_shown_are_an_experiments_or_those_beside_a_run(tmp_path: Path) -> None:
    run = tmp_path / "exp" / "runs" / RUN
    run.mkdir(parents=True)
    (run / ARCHIVE).touch()
    assert runs_dir_of(tmp_path / "exp") == tmp_path / "exp" / "runs"
    assert runs_dir_of(run) == tmp_path / "exp" / "runs"


def test_the_url_to_open_carries_the_token(served: Served) -> None:
    class Bound:
        def __init__(self, address: tuple[str, int]) -> None:
            self.server_address = address

    site = served.site
    v4 = url_of(cast(Any, Bound(("127.0.0.1", 8765))), site, "/run/r1")
    assert v4 == f"http://127.0.0.1:8765/run/r1?token={TOKEN}"
    assert url_of(cast(Any, Bound(("::1", 80))), site).startswith("http://[::1]:80/?token=")


def opened_port(printed: str) -> int:
    line = next(line for line in printed.splitlines() if line.startswith("dashboard: http"))
    return int(urllib.parse.urlsplit(line.split()[1]).port or 0)


def test_the_background_dashboard_serves_during_the_block_and_stops_after(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded_run(tmp_path / "exp" / "runs" / RUN, SCORES)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = int(taken.getsockname()[1])
        with background_dashboard(tmp_path / "exp", enabled=True, port=busy):
            port = opened_port(capsys.readouterr().out)
            assert port not in (0, busy)
            served = Served(port, Site(tmp_path / "exp" / "runs", ""))
            assert served.request("/static/app.css").status == 200
            assert served.request("/").status == 401
    assert "dashboard: stopped with the run" in capsys.readouterr().out
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_a_disabled_background_dashboard_serves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with background_dashboard(tmp_path, enabled=False):
        assert capsys.readouterr().out == ""
    assert capsys.readouterr().out == ""
