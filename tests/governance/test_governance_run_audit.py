"""The run's audit trail anchored in its archive, and the audited move of a promotion."""

from __future__ import annotations

from pathlib import Path

from evoforge.archive import MemoryArchive
from evoforge.candidate import Candidate, Status
from evoforge.governance.audit import GENESIS, AuditLog
from evoforge.governance.audit_verify import verify
from evoforge.governance.run_audit import Audit, promote


def _audit(tmp_path: Path) -> Audit:
    return Audit(AuditLog(tmp_path / "audit.jsonl"), MemoryArchive())


def test_each_append_is_recorded_in_the_archive_as_its_pending_entry_and_head(
    tmp_path: Path,
) -> None:
    audit = _audit(tmp_path)
    audit.append("run_start", config_sha256="c" * 64)
    audit.append("flag", candidate=2, flags=["jump"])
    seq, digest = audit.log.head()
    assert seq == 2
    assert audit.archive.get_meta("audit_head") == [2, digest]
    assert audit.archive.get_meta("audit_pending") == [2, digest]
    assert [(e.event, dict(e.data)) for e in audit.log.entries()] == [
        ("run_start", {"config_sha256": "c" * 64}),
        ("flag", {"candidate": 2, "flags": ["jump"]}),
    ]


def test_the_anchor_catches_lines_removed_from_the_end_that_the_chain_alone_misses(
    tmp_path: Path,
) -> None:
    audit = _audit(tmp_path)
    for i in range(3):
        audit.append("flag", candidate=i)
    assert audit.verify().ok
    path = audit.log.path
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))
    assert verify(path).ok
    (problem,) = audit.verify().problems
    assert "lines were removed from the end" in problem


def test_a_run_that_recorded_nothing_has_no_anchor(tmp_path: Path) -> None:
    assert Audit.recorded(MemoryArchive()) == (None, None)


def test_a_run_that_stopped_before_its_first_line_is_anchored_at_genesis() -> None:
    archive = MemoryArchive()
    archive.set_meta("audit_pending", [1, "a" * 64])
    assert Audit.recorded(archive) == ((0, GENESIS), (1, "a" * 64))


def test_promote_moves_the_champion_and_audits_the_move_with_its_evidence(
    tmp_path: Path,
) -> None:
    audit = _audit(tmp_path)
    archive = audit.archive
    for score in (0.5, 0.7):
        code = archive.put_code({"p.py": f"X = {score}\n"})
        archive.add(Candidate(id=0, code_hash=code, status=Status.SUCCEEDED, metrics={"s": score}))
    archive.move_champion(1, action="seed", reason="the seed")
    promote(archive, audit, 2, who="ana", reason="checked", evidence={"gain": 0.2})
    move = archive.champion_history()[-1]
    assert (move.candidate_id, move.action, move.reason) == (2, "promote", "ana: checked")
    (entry,) = audit.log.entries()
    assert entry.event == "promotion"
    assert dict(entry.data) == {
        "candidate": 2, "who": "ana", "reason": "checked", "evidence": {"gain": 0.2}, "seq": move.seq
    }  # fmt: skip
    assert audit.verify().ok
