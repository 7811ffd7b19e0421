"""Manual approval, rollback and the audit trail, through the CLI as a person uses it."""

from __future__ import annotations

from pathlib import Path

import pytest

from evoforge.archive import ApprovalState, MemoryArchive, SQLiteArchive
from evoforge.candidate import Status
from evoforge.governance.audit import AuditLog
from evoforge.governance.control import ControlError, decide
from evoforge.governance.rundir import RunDir

from gov_helpers import (
    body,
    by_quality,
    champions,
    cli,
    inline_loop,
    run_script,
    summary,
    write_experiment,
)

PENDING = ApprovalState.PENDING


def test_manual_mode_waits_for_approve_and_rollback_restores(tmp_path: Path) -> None:
    exp = write_experiment(
        tmp_path / "exp", candidates=10, promotion='approval = "manual"\nreruns = 0'
    )
    run = Path(summary(cli("run", str(exp)).stdout)["run"])
    with SQLiteArchive(run / "archive.sqlite", readonly=True) as archive:
        assert [m.candidate_id for m in archive.champion_history()] == [1]  # nothing moved
        pending = [a.candidate_id for a in archive.approvals(states=[PENDING])]
    assert pending, "a better candidate must be waiting for a person"
    status = cli("status", str(run)).stdout
    assert f"approval: #{pending[0]} pending" in status
    cand = str(pending[0])

    refused = cli("approve", str(run), cand, ok=False)
    assert refused.returncode == 2 and "--reason" in refused.stderr
    assert (
        "approved and promoted"
        in cli("approve", str(run), cand, "--reason", "checked the diff", "--who", "ana").stdout
    )
    with SQLiteArchive(run / "archive.sqlite", readonly=True) as archive:
        assert archive.champion().id == pending[0]  # type: ignore[union-attr]
    again = cli("approve", str(run), cand, "--reason", "twice", ok=False)
    assert "not waiting for approval" in again.stderr

    assert (
        "rolled back"
        in cli("rollback", str(run), "1", "--reason", "regression in prod", "--who", "bo").stdout
    )
    with SQLiteArchive(run / "archive.sqlite", readonly=True) as archive:
        assert archive.champion().id == 1  # type: ignore[union-attr]
        assert [m.action for m in archive.champion_history()] == ["seed", "promote", "rollback"]
    never = cli("rollback", str(run), str(pending[-1] + 100), "--reason", "x", ok=False)
    assert never.returncode == 2

    events = {e.event: e.data for e in AuditLog(run / "audit.jsonl").entries()}
    assert events["approval"]["who"] == "ana" and events["approval"]["reason"] == "checked the diff"
    assert events["rollback"]["who"] == "bo" and events["rollback"]["candidate"] == 1
    assert "run_start" in events and "approval_requested" in events
    assert "audit: ok" in cli("audit", "verify", str(run)).stdout


def test_reject_keeps_the_champion(tmp_path: Path) -> None:
    exp = write_experiment(
        tmp_path / "exp", candidates=6, promotion='approval = "manual"\nreruns = 0'
    )
    run = Path(summary(cli("run", str(exp)).stdout)["run"])
    with SQLiteArchive(run / "archive.sqlite", readonly=True) as archive:
        cand = archive.approvals(states=[PENDING])[0].candidate_id
    assert "rejected" in cli("reject", str(run), str(cand), "--reason", "looks like gaming").stdout
    with SQLiteArchive(run / "archive.sqlite", readonly=True) as archive:
        assert archive.champion().id == 1  # type: ignore[union-attr]
        assert archive.approvals(states=[ApprovalState.REJECTED])[0].who


def test_audit_verify_reports_edits_deletions_and_reordering(tmp_path: Path) -> None:
    exp = write_experiment(
        tmp_path / "exp", candidates=6, promotion='approval = "manual"\nreruns = 0'
    )
    run = Path(summary(cli("run", str(exp)).stdout)["run"])
    log = run / "audit.jsonl"
    original = log.read_text().splitlines(keepends=True)
    assert len(original) >= 3

    def verify_with(lines: list[str]) -> str:
        log.write_text("".join(lines))
        proc = cli("audit", "verify", str(run), ok=False)
        assert proc.returncode == 1
        return proc.stdout

    edited = list(original)
    edited[1] = (
        edited[1].replace('"event": "', '"event": "x', 1)
        if '"event": "' in edited[1]
        else edited[1].replace('"event":"', '"event":"x', 1)
    )
    assert "edited" in verify_with(edited)
    assert "missing" in verify_with(original[:1] + original[2:]) or "deleted" in verify_with(
        original[:1] + original[2:]
    )
    swapped = [original[0], original[2], original[1], *original[3:]]
    assert "order" in verify_with(swapped)
    assert "removed from the end" in verify_with(original[:-1])
    log.write_text("".join(original))
    assert "audit: ok" in cli("audit", "verify", str(run)).stdout


