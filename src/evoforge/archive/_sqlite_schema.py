"""The tables of the SQLite archive, and how an archive file is brought to them.

``ensure_schema`` creates the tables in a new file, refuses a file that is not an
evoforge archive or was written by an incompatible evoforge (``SchemaError``), and
upgrades an older archive to ``SCHEMA_VERSION`` in one transaction when it is opened
for writing. A reader may not upgrade: it reads an older archive as it is, and
``select_list`` gives ``''`` for the columns that archive lacks.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from evoforge.archive._base import SCHEMA_VERSION

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS code (hash TEXT PRIMARY KEY, files TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blobs (hash TEXT PRIMARY KEY, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS candidates (
    id INTEGER PRIMARY KEY,
    code_hash TEXT NOT NULL REFERENCES code(hash),
    parent_ids TEXT NOT NULL,
    generation INTEGER NOT NULL,
    island INTEGER NOT NULL,
    proposer TEXT NOT NULL,
    operator TEXT NOT NULL,
    status TEXT NOT NULL,
    metrics TEXT NOT NULL,
    heldout TEXT NOT NULL,
    failure TEXT NOT NULL,
    flags TEXT NOT NULL,
    diff TEXT NOT NULL,
    note TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    attempts INTEGER NOT NULL,
    wall_s REAL NOT NULL,
    cpu_s REAL NOT NULL,
    max_rss_kb INTEGER NOT NULL,
    exit_code INTEGER,
    stdout_tail TEXT NOT NULL,
    stderr_tail TEXT NOT NULL,
    extra TEXT NOT NULL,
    examples TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS candidates_code ON candidates(code_hash);
CREATE INDEX IF NOT EXISTS candidates_status ON candidates(status, island, finished_at);
CREATE TABLE IF NOT EXISTS scores (
    candidate_id INTEGER NOT NULL REFERENCES candidates(id),
    metric TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (metric, candidate_id)
);
CREATE INDEX IF NOT EXISTS scores_value ON scores(metric, value);
CREATE TABLE IF NOT EXISTS reruns (
    candidate_id INTEGER NOT NULL REFERENCES candidates(id),
    seed INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    metrics TEXT NOT NULL,
    heldout TEXT NOT NULL,
    failure TEXT NOT NULL,
    examples TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (candidate_id, seed)
);
CREATE TABLE IF NOT EXISTS approvals (
    candidate_id INTEGER PRIMARY KEY REFERENCES candidates(id),
    state TEXT NOT NULL,
    evidence TEXT NOT NULL,
    requested_at REAL NOT NULL,
    decided_at REAL,
    who TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS champions (
    seq INTEGER PRIMARY KEY,
    candidate_id INTEGER NOT NULL REFERENCES candidates(id),
    action TEXT NOT NULL,
    reason TEXT NOT NULL,
    at REAL NOT NULL
);
"""

COLUMNS = (
    "id", "code_hash", "parent_ids", "generation", "island", "proposer", "operator", "status",
    "metrics", "heldout", "failure", "flags", "diff", "note", "created_at", "started_at",
    "finished_at", "attempts", "wall_s", "cpu_s", "max_rss_kb", "exit_code", "stdout_tail",
    "stderr_tail", "extra", "examples",
)  # fmt: skip
"""The columns of ``candidates`` as rows are read: the fields of a Candidate."""
RERUN_COLUMNS = ("candidate_id", "seed", "ok", "metrics", "heldout", "failure", "examples")
UPGRADES = {
    1: (
        "ALTER TABLE candidates ADD COLUMN examples TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE reruns ADD COLUMN examples TEXT NOT NULL DEFAULT ''",
    ),
}
"""Version -> the statements that bring an archive of that version to the next one."""


class SchemaError(RuntimeError):
    """The archive file was written by an incompatible version of evoforge."""


def ensure_schema(conn: sqlite3.Connection, path: Path, *, readonly: bool) -> None:
    """Make the archive at ``path`` (open on ``conn``) one this evoforge can use, or raise
    SchemaError; a reader changes nothing."""
    if not readonly:
        conn.executescript(SCHEMA)
    row = (
        conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if _has_table(conn, "meta")
        else None
    )
    if row is None:
        if readonly:
            raise SchemaError(f"{path}: not an evoforge archive")
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    elif int(row[0]) != SCHEMA_VERSION and not (int(row[0]) in UPGRADES and readonly):
        _upgrade(conn, path, int(row[0]))


def select_list(conn: sqlite3.Connection, table: str, columns: tuple[str, ...]) -> str:
    """The SELECT list of ``columns`` of ``table``, with ``'' AS c`` for each column ``c``
    the file lacks (an older archive a reader may not upgrade)."""
    have = {str(r[1]) for r in conn.execute(f"PRAGMA table_info({table})")}
    return ", ".join(c if c in have else f"'' AS {c}" for c in columns)


def _upgrade(conn: sqlite3.Connection, path: Path, version: int) -> None:
    if version not in UPGRADES:
        raise SchemaError(
            f"{path}: archive schema version {version}, this evoforge reads {SCHEMA_VERSION}"
        )
    with conn:  # all steps or none
        conn.execute("BEGIN IMMEDIATE")
        while version in UPGRADES:
            for statement in UPGRADES[version]:
                conn.execute(statement)
            version += 1
        conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(version),))


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    q = "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?"
    return conn.execute(q, (name,)).fetchone() is not None
