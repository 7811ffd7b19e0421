"""A person's controls of a run: approve, reject, rollback, requests to a running driver, decide."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evoforge.archive import Approval, ApprovalState, Archive, MemoryArchive, SQLiteArchive
from evoforge.candidate import Candidate, Status
from evoforge.config import load_config
from evoforge.governance.audit import AuditLog
from evoforge.governance.control import (
    ControlError,
    answer,
    apply,
    approve,
    best_promotable,
    decide,
    reject,
    rollback,
    stop,
    submit_request,
    take_requests,
)
from evoforge.governance.run_audit import Audit
from evoforge.governance.rundir import RunDir

from gov_helpers import body, by_quality, run_script, write_experiment

MANUAL = 'approval = "manual"\nreruns = 2'
SEED, BETTER, WORSE = 1, 2, 3


@pytest.fixture
def snapshot(minimal_experiment: Path) -> dict[str, Any]:
    """The config snapshot of a run in manual mode without re-runs, as the session stores it."""
    data: dict[str, Any] = load_config(minimal_experiment).model_dump(mode="json")
    data["promotion"].update(approval="manual", reruns=0)
    return data


def _fill(archive: Archive, snapshot: dict[str, Any], folder: Path) -> Audit:
    """The seed as champion, and two challengers waiting: one better, one worse."""
    archive.set_meta("config", snapshot)
    for score in (-1.0, -0.5, -2.0):
        code = archive.put_code({"program.py": f"X = {score}\n"})
        cand = Candidate(id=0, code_hash=code, status=Status.SUCCEEDED, metrics={"neg_mse": score})
        archive.add(cand)
    archive.move_champion(SEED, action="seed", reason="the seed")
    for cid in (BETTER, WORSE):
        archive.put_approval(Approval(cid, ApprovalState.PENDING, {"champion": SEED}, 100.0 + cid))
    return Audit(AuditLog(folder / "audit.jsonl"), archive)


@pytest.fixture
def audit(snapshot: dict[str, Any], tmp_path: Path) -> Audit:
    return _fill(MemoryArchive(), snapshot, tmp_path)


def _state(archive: Archive, cid: int) -> Approval:
    return next(a for a in archive.approvals() if a.candidate_id == cid)


def _events(audit: Audit) -> list[str]:
    return [e.event for e in audit.log.entries()]


def test_approve_promotes_a_pending_challenger_that_still_beats_the_champion(audit: Audit) -> None:
    archive = audit.archive
    message = approve(archive, audit, BETTER, who="ana", reason="checked the diff")
    assert message == (
        f"candidate #{BETTER} approved and promoted to champion (gain 0.5 over #{SEED}, re-checked)"
    )
    assert archive.champion().id == BETTER  # type: ignore[union-attr]
    record = _state(archive, BETTER)
    assert (record.state, record.who, record.reason) == (
        ApprovalState.APPROVED, "ana", "checked the diff"
    )  # fmt: skip
    assert record.evidence["gain"] == 0.5 and record.decided_at is not None
    assert _events(audit) == ["approval", "promotion"]
    assert audit.verify().ok


def test_approve_refuses_a_challenger_that_does_not_beat_the_champion_now(audit: Audit) -> None:
    with pytest.raises(ControlError, match=rf"^#{WORSE} was not promoted: gain -1 over #{SEED}"):
        approve(audit.archive, audit, WORSE, who="ana", reason="looks fine")
    assert audit.archive.champion().id == SEED  # type: ignore[union-attr]
    assert _state(audit.archive, WORSE).state == ApprovalState.PENDING
    (refused,) = audit.log.entries()
    assert refused.event == "approval_refused" and refused.data["evidence"]["gain"] == -1.0


def test_only_a_pending_request_can_be_approved_or_rejected(audit: Audit) -> None:
    archive = audit.archive
    with pytest.raises(ControlError, match=rf"^#{SEED} is not waiting for approval$"):
        approve(archive, audit, SEED, who="ana", reason="r")
    reject(archive, audit, BETTER, who="ana", reason="r")
    with pytest.raises(ControlError, match=r"is not waiting for approval \(it is rejected\)"):
        approve(archive, audit, BETTER, who="ana", reason="r")
    with pytest.raises(ControlError, match="not waiting"):
        reject(archive, audit, BETTER, who="ana", reason="r")


def test_approve_cannot_recheck_without_the_runs_config_snapshot(tmp_path: Path) -> None:
    archive = MemoryArchive()
    code = archive.put_code({"p.py": ""})
    archive.add(Candidate(id=0, code_hash=code, status=Status.SUCCEEDED, metrics={"s": 1.0}))
    archive.put_approval(Approval(1, ApprovalState.PENDING, {}, 1.0))
    audit = Audit(AuditLog(tmp_path / "audit.jsonl"), archive)
    with pytest.raises(ControlError, match="holds no config snapshot"):
        approve(archive, audit, 1, who="ana", reason="r")


def test_reject_closes_the_request_keeps_its_evidence_and_the_champion(audit: Audit) -> None:
    archive = audit.archive
    message = reject(archive, audit, BETTER, who="bo", reason="looks like gaming")
    assert message == f"candidate #{BETTER} rejected; the champion is unchanged"
    record = _state(archive, BETTER)
    assert (record.state, record.who, record.reason) == (
        ApprovalState.REJECTED, "bo", "looks like gaming"
    )  # fmt: skip
    assert record.evidence == {"champion": SEED} and record.requested_at == 100.0 + BETTER
    assert archive.champion().id == SEED  # type: ignore[union-attr]
    (entry,) = audit.log.entries()
    assert (entry.event, entry.data["candidate"], entry.data["who"]) == ("rejection", BETTER, "bo")


def test_rollback_moves_back_to_a_former_champion_only(audit: Audit) -> None:
    archive = audit.archive
    with pytest.raises(ControlError, match=rf"#{SEED} is already the champion"):
        rollback(archive, audit, SEED, who="bo", reason="r")
    approve(archive, audit, BETTER, who="ana", reason="r")
    with pytest.raises(ControlError, match=rf"#{WORSE} was never champion"):
        rollback(archive, audit, WORSE, who="bo", reason="r")
    message = rollback(archive, audit, SEED, who="bo", reason="regression in prod")
    assert message == f"champion rolled back from #{BETTER} to #{SEED}"
    history = archive.champion_history()
    assert [(m.candidate_id, m.action) for m in history] == [
        (SEED, "seed"), (BETTER, "promote"), (SEED, "rollback")
    ]  # fmt: skip
    assert history[-1].reason == "bo: regression in prod"
    last = audit.log.entries()[-1]
    assert last.event == "rollback" and dict(last.data) == {
        "candidate": SEED, "previous": BETTER, "who": "bo", "reason": "regression in prod"
    }  # fmt: skip


def test_the_best_promotable_challenger_is_chosen_and_the_others_are_named_when_none_is(
    audit: Audit,
) -> None:
    archive = audit.archive
    assert best_promotable(archive, audit) == BETTER
    reject(archive, audit, BETTER, who="ana", reason="r")
    with pytest.raises(ControlError, match=rf"can be promoted now: #{WORSE}: gain -1 over #1"):
        best_promotable(archive, audit)
    reject(archive, audit, WORSE, who="ana", reason="r")
    with pytest.raises(ControlError, match="no promotion is waiting for approval"):
        best_promotable(archive, audit)


def test_apply_carries_out_a_request_and_refuses_a_malformed_one(audit: Audit) -> None:
    archive = audit.archive
    base = {"who": "ana", "reason": "r"}
    with pytest.raises(ControlError, match="unknown action 'promote'"):
        apply(archive, audit, {**base, "action": "promote", "candidate": BETTER})
    with pytest.raises(ControlError, match="best applies to approve only"):
        apply(archive, audit, {**base, "action": "reject", "candidate": 0, "best": True})
    with pytest.raises(ControlError, match="no candidate #99"):
        apply(archive, audit, {**base, "action": "reject", "candidate": 99})
    assert "rejected" in apply(archive, audit, {**base, "action": "reject", "candidate": "3"})
    best = apply(archive, audit, {**base, "action": "approve", "candidate": 0, "best": True})
    assert best.startswith(f"candidate #{BETTER} approved and promoted")
    assert _events(audit) == ["rejection", "approval", "promotion"]


def test_a_submitted_request_is_taken_whole_in_the_order_sent(tmp_path: Path) -> None:
    first = submit_request(tmp_path, "reject", 2, who="ana", reason="no")
    second = submit_request(tmp_path, "approve", 0, who="bo", reason="best", best=True)
    (tmp_path / "requests" / "garbage.json").write_text("{not json")
    taken = take_requests(tmp_path)
    assert [path for path, _ in taken] == [first, second]
    assert {k: v for k, v in taken[0][1].items() if k != "at"} == {
        "action": "reject", "candidate": 2, "who": "ana", "reason": "no"
    }  # fmt: skip
    assert taken[1][1]["best"] is True and "best" not in taken[0][1]
    assert not list((tmp_path / "requests").glob(".*.tmp"))


def test_there_are_no_requests_before_the_first_is_sent(tmp_path: Path) -> None:
    assert take_requests(tmp_path) == []


def test_an_answer_replaces_the_request_and_is_read_back_by_the_sender(tmp_path: Path) -> None:
    path = submit_request(tmp_path, "reject", 2, who="ana", reason="no")
    answer(path, "candidate #2 rejected", ok=True)
    assert not path.exists() and take_requests(tmp_path) == []
    reply = json.loads(path.with_suffix(".done").read_text())
    assert reply == {"ok": True, "message": "candidate #2 rejected"}


@pytest.fixture
def run(snapshot: dict[str, Any], tmp_path: Path) -> RunDir:
    """A run folder whose archive and audit log are filled as by :func:`_fill`."""
    folder = tmp_path / "run"
    folder.mkdir()
    with SQLiteArchive(folder / "archive.sqlite") as archive:
        _fill(archive, snapshot, folder)
    return RunDir(folder)


def test_decide_without_a_driver_applies_the_decision_to_the_archive_itself(run: RunDir) -> None:
    assert decide(run, "reject", WORSE, who="ana", reason="gaming") == (
        f"candidate #{WORSE} rejected; the champion is unchanged"
    )
    out = decide(run, "approve", 0, who="ana", reason="the best", best=True)
    assert out.startswith(f"candidate #{BETTER} approved and promoted")
    with SQLiteArchive(run.archive, readonly=True) as archive:
        assert archive.champion().id == BETTER  # type: ignore[union-attr]
        assert _state(archive, WORSE).state == ApprovalState.REJECTED
        audit = Audit(AuditLog(run.audit), archive)
        assert _events(audit) == ["rejection", "approval", "promotion"]
        assert audit.verify().ok
    assert not (run.path / "requests").exists()


def test_decide_needs_a_reason_and_a_known_action(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    with pytest.raises(ControlError, match="approve needs a reason"):
        decide(run, "approve", 2, who="ana", reason="  ")
    with pytest.raises(ControlError, match="unknown action 'promote'"):
        decide(run, "promote", 2, who="ana", reason="r")


def _driver(run: RunDir, reply: str, *, ok: bool, seen: list[dict[str, Any]]) -> threading.Thread:
    """A stand-in driver that answers the first request it finds."""

    def serve() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for path, request in take_requests(run.path):
                seen.append(request)
                answer(path, reply, ok=ok)
                return
            time.sleep(0.01)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_decide_with_a_running_driver_sends_the_request_and_returns_its_answer(
    run: RunDir,
) -> None:
    run.write_driver_pid()
    seen: list[dict[str, Any]] = []
    thread = _driver(run, "candidate #3 rejected; the champion is unchanged", ok=True, seen=seen)
    assert decide(run, "reject", WORSE, who="ana", reason="gaming", wait=10) == (
        "candidate #3 rejected; the champion is unchanged"
    )
    thread.join(timeout=10)
    assert [(r["action"], r["candidate"], r["who"], r["reason"]) for r in seen] == [
        ("reject", WORSE, "ana", "gaming")
    ]
    assert list((run.path / "requests").iterdir()) == []
    with SQLiteArchive(run.archive, readonly=True) as archive:
        assert _state(archive, WORSE).state == ApprovalState.PENDING  # the driver's to apply


def test_a_refusal_from_the_driver_is_a_control_error(run: RunDir) -> None:
    run.write_driver_pid()
    thread = _driver(run, "#3 was not promoted: gain -1", ok=False, seen=[])
    with pytest.raises(ControlError, match=r"^#3 was not promoted: gain -1$"):
        decide(run, "approve", WORSE, who="ana", reason="r", wait=10)
    thread.join(timeout=10)


def test_a_request_the_driver_does_not_answer_waits_in_its_folder(run: RunDir) -> None:
    run.write_driver_pid()
    with pytest.raises(ControlError, match="the driver did not answer; the request waits in"):
        decide(run, "reject", WORSE, who="ana", reason="r", wait=0.2)
    (waiting,) = take_requests(run.path)
    assert waiting[1]["action"] == "reject"


def test_stop_without_a_driver_leaves_no_stop_request_behind(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    assert stop(run) == "not running"
    assert run.stop_requested() is None


@pytest.fixture
def driver_process(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    (tmp_path / "driver.pid").write_text(str(proc.pid))
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def test_stop_ends_a_running_driver_or_asks_it_to_drain(
    tmp_path: Path, driver_process: subprocess.Popen[bytes]
) -> None:
    run = RunDir(tmp_path)
    assert stop(run, drain=True, wait=0.2) == "stopping"
    assert run.stop_requested() == "drain" and driver_process.poll() is None
    assert stop(run, wait=10) == "stopped"
    assert driver_process.wait(timeout=10) == -signal.SIGTERM
    assert run.stop_requested() == "now"


def test_approve_refuses_and_says_why_when_a_rerun_is_missing(tmp_path: Path) -> None:
    exp = write_experiment(tmp_path / "exp", candidates=2, promotion=MANUAL)
    finished, run = run_script(exp, [body(q=0.6)])
    (chal,) = by_quality(finished)
    finished.close()
    with SQLiteArchive(run / "archive.sqlite") as archive:
        # A champion that was never confirmed on the run's re-run seeds (its re-runs gone).
        seed = archive.get(1)
        third = archive.add(Candidate(id=0, code_hash=seed.code_hash, status=Status.SUCCEEDED,
                                      metrics={"score": 0.55}, heldout=dict(seed.heldout)))  # fmt: skip
        archive.move_champion(
            third.id, action="rollback", reason="test: a champion without re-runs"
        )
        audit = Audit(AuditLog(run / "audit.jsonl"), archive)
        with pytest.raises(ControlError, match=rf"re-runs missing.*#{third.id} seed"):
            approve(archive, audit, chal.id, who="ana", reason="r")
        assert archive.champion().id == third.id  # type: ignore[union-attr]
