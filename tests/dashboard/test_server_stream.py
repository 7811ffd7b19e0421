"""The dashboard's stream view: the experiment's stream (``EXPERIMENT/stream``) is found
beside its runs, its page and its data are served under the token like a run's, the
data holds the status rows and the series of the chart, and the page draws that chart
(in headless Chromium: a mark for each trigger, round, promotion and rollback)."""

from __future__ import annotations

import contextlib
import http.client
import json
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from evoforge.dashboard import api
from evoforge.dashboard.server import COOKIE, Site, make_server, runs_dir_of

# The stream fixture of tests/stream (the test folders are not packages).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stream"))
from test_view import PRODUCTION, recorded_stream

from dash_helpers import SCORES, TOKEN, chromium, recorded_run, wait_for

STATIC = resources.files("evoforge.dashboard") / "static"


@dataclass
class Served:
    port: int

    def get(self, path: str, *, token: bool = True) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path, headers={"Cookie": f"{COOKIE}={TOKEN}"} if token else {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def json(self, path: str) -> Any:
        status, body = self.get(path)
        assert status == 200, body
        return json.loads(body)


@contextlib.contextmanager
def serving(runs_dir: Path) -> Iterator[Served]:
    """The dashboard of ``runs_dir`` on a free loopback port, from a thread of this test."""
    server = make_server(Site(runs_dir, TOKEN))
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield Served(int(server.server_address[1]))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def experiment(tmp_path: Path) -> Path:
    exp = tmp_path / "exp"
    recorded_stream(exp / "stream")
    recorded_run(exp / "runs" / "r1", SCORES)
    return exp


def test_the_stream_data_holds_its_rows_and_its_series(experiment: Path) -> None:
    with serving(runs_dir_of(experiment)) as served:
        assert served.get("/api/stream", token=False)[0] == 401
        view = served.json("/api/stream")
    assert view["name"] == "exp" and view["path"] == str(experiment / "stream")
    rows = dict(view["rows"])
    assert rows["batches"] == "12" and rows["production_accuracy_last_5"] == "0.79 (5 batches)"
    assert rows["state"].startswith("crashed (watcher ")  # recorded "watching", watcher gone
    s = view["series"]
    assert s["seq"] == list(range(1, 13)) and s["metrics"]["champion"] == PRODUCTION
    assert s["roles"] == ["champion", "shadow", "predecessor"]
    assert [t["seq"] for t in s["triggers"]] == [4, 9, 11]
    assert [(r["trigger_seq"], r["ended_seq"]) for r in s["rounds"]] == [(4, 7), (9, 10), (11, None)]  # fmt: skip
    assert [p["seq"] for p in s["promotions"]] == [7]
    assert [b["seq"] for b in s["rollbacks"]] == [10]


def test_the_runs_listing_names_the_stream_and_its_page_is_served(experiment: Path) -> None:
    with serving(runs_dir_of(experiment)) as served:
        listing = served.json("/api/runs")
        page = served.get("/stream")
        unauthorised = served.get("/stream", token=False)
        script = served.get("/static/stream.js", token=False)
    assert [r["name"] for r in listing["runs"]] == ["r1"]
    brief = listing["stream"]
    assert brief["path"] == str(experiment / "stream") and brief["batches"] == 12
    assert brief["pending_approvals"] == 1 and brief["champion"].startswith("#3 ")
    assert page == (200, (STATIC / "stream.html").read_bytes())
    assert unauthorised[0] == 401
    assert script == (200, (STATIC / "stream.js").read_bytes())


def test_an_experiment_without_a_stream_has_none(tmp_path: Path) -> None:
    recorded_run(tmp_path / "exp" / "runs" / "r1", SCORES)
    with serving(tmp_path / "exp" / "runs") as served:
        assert served.json("/api/runs")["stream"] is None
        for path in ("/stream", "/api/stream"):
            status, body = served.get(path)
            assert status == 404
            assert json.loads(body) == {"ok": False, "message": "no stream in this experiment"}


def test_an_unreadable_stream_archive_leaves_the_runs_listing_working(tmp_path: Path) -> None:
    folder = tmp_path / "exp" / "stream"
    folder.mkdir(parents=True)
    (folder / "stream.sqlite").write_bytes(b"not a database, " * 100)
    brief = api.stream_brief(folder)
    assert brief is not None and brief["state"].startswith("unreadable: ")
    assert api.stream_brief(tmp_path) is None


def test_a_stream_folder_shows_its_experiments_runs(experiment: Path) -> None:
    assert runs_dir_of(experiment / "stream") == experiment / "runs"
    assert runs_dir_of(experiment) == experiment / "runs"
    assert Site(runs_dir_of(experiment / "stream"), TOKEN).stream() == experiment / "stream"


@pytest.mark.browser
def test_the_stream_page_draws_the_chart(experiment: Path) -> None:
    with serving(runs_dir_of(experiment)) as served:
        browser = chromium()
        try:
            browser.get(f"http://127.0.0.1:{served.port}/stream?token={TOKEN}")
            wait_for(
                lambda: browser.execute_script("return document.body.dataset.ready"),
                timeout=20,
                what="the stream page",
            )
            count = "return document.querySelectorAll(arguments[0]).length"
            marks = {
                sel: browser.execute_script(count, sel)
                for sel in ("#stream-chart line.trigger", "#stream-chart rect.round",
                            "#stream-chart g.promotion", "#stream-chart g.rollback",
                            "#stream-chart path.failure", "#stream-chart g.series")
            }  # fmt: skip
            seqs = browser.execute_script(
                "return [...document.querySelectorAll('#stream-chart line.trigger')]"
                ".map((n) => Number(n.dataset.seq))"
            )
            state = browser.find_element("id", "state").text
            status = browser.find_element("id", "status").text
            errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        finally:
            browser.quit()
    assert list(marks.values()) == [3, 3, 1, 1, 1, 3]
    assert seqs == [4, 9, 11]
    assert state.startswith("crashed")
    assert "production_accuracy_last_5" in status and "0.79 (5 batches)" in status
    assert not errors, errors
