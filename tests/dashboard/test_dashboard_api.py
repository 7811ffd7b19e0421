"""The dashboard's JSON views and its access rules, against a finished tiny run."""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from evoforge.archive import ApprovalState, SQLiteArchive
from evoforge.dashboard import api
from evoforge.governance.audit import AuditLog
from evoforge.governance.run_audit import Audit
from evoforge.governance.rundir import RunDir

from dash_helpers import (
    TOKEN,
    cli,
    declines_run,
    recorded_run,
    start_server,
    stop_process,
    summary,
    write_experiment,
)


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
            assert archive.approvals(states=[ApprovalState.REJECTED])[0].reason == "not convinced"
        assert (
            _request(f"{base}/api/run/..%2f..%2fetc/overview", headers={"X-Evoforge-Token": TOKEN})[
                0
            ]
            == 404
        )
    finally:
        stop_process(proc)


@pytest.fixture
def recorded(tmp_path: Path) -> RunDir:
    return declines_run(tmp_path / "run")


def test_the_best_line_is_the_champion_not_the_best_declined_evaluation(recorded: RunDir) -> None:
    line = api.overview(recorded)["champion_line"]
    assert [(m["id"], m["action"], m["score"], m["heldout"]) for m in line] == [
        (1, "seed", 0.5, 0.5),
        (3, "promote", 0.6, 0.6),
    ]
    assert line[0]["t"] <= line[1]["t"]


def test_a_run_whose_challengers_were_all_declined_keeps_a_flat_champion_line(
    tmp_path: Path,
) -> None:
    # No gain can reach min_gain: every challenger is declined, the seed stays champion.
    exp = write_experiment(tmp_path / "exp", candidates=10,
                           promotion='approval = "auto"\nreruns = 0\nmin_gain = 10')  # fmt: skip
    run = RunDir(Path(summary(cli("run", str(exp)).stdout)["run"]))
    ov, pts = api.overview(run), api.points(run)
    assert [m["id"] for m in ov["champion_line"]] == [1]
    assert ov["champion_line"][0]["score"] == 0.5
    assert max(s for s in pts["score"] if s is not None) > 0.5  # the raw best did rise
    declined = [a for a in ov["approvals"] if a["state"] == "declined"]
    assert declined
    for a in declined:  # the gain that fell short, in the promoter's words or from its figures
        assert f"gain {a['evidence']['gain']:.4g} over" in a["why"] and "10" in a["why"]


def test_declined_approvals_carry_the_promoters_real_reason(recorded: RunDir) -> None:
    why = {a["candidate"]: a["why"] for a in api.overview(recorded)["approvals"]}
    assert why[2] == "held-out check failed: gain heldout -0.2"
    assert why[4].startswith("gain 0.01 over champion #3 not above the noise threshold 0.05")
    assert why[3] == ""  # promoted automatically: no person's reason
    assert api.candidate(recorded, 2)["approval"]["why"] == why[2]


def test_every_declared_hidden_metric_is_served_with_its_kind(tmp_path: Path) -> None:
    run = recorded_run(tmp_path / "run", [(0.5, {"acc": 0.9, "f1": 0.8, "auc": 0.7})],
                       task={"heldout": ["acc", "f1"], "gate": ["auc"]})  # fmt: skip
    ov = api.overview(run)
    kinds = [("acc", "held-out"), ("f1", "held-out"), ("auc", "gate")]
    assert [(m["name"], m["kind"]) for m in ov["hidden_metrics"]] == kinds
    assert ov["champion"]["hidden"] == {"acc": 0.9, "f1": 0.8, "auc": 0.7}
    pts = api.points(run)
    assert pts["hidden_metrics"] == ["acc", "f1", "auc"] and pts["hidden"] == [[0.9, 0.8, 0.7]]
    assert api.list_runs(tmp_path)[0]["champion"]["hidden"]["auc"] == 0.7
    served = api.candidate(run, 1)["hidden_metrics"]
    assert [m["kind"] for m in served] == ["held-out", "held-out", "gate"]


def test_elapsed_while_running_counts_earlier_sessions_and_this_one(recorded: RunDir) -> None:
    with SQLiteArchive(recorded.archive) as archive:
        archive.set_meta("elapsed_s", 120.0)  # saved by the sessions before this one
        archive.set_meta("session_started_at", time.time() - 30)
    recorded.pid_file.write_text(str(os.getpid()))  # a live driver: this test's process
    ov = api.overview(recorded)
    assert ov["state"] == "running"
    assert ov["elapsed_s"] == pytest.approx(150.0, abs=5)
    recorded.pid_file.unlink()
    assert api.overview(recorded)["elapsed_s"] == 120.0  # not running: what was saved


def test_the_overview_tells_a_crashed_driver_and_verifies_the_log_as_the_cli_does(
    run: RunDir, tmp_path: Path
) -> None:
    copy = RunDir(tmp_path / run.name)
    shutil.copytree(run.path, copy.path)
    with SQLiteArchive(copy.archive) as archive:
        archive.set_meta("state", "running")  # what a driver killed with kill -9 leaves
        archive.set_meta("driver_pid", 999999)
        head = archive.get_meta("audit_head")
        # A crash between the two writes of an entry: the line is there, the head not yet.
        Audit(AuditLog(copy.audit), archive).append("flags", candidate=2, flags=["jump"])
        archive.set_meta("audit_head", head)
    view = api.overview(copy)
    assert view["state"].startswith("crashed (driver 999999 is gone; resume with: ")
    assert view["audit"]["ok"], view["audit"]["problems"]
    assert cli("audit", "verify", str(copy.path)).returncode == 0
