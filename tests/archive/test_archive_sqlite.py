"""The SQLite archive: durable in its file, readable by other connections while written."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from evoforge.archive import Approval, ApprovalState, Archive, Rerun, SQLiteArchive
from evoforge.candidate import Candidate, Status


def add(a: Archive, files: dict[str, str], **fields: object) -> Candidate:
    h = a.put_code(files)
    return a.add(Candidate(id=0, code_hash=h, **fields))  # type: ignore[arg-type]


def test_sqlite_is_durable_and_readable_while_open(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    writer = SQLiteArchive(path)
    add(writer, {"a.py": "1"})
    reader = SQLiteArchive(path, readonly=True)  # another process's view, while the writer is open
    assert reader.size() == 1
    mode = writer._conn.execute("PRAGMA journal_mode").fetchone()[0]
    sync = writer._conn.execute("PRAGMA synchronous").fetchone()[0]
    assert mode == "wal" and sync == 2  # 2 == FULL
    reader.close()
    writer.close()


def test_reopening_the_file_keeps_every_record(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    with SQLiteArchive(path) as writer:
        c = add(writer, {"a.py": "x = 1\n"}, proposer="seed")
        c = writer.update(c.id, status=Status.SUCCEEDED, metrics={"acc": 0.5}, finished_at=1.0)
        writer.move_champion(c.id, action="seed", reason="first")
        writer.add_rerun(Rerun(c.id, 7, True, {"acc": 0.5}, {}))
        writer.put_approval(Approval(c.id, ApprovalState.PENDING, {"gain": 0.1}, 1.0))
        writer.set_meta("config", {"a": 1})
    with SQLiteArchive(path) as again:
        assert again.get(c.id) == c and again.get_code(c.code_hash) == {"a.py": "x = 1\n"}
        assert again.champion() == c and again.top("acc", maximize=True) == [c]
        assert [r.seed for r in again.reruns(c.id)] == [7]
        assert [a.evidence for a in again.approvals()] == [{"gain": 0.1}]
        assert again.get_meta("config") == {"a": 1}
        assert add(again, {"a.py": "2"}).id == c.id + 1  # ids go on, never reused


def test_a_reader_opened_first_sees_each_committed_write(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    with SQLiteArchive(path) as writer, SQLiteArchive(path, readonly=True) as reader:
        c = add(writer, {"a.py": "1"})
        assert reader.get(c.id).status is Status.PENDING
        writer.update(c.id, status=Status.SUCCEEDED, metrics={"acc": 0.7})
        assert reader.get(c.id).metrics == {"acc": 0.7}
        assert [t.id for t in reader.top("acc", maximize=True)] == [c.id]


def test_a_reader_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    SQLiteArchive(path).close()
    with SQLiteArchive(path, readonly=True) as reader:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.set_meta("x", 1)
        assert reader.get_meta("x") is None