MANUAL = 'approval = "manual"\nreruns = 2'


def test_approve_rechecks_against_the_current_champion_and_refuses_a_stale_one(
    tmp_path: Path,
) -> None:
    exp = write_experiment(tmp_path / "exp", candidates=3, promotion=MANUAL, workers=1)
    archive, run = run_script(exp, [body(q=0.6), body(q=0.8)])
    worse, better = (c.id for c in by_quality(archive))
    pending = {a.candidate_id: a.evidence for a in archive.approvals(states=[PENDING])}
    assert set(pending) == {worse, better} and pending[worse]["champion"] == 1
    archive.close()
    assert "approved and promoted" in cli("approve", str(run), str(better), "--reason", "r").stdout

    # The stale request's evidence ("gain over #1") no longer holds against the champion.
    stale = cli("approve", str(run), str(worse), "--reason", "r", ok=False)
    assert stale.returncode == 2
    assert f"#{worse} was not promoted" in stale.stderr and f"#{better}" in stale.stderr
    # the dashboard's buttons go through the same function
    with pytest.raises(ControlError, match=f"re-checked against the current champion #{better}"):
        decide(RunDir(run), "approve", worse, who="dashboard", reason="clicked")
    with SQLiteArchive(run / "archive.sqlite", readonly=True) as reopened:
        assert champions(reopened) == [1, better]
        assert reopened.approvals(states=[PENDING])[0].candidate_id == worse
    refused = [
        e.data for e in AuditLog(run / "audit.jsonl").entries() if e.event == "approval_refused"
    ]
    assert [r["candidate"] for r in refused] == [worse, worse]
    assert refused[0]["evidence"]["champion"] == better and refused[0]["evidence"]["gain"] < 0


def test_manual_mode_confirms_only_challengers_that_beat_every_waiting_one() -> None:
    # 24 children, each better than the seed, in an order that is not sorted. Before,
    # every one was confirmed and queued: 24 pending, 2 * 24 + 2 = 50 re-runs.
    xs = [5, 3, 8, 2, 9, 7, 12, 4, 6, 10, 11, 1, 14, 13, 15, 21, 16, 22, 23, 18, 17, 24, 19, 20]
    archive = MemoryArchive()
    assert inline_loop(archive, xs, approval="manual", reruns=2).run() == "finished"
    children = [c for c in archive.candidates(statuses=(Status.SUCCEEDED,)) if c.id != 1]
    assert len(children) == len(xs) and archive.champion().id == 1  # type: ignore[union-attr]
    new_bests = [c for i, c in enumerate(children)
                 if all(c.metrics["score"] > d.metrics["score"] for d in children[:i])]  # fmt: skip
    pending = [archive.get(a.candidate_id) for a in archive.approvals(states=[PENDING])]
    scores = [c.metrics["score"] for c in pending]
    assert scores == sorted(set(scores)) and scores[-1] == max(xs)  # each beats those before
    assert len(pending) <= len(new_bests) == 10
    reruns = sum(len(archive.reruns(c.id)) for c in archive.candidates())
    assert reruns <= 2 * (len(new_bests) + 1)  # at most 22
    declined = [a.evidence["reason"] for a in archive.approvals(states=[ApprovalState.DECLINED])]
    assert declined and all("which waits for approval" in why for why in declined)


def test_approve_best_approves_the_best_pending_challenger(tmp_path: Path) -> None:
    exp = write_experiment(tmp_path / "exp", candidates=4, promotion=MANUAL, workers=1)
    archive, run = run_script(exp, [body(q=0.6), body(q=0.8), body(q=0.7)])
    ids = {c.metrics["score"]: c.id for c in by_quality(archive)}
    assert {a.candidate_id for a in archive.approvals(states=[PENDING])} == {ids[0.6], ids[0.8]}
    archive.close()
    assert (
        cli("approve", str(run), str(ids[0.6]), "--best", "--reason", "r", ok=False).returncode == 2
    )
    out = cli("approve", str(run), "--best", "--reason", "the best one", "--who", "ana").stdout
    assert f"candidate #{ids[0.8]} approved and promoted" in out
    with SQLiteArchive(run / "archive.sqlite", readonly=True) as reopened:
        assert champions(reopened) == [1, ids[0.8]]
    none_left = cli("approve", str(run), "--best", "--reason", "again", ok=False)
    assert "no pending challenger can be promoted now" in none_left.stderr
    assert f"#{ids[0.6]}: gain" in none_left.stderr
    # status says the waiting one's figure is against a former champion
    stale = [
        ln for ln in cli("status", str(run)).stdout.splitlines() if f"#{ids[0.6]} pending" in ln
    ]
    assert stale and f"(the champion is #{ids[0.8]} now: approve re-checks against it)" in stale[0]
