from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from audit_helpers import log_of, read_lines, rehash

from evoforge.archive import Archive, SQLiteArchive
from evoforge.config import ConfigError, parse_config
from evoforge.governance.audit import GENESIS, AuditEntry, AuditLog, parse_line
from evoforge.governance.audit_verify import verify
from evoforge.governance.run_audit import Audit
from evoforge.session import _audit_start


def test_entries_chain_from_genesis_and_hash_their_content(tmp_path: Path) -> None:
    log, path = log_of(tmp_path, n=3)
    entries = log.entries()
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev == GENESIS
    assert [e.prev for e in entries[1:]] == [e.hash for e in entries[:-1]]
    first = json.loads(read_lines(path)[0])
    assert first["hash"] == rehash(first)["hash"]
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
    log, path = log_of(tmp_path, n=3)
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
    assert parse_line(read_lines(path)[0]).hash == entry.hash
    assert verify(path).ok
    with pytest.raises(TypeError, match="JSON-like"):
        log.append("flag", thing=object())


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
    forged = rehash(
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
    assert len(read_lines(audit.log.path)) == 5  # the line is written, the archive says seq 4
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
    assert len(read_lines(audit.log.path)) == 4
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
    log, path = log_of(tmp_path, n=5)
    anchor = (4, log.entries()[3].hash)
    fifth = (5, log.head()[1])
    assert verify(path, anchor=anchor, pending=fifth).ok
    assert not verify(path, anchor=anchor).ok
    assert not verify(path, anchor=anchor, pending=(5, "e" * 64)).ok
    assert not verify(path, anchor=anchor, pending=anchor).ok


def test_a_prepared_entry_is_written_only_after_the_head_it_was_prepared_on(
    tmp_path: Path,
) -> None:
    log, path = log_of(tmp_path, n=2)
    entry = log.prepare("stop", mode="now")
    assert len(read_lines(path)) == 2  # prepared, not written
    log.append("flag", candidate=9)
    with pytest.raises(ValueError, match="does not follow"):
        log.write(entry)
    assert verify(path, anchor=log.head()).ok
