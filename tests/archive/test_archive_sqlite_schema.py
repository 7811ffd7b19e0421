"""The SQLite archive's schema: created in a new file, checked on open, upgraded all at once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from evoforge.archive import SCHEMA_VERSION, SchemaError, SQLiteArchive
from evoforge.archive._sqlite_schema import COLUMNS, UPGRADES, ensure_schema, select_list


def _columns(path: Path, table: str) -> list[str]:
    conn = sqlite3.connect(path)
    names = [str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")]
    conn.close()
    return names


def test_a_new_file_gets_every_column_and_the_current_version(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    with SQLiteArchive(path) as archive:
        assert archive.get_meta("schema_version") == SCHEMA_VERSION
    assert _columns(path, "candidates") == list(COLUMNS)


def test_a_reader_refuses_a_file_that_is_not_an_archive(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    sqlite3.connect(path).close()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with pytest.raises(SchemaError, match="not an evoforge archive"):
        ensure_schema(conn, path, readonly=True)
    conn.close()
    assert _columns(path, "meta") == []  # the reader created nothing


def test_sqlite_refuses_other_schema_versions(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    SQLiteArchive(path).set_meta("x", 1)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value='999' WHERE key='schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaError, match="schema version 999"):
        SQLiteArchive(path)


def _version_1_archive(path: Path) -> None:
    """An archive as evoforge wrote it before per-example scores (schema version 1)."""
    SQLiteArchive(path).close()
    conn = sqlite3.connect(path)
    for table in ("candidates", "reruns"):
        conn.execute(f"ALTER TABLE {table} DROP COLUMN examples")
    conn.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    conn.execute("INSERT INTO code VALUES ('h', '{}')")
    conn.execute(
        "INSERT INTO candidates (code_hash, parent_ids, generation, island, proposer, operator, "
        "status, metrics, heldout, failure, flags, diff, note, created_at, attempts, wall_s, "
        "cpu_s, max_rss_kb, stdout_tail, stderr_tail, extra) VALUES ('h', '[]', 0, 0, 'seed', "
        "'seed', 'succeeded', '{\"acc\": 0.5}', '{}', '', '[]', '', '', 1.0, 1, 0, 0, 0, '', '', '{}')"
    )
    conn.execute("INSERT INTO reruns VALUES (1, 7, 1, '{\"acc\": 0.5}', '{}', '')")
    conn.commit()
    conn.close()


def test_sqlite_reads_a_version_1_archive_and_upgrades_it_when_writing(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    _version_1_archive(path)
    with SQLiteArchive(path, readonly=True) as reader:  # a reader may not upgrade it
        assert reader.get(1).examples == "" and reader.reruns(1)[0].examples == ""
    with SQLiteArchive(path) as writer:
        assert writer.get_meta("schema_version") == 2
        writer.update(1, examples="blob")
        assert writer.get(1).examples == "blob" and writer.get(1).metrics == {"acc": 0.5}


def test_a_reader_of_an_older_archive_gets_blanks_for_newer_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    _version_1_archive(path)
    conn = sqlite3.connect(path)
    assert select_list(conn, "reruns", ("seed", "examples")) == "seed, '' AS examples"
    conn.close()


def test_an_upgrade_that_fails_part_way_leaves_the_archive_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.sqlite"
    _version_1_archive(path)
    monkeypatch.setitem(UPGRADES, 1, (UPGRADES[1][0], "ALTER TABLE nowhere ADD COLUMN x"))
    with pytest.raises(sqlite3.OperationalError, match="nowhere"):
        SQLiteArchive(path)
    assert "examples" not in _columns(path, "candidates")  # the first step was rolled back
    with SQLiteArchive(path, readonly=True) as reader:
        assert reader.get_meta("schema_version") == 1
