"""The stream's SQLite archive: transactions, batches, scores, champions, rounds, events."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from evoforge.candidate import code_hash
from evoforge.stream.batches import Batch
from evoforge.stream.store import DB, ScoreRow, StreamStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StreamStore]:
    s = StreamStore(tmp_path / "stream")
    s.clock = lambda: 100.0
    yield s
    s.close()


@pytest.fixture
def reader(store: StreamStore) -> Iterator[StreamStore]:
    """A second, read-only connection: it sees only what was committed."""
    r = StreamStore(store.folder, readonly=True)
    yield r
    r.close()


def batch(name: str, rows: int = 3, seed: int = 0) -> Batch:
    rng = np.random.default_rng(seed)
    return Batch(
        name, rng.normal(size=(rows, 2)), rng.integers(0, 2, rows).astype(float), "h" + name
    )


def score(seq: int, role: str = "champion", **kw: object) -> ScoreRow:
    fields: dict[str, object] = {
        "champion": 1,
        "code_hash": "c",
        "metric": 0.5,
        "failure": "",
        "examples": None,
    }
    fields.update(kw)
    return ScoreRow(seq, role, **fields)  # type: ignore[arg-type]


def test_new_store_makes_its_folder_and_db(tmp_path: Path) -> None:
    s = StreamStore(tmp_path / "a" / "stream")
    try:
        assert (tmp_path / "a" / "stream" / "data").is_dir()
        assert (tmp_path / "a" / "stream" / DB).is_file()
        assert s.next_seq() == 1 and s.batches() == [] and s.champion() is None
    finally:
        s.close()


# -- transactions ---------------------------------------------------------------------


def test_transaction_commits_together(store: StreamStore, reader: StreamStore) -> None:
    with store.transaction():
        store.add_batch(1, batch("a"))
        store.set_meta("k", 1)
        assert reader.batches() == [] and reader.get_meta("k") is None  # not yet
    assert [b.name for b in reader.batches()] == ["a"]
    assert reader.get_meta("k") == 1


def test_transaction_rolls_back_together(store: StreamStore) -> None:
    with pytest.raises(RuntimeError, match="boom"), store.transaction():
        store.add_batch(1, batch("a"))
        store.add_event("batch_scored", 1, name="a")
        store.set_meta("k", 1)
        raise RuntimeError("boom")
    assert store.batches() == [] and store.events() == [] and store.get_meta("k") is None
    with store.transaction():  # usable again afterwards
        store.add_batch(1, batch("a"))
    assert store.next_seq() == 2


def test_nested_transaction_outermost_decides(store: StreamStore, reader: StreamStore) -> None:
    with pytest.raises(KeyError), store.transaction():
        with store.transaction():
            store.add_batch(1, batch("a"))
        assert reader.batches() == []  # the inner block's end committed nothing
        raise KeyError("x")
    assert store.batches() == []  # rolled back with the outer one
    with store.transaction():
        with pytest.raises(ValueError), store.transaction():
            store.add_batch(1, batch("a"))
            raise ValueError("inner")
        store.add_batch(2, batch("b"))  # the outer one went on: it keeps both
    assert [b.name for b in reader.batches()] == ["a", "b"]


def test_writes_outside_a_transaction_commit_at_once(
    store: StreamStore, reader: StreamStore
) -> None:
    store.set_meta("k", "v")
    assert reader.get_meta("k") == "v"


# -- meta -----------------------------------------------------------------------------


def test_meta_round_trip(store: StreamStore) -> None:
    assert store.get_meta("missing") is None
    assert store.get_meta("missing", 7) == 7
    value = {"a": [1, 2.5, None], "b": "text"}
    store.set_meta("m", value)
    assert store.get_meta("m") == value
    store.set_meta("m", 3)  # overwritten, not added
    assert store.get_meta("m") == 3
    assert store.db.execute("SELECT COUNT(*) FROM meta").fetchone()[0] == 1


# -- batches --------------------------------------------------------------------------


def test_batches_seq_and_data_round_trip(store: StreamStore) -> None:
    assert store.next_seq() == 1
    b = batch("b1.npz", rows=4, seed=3)
    store.save_data(1, b)
    store.add_batch(1, b)
    assert store.next_seq() == 2
    (row,) = store.batches()
    assert (row.seq, row.name, row.sha256, row.rows, row.read_at) == (
        1,
        "b1.npz",
        "hb1.npz",
        4,
        100.0,
    )
    assert store.data_path(1) == store.folder / "data" / "000001.npz"
    x, y = store.load(1)
    np.testing.assert_array_equal(x, b.x)
    np.testing.assert_array_equal(y, b.y)
    assert x.dtype == np.float64 and y.dtype == np.float64
    assert [p.name for p in (store.folder / "data").iterdir()] == ["000001.npz"]  # no .tmp left
    store.add_batch(7, batch("b7"))
    assert store.next_seq() == 8
    assert [r.seq for r in store.batches()] == [1, 7]


def test_batch_names_are_unique(store: StreamStore) -> None:
    store.add_batch(1, batch("a"))
    with pytest.raises(sqlite3.IntegrityError):
        store.add_batch(2, batch("a"))


def test_seen_names_include_quarantine(store: StreamStore) -> None:
    store.add_batch(1, batch("a"))
    store.add_quarantine("bad.csv", "", "no rows")
    store.clock = lambda: 50.0
    store.add_quarantine("early.csv", "", "NaN")
    assert store.seen_names() == {"a", "bad.csv", "early.csv"}
    assert store.quarantined() == [("early.csv", "NaN"), ("bad.csv", "no rows")]  # by time


# -- scores and triggers --------------------------------------------------------------


def test_scores_round_trip_with_float32_examples(store: StreamStore) -> None:
    ex = np.array([1.0, 0.0, 1 / 3], dtype=np.float64)
    store.add_score(score(2, examples=ex, metric=0.75))
    store.add_score(score(2, "predecessor", champion=None, metric=None, failure="crash"))
    store.add_score(score(1, "shadow"))
    rows = store.scores()
    assert [(r.seq, r.role) for r in rows] == [(1, "shadow"), (2, "champion"), (2, "predecessor")]
    champ = rows[1]
    assert champ.examples is not None and champ.examples.dtype == np.float32
    np.testing.assert_array_equal(champ.examples, ex.astype(np.float32))
    assert champ.metric == 0.75 and champ.champion == 1
    pred = rows[2]
    assert pred.examples is None and pred.metric is None and pred.champion is None
    assert pred.failure == "crash"
    assert [r.seq for r in store.scores("champion")] == [2]


def test_one_score_per_seq_and_role(store: StreamStore) -> None:
    store.add_score(score(1))
    with pytest.raises(sqlite3.IntegrityError):
        store.add_score(score(1, metric=0.9))
    store.add_score(score(1, "shadow"))  # another role of the same batch is fine
    assert [r.metric for r in store.scores("champion")] == [0.5]


def test_triggers_round_trip(store: StreamStore) -> None:
    store.add_trigger(5, "adwin", 0.25, "mean loss")
    store.add_trigger(3, "features", 1e-5, "feature 0")
    assert store.triggers() == [(3, "features", 1e-5, "feature 0"), (5, "adwin", 0.25, "mean loss")]


# -- champions ------------------------------------------------------------------------


def test_add_champion_retires_the_serving_one(store: StreamStore) -> None:
    first = store.add_champion("h1", round_id=None, parent=None, since_seq=0, reason="seed")
    champ = store.champion()
    assert champ is not None and champ.id == first and champ.state == "serving"
    assert (champ.code_hash, champ.round, champ.parent, champ.since_seq) == ("h1", None, None, 0)
    assert (champ.reason, champ.at, champ.watch_done) == ("seed", 100.0, 0)
    second = store.add_champion("h2", round_id=1, parent=first, since_seq=8, reason="round 1")
    assert second != first
    champ = store.champion()
    assert champ is not None and champ.id == second and champ.parent == first
    assert store.champion_by_id(first).state == "retired"
    assert [c.state for c in store.champions()] == ["retired", "serving"]


def test_champion_state_and_watch_done(store: StreamStore) -> None:
    cid = store.add_champion("h1", round_id=None, parent=None, since_seq=0, reason="seed")
    store.set_watch_done(cid, 2)
    assert store.champion_by_id(cid).watch_done == 2
    store.set_champion_state(cid, "rolled_back")
    assert store.champion() is None


def test_unknown_champion_id(store: StreamStore) -> None:
    with pytest.raises(KeyError, match="no champion #3"):
        store.champion_by_id(3)


# -- rounds ---------------------------------------------------------------------------


def test_rounds_open_update_live(store: StreamStore) -> None:
    assert store.live_round() is None
    rid = store.open_round(7)
    (rnd,) = store.rounds()
    assert (rnd.id, rnd.trigger_seq, rnd.state, rnd.challenger) == (rid, 7, "open", None)
    assert (rnd.result, rnd.started_at, rnd.ended_at, rnd.ended_seq) == ({}, 100.0, None, None)
    assert store.live_round() == rnd
    store.update_round(rid, state="shadow", challenger="abc", shadow_done=1)
    live = store.live_round()
    assert live is not None and (live.state, live.challenger, live.shadow_done) == (
        "shadow",
        "abc",
        1,
    )
    store.update_round(rid, state="pending")
    assert store.live_round() is not None
    store.update_round(
        rid, state="promoted", ended_seq=9, ended_at=120.0, result={"gain": 0.5, "n": [1]}
    )
    (rnd,) = store.rounds()
    assert rnd.result == {"gain": 0.5, "n": [1]} and rnd.ended_seq == 9 and rnd.ended_at == 120.0
    assert store.live_round() is None
    assert store.round_folder(rid) == store.folder / "rounds" / f"r{rid:04d}"


def test_live_round_is_the_latest_live_one(store: StreamStore) -> None:
    a = store.open_round(3)
    b = store.open_round(5)
    live = store.live_round()
    assert live is not None and live.id == b
    store.update_round(b, state="declined")
    live = store.live_round()
    assert live is not None and live.id == a


# -- events ---------------------------------------------------------------------------


def test_events_and_audit_marks(store: StreamStore) -> None:
    store.add_event("stream_start", None, champion=1)
    store.add_event("batch_scored", 4, name="b4", champion=0.5)
    events = store.events()
    assert [(e.kind, e.seq, e.data, e.at) for e in events] == [
        ("stream_start", None, {"champion": 1}, 100.0),
        ("batch_scored", 4, {"name": "b4", "champion": 0.5}, 100.0),
    ]
    assert events[0].id < events[1].id
    store.mark_audited(events[0].id)
    assert [e.kind for e in store.events(unaudited=True)] == ["batch_scored"]
    assert len(store.events()) == 2
    store.mark_audited(events[1].id)
    assert store.events(unaudited=True) == []


# -- code -----------------------------------------------------------------------------


def test_code_round_trip(store: StreamStore) -> None:
    files = {"train.py": "print(1)\n", "lib/util.py": "X = 2\n"}
    h = store.put_code(files)
    assert h == code_hash(files)
    assert store.put_code(dict(files)) == h  # stored once
    assert store.db.execute("SELECT COUNT(*) FROM code").fetchone()[0] == 1
    assert store.get_code(h) == files
    other = store.put_code({"train.py": "print(2)\n"})
    assert other != h
    with pytest.raises(KeyError, match="no code"):
        store.get_code("0" * 64)


# -- read-only ------------------------------------------------------------------------


def test_readonly_store_reads_but_cannot_write(store: StreamStore, reader: StreamStore) -> None:
    store.add_batch(1, batch("a"))
    assert [b.name for b in reader.batches()] == ["a"]
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.add_batch(2, batch("b"))
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.set_meta("k", 1)
    assert store.batches()[-1].name == "a"


def test_readonly_store_of_a_missing_archive_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(sqlite3.OperationalError):
        StreamStore(tmp_path / "none", readonly=True)
    assert not (tmp_path / "none").exists()
