from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evoforge.archive import Archive, SQLiteArchive
from evoforge.config import ConfigError, parse_config
from evoforge.governance.audit import (
    GENESIS,
    AuditEntry,
    AuditLog,
    format_report,
    parse_line,
    verify,
)
from evoforge.governance.run_audit import Audit
from evoforge.session import _audit_start


def _log(tmp_path: Path, n: int = 6) -> tuple[AuditLog, Path]:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, clock=iter(range(1000, 2000)).__next__)
    log.append("run_start", config_sha256="c" * 64, sandbox={"bwrap": "on"})
    for i in range(2, n + 1):
        log.append("flag", candidate=i, flags=["jump"])
    return log, path


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("".join(lines))


def _rehash(obj: dict[str, object]) -> dict[str, object]:
    content = {k: v for k, v in obj.items() if k != "hash"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return {**content, "hash": hashlib.sha256(canonical.encode()).hexdigest()}


def test_entries_chain_from_genesis_and_hash_their_content(tmp_path: Path) -> None:
    log, path = _log(tmp_path, n=3)
    entries = log.entries()
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev == GENESIS
    assert [e.prev for e in entries[1:]] == [e.hash for e in entries[:-1]]
    first = json.loads(_lines(path)[0])
    assert first["hash"] == _rehash(first)["hash"]
    assert first["at"] == 1000.0 and first["data"]["sandbox"] == {"bwrap": "on"}
    assert log.head() == (3, entries[-1].hash)


def test_constructor_stores_config_only_and_empty_head_is_genesis(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "sub" / "audit.jsonl")
    assert not (tmp_path / "sub").exists()
    assert log.head() == (0, GENESIS)
    assert log.entries() == []


def test_append_fsyncs_before_returning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real = os.fsync

    def spy(fd: int) -> None:
        synced.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    log = AuditLog(tmp_path / "audit.jsonl")
    log.append("stop", mode="now")
    count = len(synced)
    log.append("stop", mode="drain")
    assert count >= 1 and len(synced) == count + 1


def test_a_new_writer_continues_the_chain(tmp_path: Path) -> None:
    log, path = _log(tmp_path, n=3)
    again = AuditLog(path)
    entry = again.append("resume", who="driver")
    assert (entry.seq, entry.prev) == (4, log.head()[1])
    assert verify(path, anchor=again.head()).ok


def test_data_is_stored_as_the_json_it_reads_back_as(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    entry = log.append(
        "promotion",
        evidence={"gain": np.float64(0.5), "runs": np.int64(3), "ids": (1, 2), "nan": float("nan")},
        path=tmp_path,
        event="a data key may be called event",
    )
    assert entry.data["evidence"]["ids"] == [1, 2]
    assert entry.data["path"] == str(tmp_path)
    assert parse_line(_lines(path)[0]).hash == entry.hash
    assert verify(path).ok
    with pytest.raises(TypeError, match="JSON-like"):
        log.append("flag", thing=object())


def test_a_clean_log_verifies_and_says_so_greppably(tmp_path: Path) -> None:
    log, path = _log(tmp_path)
    report = verify(path, anchor=log.head())
    assert report.ok and report.problems == [] and report.entries == 6
    assert format_report(report).splitlines()[-1] == "audit: ok (6 entries)"


def test_an_edited_line_is_reported_as_edited(tmp_path: Path) -> None:
    log, path = _log(tmp_path)
    lines = _lines(path)
    lines[3] = lines[3].replace('"candidate":4', '"candidate":5')
    _write(path, lines)
    report = verify(path, anchor=log.head())
    assert report.problems == ["line 4: edited (hash does not match its content)"]
    assert format_report(report).splitlines()[-1] == "audit: FAILED (1 problem in 6 entries)"


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(tmp_path: Path) -> None:
    _, path = _log(tmp_path)
    lines = _lines(path)
    obj = json.loads(lines[2])
    obj["data"]["flags"] = []
    lines[2] = json.dumps(_rehash(obj)) + "\n"
    _write(path, lines)
    report = verify(path)
    assert len(report.problems) == 1
    assert report.problems[0].startswith("line 4: chain broken")
    assert "line 3" in report.problems[0]


def test_a_deleted_middle_line_is_reported_as_missing(tmp_path: Path) -> None:
    log, path = _log(tmp_path)
    lines = _lines(path)
    del lines[2]
    _write(path, lines)
    report = verify(path, anchor=log.head())
    assert report.problems == ["line 3: a line is missing before it (seq 3 expected, found 4)"]


def test_swapped_lines_are_reported_as_out_of_order(tmp_path: Path) -> None:
    log, path = _log(tmp_path)
    lines = _lines(path)
    lines[3], lines[4] = lines[4], lines[3]
    _write(path, lines)
    report = verify(path, anchor=log.head())
    assert report.problems
    assert all("out of order" in p for p in report.problems), report.problems
    assert report.problems[0] == "line 4: out of order (seq 5 after seq 3; seq 4 is at line 5)"
    assert report.problems[1] == "line 5: out of order (seq 4 after seq 5)"


def test_a_deleted_last_line_is_seen_only_with_the_anchor(tmp_path: Path) -> None:
    log, path = _log(tmp_path)
    _write(path, _lines(path)[:-1])
    assert verify(path).ok
    report = verify(path, anchor=log.head())
    assert report.problems == [
        "the log ends at seq 5 but the archive recorded seq 6: lines were removed from the end"
    ]


def test_a_rewritten_tail_is_seen_only_with_the_anchor(tmp_path: Path) -> None:
    log, path = _log(tmp_path)
    lines = _lines(path)
    prev = json.loads(lines[2])["hash"]
    for i in range(3, len(lines)):
        obj = json.loads(lines[i])
        obj["data"]["flags"], obj["prev"] = [], prev
        obj = _rehash(obj)
        prev = str(obj["hash"])
        lines[i] = json.dumps(obj) + "\n"
    _write(path, lines)
    assert verify(path).ok
    report = verify(path, anchor=log.head())
    assert len(report.problems) == 1
    assert "hash differs" in report.problems[0] and "seq 6" in report.problems[0]


def test_a_forged_line_with_its_own_hash_but_a_wrong_prev_breaks_the_chain(
    tmp_path: Path,
) -> None:
    _, path = _log(tmp_path)
    lines = _lines(path)
    forged = _rehash(
        {"seq": 7, "at": 1.0, "event": "approval", "data": {"who": "x"}, "prev": "f" * 64}
    )
    _write(path, [*lines, json.dumps(forged) + "\n"])
    report = verify(path)
    assert len(report.problems) == 1
    assert report.problems[0].startswith("line 7: chain broken")
    assert not any("edited" in p for p in report.problems)


def test_an_inserted_copy_of_a_seq_is_reported(tmp_path: Path) -> None:
    _, path = _log(tmp_path)
    lines = _lines(path)
    forged = _rehash(
        {"seq": 3, "at": 1.0, "event": "approval", "data": {"who": "x"}, "prev": "f" * 64}
    )
    lines.insert(2, json.dumps(forged) + "\n")
    _write(path, lines)
    problems = verify(path).problems
    assert problems[0].startswith("line 3: chain broken")
    assert "line 4: repeats seq 3 (first at line 3)" in problems


def test_a_line_that_is_not_json_is_reported(tmp_path: Path) -> None:
    _, path = _log(tmp_path)
    lines = _lines(path)
    lines[2] = "{not json\n"
    _write(path, lines)
    assert verify(path).problems == ["line 3: not valid JSON"]


def test_a_torn_last_line_is_reported_and_the_next_append_starts_after_it(
    tmp_path: Path,
) -> None:
    _, path = _log(tmp_path, n=3)
    with path.open("a") as fh:
        fh.write('{"seq":4,"at":1')
    again = AuditLog(path)
    entry = again.append("stop", mode="now")
    assert entry.seq == 4
    assert [e.seq for e in again.entries()] == [1, 2, 3, 4]
    assert verify(path, anchor=again.head()).problems == ["line 4: not valid JSON"]


def test_a_missing_log_fails_verification(tmp_path: Path) -> None:
    report = verify(tmp_path / "audit.jsonl")
    assert not report.ok
    assert format_report(report).endswith("audit: FAILED (1 problem in 0 entries)")


# -- the log against the archive's records of it ----------------------------------


class Crash(BaseException):
    """The driver dies (not an Exception: nothing catches it on the way out)."""


class CrashingArchive(SQLiteArchive):
    """An archive whose process dies when it is about to record ``crash_on``."""

    crash_on = ""

    def set_meta(self, key: str, value: Any) -> None:
        if key == self.crash_on:
            raise Crash(key)
        super().set_meta(key, value)


def _run(tmp_path: Path, n: int = 4) -> tuple[Path, Audit]:
    """A run folder (archive and audit log) with ``n`` entries appended by the driver."""
    archive = CrashingArchive(tmp_path / "archive.sqlite")
    audit = Audit(AuditLog(tmp_path / "audit.jsonl"), archive)
    audit.append("run_start", config_sha256="c" * 64)
    for i in range(2, n + 1):
        audit.append("flag", candidate=i)
    return tmp_path, audit


def _forge(path: Path) -> None:
    """Append an entry as an intruder would: the right seq, prev and hash."""
    seq, prev = AuditLog(path).head()
    forged = _rehash(
        {"seq": seq + 1, "at": 1.0, "event": "approval", "data": {"who": "x"}, "prev": prev}
    )
    with path.open("a") as fh:
        fh.write(json.dumps(forged) + "\n")


def _audit_verify(run: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evoforge.cli", "audit", "verify", str(run)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _resume(archive: Archive, audit: Audit) -> None:
    """What ``evoforge resume`` does with the audit log before the run goes on."""
    config = parse_config(
        {
            "program": {"files": ["program.py"], "command": ["{python}", "program.py"]},
            "task": {"objective": "score"},
        }
    )
    archive.set_meta("task_hashes", {})
    _audit_start(archive, audit, config, {}, {}, allow_weak=False)


def test_a_line_appended_with_a_correct_chain_hash_fails_verify(tmp_path: Path) -> None:
    run, audit = _run(tmp_path)
    _forge(audit.log.path)
    assert verify(audit.log.path).ok  # the chain alone cannot tell
    problems = audit.verify().problems
    assert len(problems) == 1
    assert problems[0].startswith("line 5 (seq 5) goes past the archive's record (seq 4)")
    assert problems[0].endswith("it was appended by something else")
    audit.archive.close()
    proc = _audit_verify(run)
    assert proc.returncode == 1 and "appended by something else" in proc.stdout


def test_a_forged_line_cannot_be_resumed_from(tmp_path: Path) -> None:
    _, audit = _run(tmp_path)
    _forge(audit.log.path)
    with pytest.raises(ConfigError, match="does not verify"):
        _resume(audit.archive, audit)


def test_a_crash_after_writing_a_line_before_recording_it_verifies_and_resumes(
    tmp_path: Path,
) -> None:
    run, audit = _run(tmp_path)
    archive = audit.archive
    assert isinstance(archive, CrashingArchive)
    archive.crash_on = "audit_head"
    with pytest.raises(Crash):
        audit.append("stop", mode="now")
    archive.close()
    assert len(_lines(audit.log.path)) == 5  # the line is written, the archive says seq 4
    assert _audit_verify(run).stdout.endswith("audit: ok (5 entries)\n")

    with SQLiteArchive(run / "archive.sqlite") as again:
        resumed = Audit(AuditLog(run / "audit.jsonl"), again)
        assert resumed.verify().ok
        _resume(again, resumed)
        assert [e.event for e in resumed.log.entries()][-2:] == ["stop", "resume"]
        assert resumed.verify().ok and Audit.recorded(again)[0] == resumed.log.head()


class CrashingLog(AuditLog):
    """A log whose process dies when it is about to write a line."""

    def write(self, entry: AuditEntry) -> AuditEntry:
        raise Crash("write")


def test_a_crash_after_recording_the_pending_entry_before_writing_it_resumes(
    tmp_path: Path,
) -> None:
    _, audit = _run(tmp_path)
    with pytest.raises(Crash):
        Audit(CrashingLog(audit.log.path), audit.archive).append("stop", mode="now")
    assert len(_lines(audit.log.path)) == 4
    anchor, pending = Audit.recorded(audit.archive)
    assert anchor == audit.log.head() and pending is not None and pending[0] == 5
    assert audit.verify().ok
    _resume(audit.archive, audit)
    assert audit.verify().ok and audit.log.head()[0] == 5


def test_the_first_entry_is_pending_before_it_is_written(tmp_path: Path) -> None:
    archive = CrashingArchive(tmp_path / "archive.sqlite")
    archive.crash_on = "audit_head"
    audit = Audit(AuditLog(tmp_path / "audit.jsonl"), archive)
    with pytest.raises(Crash):
        audit.append("run_start")
    assert Audit.recorded(archive) == ((0, GENESIS), audit.log.head())
    assert audit.verify().ok
    audit.log.path.write_text("")
    _forge(audit.log.path)  # a first line the driver never wrote
    assert "appended by something else" in audit.verify().problems[0]


def test_one_entry_past_the_anchor_verifies_only_when_it_is_the_pending_one(
    tmp_path: Path,
) -> None:
    log, path = _log(tmp_path, n=5)
    anchor = (4, log.entries()[3].hash)
    fifth = (5, log.head()[1])
    assert verify(path, anchor=anchor, pending=fifth).ok
    assert not verify(path, anchor=anchor).ok
    assert not verify(path, anchor=anchor, pending=(5, "e" * 64)).ok
    assert not verify(path, anchor=anchor, pending=anchor).ok


def test_a_prepared_entry_is_written_only_after_the_head_it_was_prepared_on(
    tmp_path: Path,
) -> None:
    log, path = _log(tmp_path, n=2)
    entry = log.prepare("stop", mode="now")
    assert len(_lines(path)) == 2  # prepared, not written
    log.append("flag", candidate=9)
    with pytest.raises(ValueError, match="does not follow"):
        log.write(entry)
    assert verify(path, anchor=log.head()).ok
