"""The durable archive: one SQLite file per run, WAL mode, ``synchronous=FULL``.

Every write is its own transaction, committed before the call returns, so a
driver killed with SIGKILL at any point leaves the file consistent and holding
every acknowledged record. Readers (CLI, dashboard) may open the same file while
the driver writes: WAL lets them read without blocking it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from evoforge.archive._base import (
    Approval,
    ApprovalState,
    Archive,
    ChampionMove,
    Rerun,
    check_fields,
    check_update,
)
from evoforge.archive._sqlite_schema import COLUMNS, RERUN_COLUMNS, ensure_schema, select_list
from evoforge.candidate import Candidate, Files, Status, code_hash, dumps

_JSON_FIELDS = {"parent_ids", "metrics", "heldout", "flags", "extra"}


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, timeout=30)
    else:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


class SQLiteArchive(Archive):
    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._conn = connect(self.path, readonly=readonly)
        ensure_schema(self._conn, self.path, readonly=readonly)
        # A reader of an older archive (it may not upgrade it) sees "" for newer columns.
        self._cols = select_list(self._conn, "candidates", COLUMNS)
        self._rerun_cols = select_list(self._conn, "reruns", RERUN_COLUMNS)

    def _write(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._conn:  # one transaction, committed (and fsynced) on exit
            self._conn.execute("BEGIN IMMEDIATE")
            return self._conn.execute(sql, params)

    # -- content-addressed storage -------------------------------------------------
    def put_code(self, files: Files) -> str:
        h = code_hash(files)
        self._write("INSERT OR IGNORE INTO code VALUES (?, ?)", (h, dumps(dict(files))))
        return h

    def get_code(self, code_hash: str) -> dict[str, str]:
        row = self._conn.execute("SELECT files FROM code WHERE hash=?", (code_hash,)).fetchone()
        if row is None:
            raise KeyError(f"no code {code_hash}")
        files: dict[str, str] = json.loads(row[0])
        return files

    def put_blob(self, text: str) -> str:
        h = hashlib.sha256(text.encode()).hexdigest()
        self._write("INSERT OR IGNORE INTO blobs VALUES (?, ?)", (h, text))
        return h

    def get_blob(self, blob_hash: str) -> str:
        row = self._conn.execute("SELECT text FROM blobs WHERE hash=?", (blob_hash,)).fetchone()
        if row is None:
            raise KeyError(f"no blob {blob_hash}")
        return str(row[0])

    # -- candidates -----------------------------------------------------------------
    def add(self, candidate: Candidate) -> Candidate:
        values = _to_row(candidate)
        values["created_at"] = candidate.created_at or time.time()
        del values["id"]
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            cur = self._conn.execute(
                f"INSERT INTO candidates ({cols}) VALUES ({marks})", tuple(values.values())
            )
            new_id = int(cur.lastrowid or 0)
            self._put_scores(new_id, candidate)
        return self.get(new_id)

    def update(self, candidate_id: int, **fields: Any) -> Candidate:
        check_fields(fields)
        row = {k: v for k, v in _to_row_fields(fields).items()}
        sets = ", ".join(f"{k}=?" for k in row)
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            check_update(self.get(candidate_id), fields)
            cur = self._conn.execute(
                f"UPDATE candidates SET {sets} WHERE id=?", (*row.values(), candidate_id)
            )
            if cur.rowcount != 1:
                raise KeyError(f"no candidate {candidate_id}")
            if "metrics" in fields or "status" in fields:
                rec = self.get(candidate_id)
                self._conn.execute("DELETE FROM scores WHERE candidate_id=?", (candidate_id,))
                self._put_scores(candidate_id, rec)
        return self.get(candidate_id)

    def _put_scores(self, candidate_id: int, candidate: Candidate) -> None:
        # Indexed copies of the search metrics of successful candidates only, so
        # best-of queries stay fast however large the archive grows.
        if candidate.status != Status.SUCCEEDED:
            return
        rows = [
            (candidate_id, k, float(v))
            for k, v in candidate.metrics.items()
            if v == v  # NaN never ranks
        ]
        self._conn.executemany("INSERT INTO scores VALUES (?, ?, ?)", rows)

    def get(self, candidate_id: int) -> Candidate:
        row = self._conn.execute(
            f"SELECT {self._cols} FROM candidates WHERE id=?", (candidate_id,)
        ).fetchone()
        if row is None:
            raise KeyError(f"no candidate {candidate_id}")
        return _from_row(row)

    def candidates(
        self, *, statuses: Iterable[Status] | None = None, since_id: int = 0
    ) -> list[Candidate]:
        sql = f"SELECT {self._cols} FROM candidates WHERE id > ?"
        params: list[Any] = [since_id]
        if statuses is not None:
            wanted = [s.value for s in statuses]
            sql += f" AND status IN ({', '.join('?' for _ in wanted)})"
            params.extend(wanted)
        return [_from_row(r) for r in self._conn.execute(sql + " ORDER BY id", params)]

    def size(self) -> int:
        row = self._conn.execute("SELECT MAX(id) FROM candidates").fetchone()
        return int(row[0] or 0)

    def find_code(self, code_hash: str) -> Candidate | None:
        row = self._conn.execute(
            f"SELECT {self._cols} FROM candidates WHERE code_hash=? AND status != ? "
            "ORDER BY id LIMIT 1",
            (code_hash, Status.REJECTED.value),
        ).fetchone()
        return None if row is None else _from_row(row)

    def recent(self, *, island: int | None, limit: int) -> list[Candidate]:
        sql = f"SELECT {self._cols} FROM candidates WHERE status=?"
        params: list[Any] = [Status.SUCCEEDED.value]
        if island is not None:
            sql += " AND island=?"
            params.append(island)
        sql += " ORDER BY finished_at DESC, id DESC LIMIT ?"
        params.append(limit)
        return [_from_row(r) for r in self._conn.execute(sql, params)][::-1]

    def top(self, objective: str, *, maximize: bool, limit: int = 1) -> list[Candidate]:
        order = "DESC" if maximize else "ASC"
        ids = self._conn.execute(
            f"SELECT candidate_id FROM scores WHERE metric=? ORDER BY value {order}, "
            "candidate_id ASC LIMIT ?",
            (objective, limit),
        ).fetchall()
        return [self.get(int(r[0])) for r in ids]

    def counts(self) -> dict[Status, int]:
        out = dict.fromkeys(Status, 0)
        for status, n in self._conn.execute(
            "SELECT status, COUNT(*) FROM candidates GROUP BY status"
        ):
            out[Status(status)] = int(n)
        return out

    # -- champion -------------------------------------------------------------------
    def move_champion(self, candidate_id: int, *, action: str, reason: str) -> ChampionMove:
        self.get(candidate_id)
        at = time.time()
        cur = self._write(
            "INSERT INTO champions (candidate_id, action, reason, at) VALUES (?, ?, ?, ?)",
            (candidate_id, action, reason, at),
        )
        return ChampionMove(int(cur.lastrowid or 0), candidate_id, action, reason, at)

    def champion_history(self) -> list[ChampionMove]:
        rows = self._conn.execute(
            "SELECT seq, candidate_id, action, reason, at FROM champions ORDER BY seq"
        )
        return [ChampionMove(int(s), int(c), str(a), str(r), float(t)) for s, c, a, r, t in rows]

    # -- confirmation re-runs and approvals -----------------------------------------
    def add_rerun(self, rerun: Rerun) -> None:
        self._write(
            "INSERT OR REPLACE INTO reruns VALUES (?, ?, ?, ?, ?, ?, ?)",
            (rerun.candidate_id, rerun.seed, int(rerun.ok), dumps(rerun.metrics),
             dumps(rerun.heldout), rerun.failure, rerun.examples),
        )  # fmt: skip

    def reruns(self, candidate_id: int) -> list[Rerun]:
        rows = self._conn.execute(
            f"SELECT {self._rerun_cols} FROM reruns WHERE candidate_id=? ORDER BY seed",
            (candidate_id,),
        )
        return [
            Rerun(int(c), int(s), bool(ok), json.loads(m), json.loads(h), str(f), str(x))
            for c, s, ok, m, h, f, x in rows
        ]

    def put_approval(self, approval: Approval) -> None:
        a = approval
        self._write(
            "INSERT OR REPLACE INTO approvals VALUES (?, ?, ?, ?, ?, ?, ?)",
            (a.candidate_id, a.state.value, dumps(a.evidence), a.requested_at, a.decided_at, a.who,
             a.reason),
        )  # fmt: skip

    def approvals(self, *, states: Iterable[ApprovalState] | None = None) -> list[Approval]:
        sql = "SELECT candidate_id, state, evidence, requested_at, decided_at, who, reason FROM approvals"
        params: list[Any] = []
        if states is not None:
            wanted = [ApprovalState(s).value for s in states]
            sql += f" WHERE state IN ({', '.join('?' for _ in wanted)})"
            params = wanted
        rows = self._conn.execute(sql + " ORDER BY requested_at, candidate_id", params)
        return [
            Approval(
                int(c),
                ApprovalState(st),
                json.loads(ev),
                float(rq),
                None if dc is None else float(dc),
                str(w),
                str(r),
            )
            for c, st, ev, rq, dc, w, r in rows
        ]

    # -- metadata -------------------------------------------------------------------
    def set_meta(self, key: str, value: Any) -> None:
        self._write("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, dumps(value)))

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self._conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def close(self) -> None:
        self._conn.close()


def _to_row_fields(fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in fields.items():
        if k in _JSON_FIELDS:
            out[k] = dumps(v)
        elif k == "status":
            out[k] = Status(v).value
        else:
            out[k] = v
    return out


def _to_row(c: Candidate) -> dict[str, Any]:
    return _to_row_fields({k: getattr(c, k) for k in COLUMNS})


def _from_row(row: tuple[Any, ...]) -> Candidate:
    d = dict(zip(COLUMNS, row, strict=True))
    for k in _JSON_FIELDS:
        d[k] = json.loads(d[k])
    d["parent_ids"] = tuple(d["parent_ids"])
    d["flags"] = tuple(d["flags"])
    d["status"] = Status(d["status"])
    return Candidate(**d)
