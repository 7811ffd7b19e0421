"""The dashboard's JSON views and its access rules, against a finished tiny run."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from evoforge.archive import SQLiteArchive
from evoforge.dashboard import api
from evoforge.rundir import RunDir

from dash_helpers import TOKEN, cli, start_server, stop_process, summary, write_experiment


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RunDir:
    exp = write_experiment(
        tmp_path_factory.mktemp("dash") / "exp",
        candidates=12,
        promotion='approval = "manual"\nreruns = 0',
    )
    return RunDir(Path(summary(cli("run", str(exp)).stdout)["run"]))


def test_points_are_compact_arrays_and_since_returns_only_newer(run: RunDir) -> None:
    full = api.points(run)
    with SQLiteArchive(run.archive, readonly=True) as archive:
        size = archive.size()
    assert full["id"] == list(range(1, size + 1))
    assert full["stable"] == size  # the run is finished
    assert len(full["score"]) == len(full["status"]) == size and full["parent"][0] == 0
    assert full["score"][0] == 0.5 and full["heldout"][0] == 0.5
    later = api.points(run, since=5)
    assert later["id"] == list(range(6, size + 1))


def test_overview_has_counts_champion_approvals_and_verified_audit(run: RunDir) -> None:
    ov = api.overview(run)
    assert ov["state"] == "finished" and ov["objective"] == "score"
    assert ov["counts"]["succeeded"] + ov["counts"]["failed"] == 12
    assert ov["champion"]["id"] == 1
    assert any(a["state"] == "pending" for a in ov["approvals"])
    assert ov["audit"]["ok"] and ov["audit"]["entries"][0]["event"] == "run_start"
    assert api.list_runs(run.path.parent)[0]["name"] == run.name


def test_candidate_view_has_code_and_diffs(run: RunDir) -> None:
    pending = api.overview(run)["approvals"][0]["candidate"]
    c = api.candidate(run, pending)
    assert "QUALITY" in c["code"]["program.py"]
    assert c["diff_seed"].startswith("---") and c["diff_parent"]
    with pytest.raises(KeyError):
        api.candidate(run, 10_000)


def _request(
    url: str, *, data: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    body = None if data is None else json.dumps(data).encode()
    req = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def test_server_refuses_requests_without_the_token_and_decides_with_it(run: RunDir) -> None:
    proc, base = start_server(run.path)
    try:
        assert _request(f"{base}/api/runs")[0] == 401
        status, data = _request(f"{base}/api/runs", headers={"X-Evoforge-Token": TOKEN})
        assert status == 200 and data["runs"][0]["name"] == run.name
        cand = api.overview(run)["approvals"][0]["candidate"]
        action = f"{base}/api/run/{run.name}/reject"
        body = {"candidate": cand, "reason": "not convinced"}
        assert _request(action, data=body)[0] == 403
        assert _request(action, data=body, headers={"X-Evoforge-Token": "wrong"})[0] == 403
        # a cookie alone does not authorise a change (cross-site requests carry cookies)
        assert _request(action, data=body, headers={"Cookie": f"evoforge_token={TOKEN}"})[0] == 403
        assert (
            _request(
                action, data=body, headers={"X-Evoforge-Token": TOKEN, "Host": "evil.example"}
            )[0]
            == 403
        )
        status, data = _request(action, data=body, headers={"X-Evoforge-Token": TOKEN})
        assert status == 200 and "rejected" in data["message"], data
        status, data = _request(action, data=body, headers={"X-Evoforge-Token": TOKEN})
        assert status == 409 and "not waiting" in data["message"]
        with SQLiteArchive(run.archive, readonly=True) as archive:
            assert archive.approvals(states=["rejected"])[0].reason == "not convinced"
        assert (
            _request(f"{base}/api/run/..%2f..%2fetc/overview", headers={"X-Evoforge-Token": TOKEN})[
                0
            ]
            == 404
        )
    finally:
        stop_process(proc)
