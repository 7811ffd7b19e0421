"""Manual approval, rollback and the audit trail, through the CLI as a person uses it."""

from __future__ import annotations

from pathlib import Path

from evoforge.archive import SQLiteArchive
from evoforge.audit import AuditLog

from gov_helpers import cli, summary, write_experiment


def test_manual_mode_waits_for_approve_and_rollback_restores(tmp_path: Path) -> None:
    exp = write_experiment(
        tmp_path / "exp", candidates=10, promotion='approval = "manual"\nreruns = 0'
    )
    run = Path(summary(cli("run", str(exp)).stdout)["run"])
    with SQLiteArchive(run / "archive.sqlite", readonly=True) as archive:
        assert [m.candidate_id for m in archive.champion_history()] == [1]  # nothing moved
        pending = [a.candidate_id for a in archive.approvals(states=["pending"])]
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
        cand = archive.approvals(states=["pending"])[0].candidate_id
    assert "rejected" in cli("reject", str(run), str(cand), "--reason", "looks like gaming").stdout
    with SQLiteArchive(run / "archive.sqlite", readonly=True) as archive:
        assert archive.champion().id == 1  # type: ignore[union-attr]
        assert archive.approvals(states=["rejected"])[0].who


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
