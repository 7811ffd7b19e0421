"""The stream's archive: one SQLite file per stream, the source of truth of ``watch``.

STREAM/ (``EXPERIMENT/stream/``)
    stream.sqlite   batches, scores, triggers, rounds, champions, code, events
    audit.jsonl     the hash-chained audit log (every event, once)
    data/           an immutable copy of each accepted batch (``000012.npz``)
    rounds/r0001/   each round's experiment folder and its ordinary run

Everything one batch changes is committed in one transaction, so a watcher killed
at any point leaves either all of a batch's records or none. Events are written in
the same transaction and appended to the audit log afterwards (an outbox): an
event is audited exactly once, whenever the watcher dies.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from evoforge.candidate import code_hash, dumps
from evoforge.stream.batches import Batch

STREAM_DIR = "stream"
DB = "stream.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    seq INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, sha256 TEXT NOT NULL,
    rows INTEGER NOT NULL, read_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS quarantine (
    name TEXT PRIMARY KEY, sha256 TEXT NOT NULL, reason TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS scores (
    seq INTEGER NOT NULL, role TEXT NOT NULL, champion INTEGER, code_hash TEXT NOT NULL,
    metric REAL, failure TEXT NOT NULL DEFAULT '', examples BLOB,
    PRIMARY KEY (seq, role));
CREATE TABLE IF NOT EXISTS triggers (
    seq INTEGER NOT NULL, detector TEXT NOT NULL, statistic REAL NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rounds (
    id INTEGER PRIMARY KEY, trigger_seq INTEGER NOT NULL, state TEXT NOT NULL,
    challenger TEXT, shadow_done INTEGER NOT NULL DEFAULT 0, ended_seq INTEGER,
    result TEXT NOT NULL DEFAULT '{}', started_at REAL NOT NULL, ended_at REAL);
CREATE TABLE IF NOT EXISTS champions (
    id INTEGER PRIMARY KEY, code_hash TEXT NOT NULL, round INTEGER, parent INTEGER,
    since_seq INTEGER NOT NULL, state TEXT NOT NULL, reason TEXT NOT NULL, at REAL NOT NULL,
    watch_done INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS code (hash TEXT PRIMARY KEY, files TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS candidates (
    round INTEGER NOT NULL, id INTEGER NOT NULL, parents TEXT NOT NULL, code_hash TEXT NOT NULL,
    status TEXT NOT NULL, operator TEXT NOT NULL, metrics TEXT NOT NULL, heldout TEXT NOT NULL,
    from_champion INTEGER, PRIMARY KEY (round, id));
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, seq INTEGER, kind TEXT NOT NULL, data TEXT NOT NULL,
    at REAL NOT NULL, audited INTEGER NOT NULL DEFAULT 0);
"""

ROUND_OPEN, ROUND_SHADOW, ROUND_PENDING = "open", "shadow", "pending"
ROUND_LIVE = (ROUND_OPEN, ROUND_SHADOW, ROUND_PENDING)


@dataclass(frozen=True)
class BatchRow:
    seq: int
    name: str
    sha256: str
    rows: int
    read_at: float


@dataclass(frozen=True)
class ScoreRow:
    seq: int
    role: str
    champion: int | None
    code_hash: str
    metric: float | None
    failure: str
    examples: npt.NDArray[np.float32] | None


@dataclass(frozen=True)
class RoundRow:
    id: int
    trigger_seq: int
    state: str
    challenger: str | None
    shadow_done: int
    ended_seq: int | None
    result: dict[str, Any]
    started_at: float
    ended_at: float | None


@dataclass(frozen=True)
class ChampionRow:
    id: int
    code_hash: str
    round: int | None
    parent: int | None
    since_seq: int
    state: str
    reason: str
    at: float
    watch_done: int


@dataclass(frozen=True)
class EventRow:
    id: int
    seq: int | None
    kind: str
    data: dict[str, Any]
    at: float


class StreamStore:
    def __init__(self, folder: Path, *, readonly: bool = False) -> None:
        self.folder = folder
        if not readonly:
            (folder / "data").mkdir(parents=True, exist_ok=True)
        path = folder / DB
        if readonly:
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        else:
            self.db = sqlite3.connect(path, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.executescript(_SCHEMA)
        self._depth = 0
        self.clock = time.time

    def close(self) -> None:
        self.db.close()

    # -- transactions ------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together, or none do (nested: the outermost decides)."""
        if self._depth == 0:
            self.db.execute("BEGIN IMMEDIATE")
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self.db.execute("ROLLBACK")
            raise
        self._depth -= 1
        if self._depth == 0:
            self.db.execute("COMMIT")

    # -- meta (also the audit anchor: see governance.run_audit.Audit) ------------------
    def set_meta(self, key: str, value: Any) -> None:
        self.db.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, json.dumps(value)),
        )

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    # -- batches -------------------------------------------------------------------
    def seen_names(self) -> set[str]:
        names = {r[0] for r in self.db.execute("SELECT name FROM batches")}
        return names | {r[0] for r in self.db.execute("SELECT name FROM quarantine")}

    def batches(self) -> list[BatchRow]:
        rows = self.db.execute("SELECT seq, name, sha256, rows, read_at FROM batches ORDER BY seq")
        return [BatchRow(*r) for r in rows]

    def next_seq(self) -> int:
        row = self.db.execute("SELECT MAX(seq) FROM batches").fetchone()
        return 1 if row[0] is None else int(row[0]) + 1

    def data_path(self, seq: int) -> Path:
        return self.folder / "data" / f"{seq:06d}.npz"

    def save_data(self, seq: int, batch: Batch) -> None:
        """The batch's arrays, written before its row is committed (atomically renamed)."""
        final = self.data_path(seq)
        tmp = final.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            np.savez(fh, x=batch.x, y=batch.y)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(final)

    def add_batch(self, seq: int, batch: Batch) -> None:
        self.db.execute(
            "INSERT INTO batches(seq, name, sha256, rows, read_at) VALUES (?, ?, ?, ?, ?)",
            (seq, batch.name, batch.sha256, batch.rows, self.clock()),
        )

    def load(self, seq: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        with np.load(self.data_path(seq), allow_pickle=False) as npz:
            return npz["x"], npz["y"]

    def add_quarantine(self, name: str, sha256: str, reason: str) -> None:
        self.db.execute(
            "INSERT INTO quarantine(name, sha256, reason, at) VALUES (?, ?, ?, ?)",
            (name, sha256, reason, self.clock()),
        )

    def quarantined(self) -> list[tuple[str, str]]:
        return [
            (r[0], r[1]) for r in self.db.execute("SELECT name, reason FROM quarantine ORDER BY at")
        ]

    # -- scores and triggers ----------------------------------------------------------
    def add_score(self, row: ScoreRow) -> None:
        blob = None if row.examples is None else row.examples.astype(np.float32).tobytes()
        self.db.execute(
            "INSERT INTO scores(seq, role, champion, code_hash, metric, failure, examples) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (row.seq, row.role, row.champion, row.code_hash, row.metric, row.failure, blob),
        )

    def scores(self, role: str | None = None) -> list[ScoreRow]:
        sql = "SELECT seq, role, champion, code_hash, metric, failure, examples FROM scores"
        rows = (
            self.db.execute(sql + " WHERE role=? ORDER BY seq", (role,))
            if role
            else self.db.execute(sql + " ORDER BY seq, role")
        )
        return [
            ScoreRow(s, r, c, h, m, f, None if b is None else np.frombuffer(b, dtype=np.float32))
            for s, r, c, h, m, f, b in rows
        ]

    def add_trigger(self, seq: int, detector: str, statistic: float, detail: str) -> None:
        self.db.execute(
            "INSERT INTO triggers(seq, detector, statistic, detail) VALUES (?, ?, ?, ?)",
            (seq, detector, statistic, detail),
        )

    def triggers(self) -> list[tuple[int, str, float, str]]:
        rows = self.db.execute("SELECT seq, detector, statistic, detail FROM triggers ORDER BY seq")
        return [(int(a), str(b), float(c), str(d)) for a, b, c, d in rows]

    # -- code ------------------------------------------------------------------------
    def put_code(self, files: Mapping[str, str]) -> str:
        h = code_hash(files)
        self.db.execute(
            "INSERT OR IGNORE INTO code(hash, files) VALUES (?, ?)", (h, dumps(dict(files)))
        )
        return h

    def get_code(self, h: str) -> dict[str, str]:
        row = self.db.execute("SELECT files FROM code WHERE hash=?", (h,)).fetchone()
        if row is None:
            raise KeyError(f"no code {h[:12]} in the stream archive")
        return dict(json.loads(row[0]))

    # -- the rounds' candidates (copied from each round's run archive when it ends) ---------
    def add_round_candidates(self, rid: int, rows: list[dict[str, Any]]) -> None:
        """Each row: id, parents, code_hash, status, operator, metrics, heldout and, for a
        round's seed, the stream champion it started from (the lineage across rounds)."""
        self.db.executemany(
            "INSERT OR REPLACE INTO candidates(round, id, parents, code_hash, status, operator, "
            "metrics, heldout, from_champion) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (rid, r["id"], dumps(list(r["parents"])), r["code_hash"], r["status"],
                 r["operator"], dumps(dict(r["metrics"])), dumps(dict(r["heldout"])),
                 r.get("from_champion"))
                for r in rows
            ],
        )  # fmt: skip

    def round_candidates(self, rid: int | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT round, id, parents, code_hash, status, operator, metrics, heldout, "
            "from_champion FROM candidates"
        )
        rows = (
            self.db.execute(sql + " WHERE round=? ORDER BY id", (rid,))
            if rid is not None
            else self.db.execute(sql + " ORDER BY round, id")
        )
        keys = ("round", "id", "parents", "code_hash", "status", "operator", "metrics", "heldout")
        out = []
        for *values, champion in rows:
            row = dict(zip(keys, values, strict=True))
            for k in ("parents", "metrics", "heldout"):
                row[k] = json.loads(row[k])
            row["from_champion"] = champion
            out.append(row)
        return out

    # -- champions -----------------------------------------------------------------------
    def add_champion(
        self, code: str, *, round_id: int | None, parent: int | None, since_seq: int, reason: str
    ) -> int:
        self.db.execute("UPDATE champions SET state='retired' WHERE state='serving'")
        cur = self.db.execute(
            "INSERT INTO champions(code_hash, round, parent, since_seq, state, reason, at) "
            "VALUES (?, ?, ?, ?, 'serving', ?, ?)",
            (code, round_id, parent, since_seq, reason, self.clock()),
        )
        return int(cur.lastrowid or 0)

    def set_champion_state(self, cid: int, state: str) -> None:
        self.db.execute("UPDATE champions SET state=? WHERE id=?", (state, cid))

    def set_watch_done(self, cid: int, n: int) -> None:
        self.db.execute("UPDATE champions SET watch_done=? WHERE id=?", (n, cid))

    def champions(self) -> list[ChampionRow]:
        rows = self.db.execute(
            "SELECT id, code_hash, round, parent, since_seq, state, reason, at, watch_done "
            "FROM champions ORDER BY id"
        )
        return [ChampionRow(*r) for r in rows]

    def champion(self) -> ChampionRow | None:
        serving = [c for c in self.champions() if c.state == "serving"]
        return serving[-1] if serving else None

    def champion_by_id(self, cid: int) -> ChampionRow:
        found = [c for c in self.champions() if c.id == cid]
        if not found:
            raise KeyError(f"no champion #{cid} in this stream")
        return found[0]

    # -- rounds --------------------------------------------------------------------------
    def open_round(self, trigger_seq: int) -> int:
        cur = self.db.execute(
            "INSERT INTO rounds(trigger_seq, state, started_at) VALUES (?, 'open', ?)",
            (trigger_seq, self.clock()),
        )
        return int(cur.lastrowid or 0)

    def update_round(self, rid: int, **fields: Any) -> None:
        if "result" in fields:
            fields["result"] = dumps(fields["result"])
        sets = ", ".join(f"{k}=?" for k in fields)
        self.db.execute(f"UPDATE rounds SET {sets} WHERE id=?", (*fields.values(), rid))

    def rounds(self) -> list[RoundRow]:
        rows = self.db.execute(
            "SELECT id, trigger_seq, state, challenger, shadow_done, ended_seq, result, "
            "started_at, ended_at FROM rounds ORDER BY id"
        )
        return [
            RoundRow(a, b, c, d, e, f, json.loads(g), h, i) for a, b, c, d, e, f, g, h, i in rows
        ]

    def live_round(self) -> RoundRow | None:
        live = [r for r in self.rounds() if r.state in ROUND_LIVE]
        return live[-1] if live else None

    def round_folder(self, rid: int) -> Path:
        return self.folder / "rounds" / f"r{rid:04d}"

    # -- events (the audit outbox) ----------------------------------------------------------
    def add_event(self, kind: str, seq: int | None, **data: Any) -> None:
        self.db.execute(
            "INSERT INTO events(seq, kind, data, at) VALUES (?, ?, ?, ?)",
            (seq, kind, dumps(data), self.clock()),
        )

    def events(self, *, unaudited: bool = False) -> list[EventRow]:
        sql = "SELECT id, seq, kind, data, at FROM events"
        sql += " WHERE audited=0 ORDER BY id" if unaudited else " ORDER BY id"
        return [EventRow(a, b, c, json.loads(d), e) for a, b, c, d, e in self.db.execute(sql)]

    def mark_audited(self, event_id: int) -> None:
        self.db.execute("UPDATE events SET audited=1 WHERE id=?", (event_id,))
