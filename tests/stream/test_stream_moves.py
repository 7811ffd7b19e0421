"""The champion's moves on a stream, and the audit outbox that records them once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from evoforge.governance.audit import AuditLog
from evoforge.stream import moves
from evoforge.stream.batches import batch_of
from evoforge.stream.store import StreamStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StreamStore]:
    s = StreamStore(tmp_path / "stream")
    with s.transaction():
        for seq in (1, 2, 3):
            s.add_batch(seq, batch_of(f"b{seq}", np.zeros((2, 1)), np.zeros(2)))
        seed = s.put_code({"p.py": "A = 1\n"})
        s.add_champion(seed, round_id=None, parent=None, since_seq=0, reason="the seed program")
    yield s
    s.close()


def challenger_round(s: StreamStore, state: str = "pending") -> int:
    with s.transaction():
        rid = s.open_round(2)
        s.update_round(rid, state=state, challenger=s.put_code({"p.py": "A = 2\n"}),
                       result={"evidence": {"gain": 0.1}})  # fmt: skip
    return rid


def test_approve_promotes_and_the_new_champion_serves_from_the_next_batch(
    store: StreamStore,
) -> None:
    rid = challenger_round(store)
    with store.transaction():
        cid = moves.promote_round(store, moves.pending_round(store, rid), who="ana", reason="ok")
    champ = store.champion()
    assert champ is not None and champ.id == cid and champ.round == rid and champ.parent == 1
    assert champ.since_seq == 3
    assert [c.state for c in store.champions()] == ["retired", "serving"]
    (ev,) = [e for e in store.events() if e.kind == "promotion"]
    assert ev.data["who"] == "ana" and ev.data["evidence"] == {"gain": 0.1}
    with pytest.raises(moves.StreamError, match="does not wait for approval"):
        moves.pending_round(store, rid)


def test_reject_and_unknown_rounds(store: StreamStore) -> None:
    rid = challenger_round(store)
    with store.transaction():
        moves.decline_round(store, moves.pending_round(store, rid), why="ana: no", state="rejected")
    assert store.rounds()[0].state == "rejected" and store.champion().id == 1  # type: ignore[union-attr]
    with pytest.raises(moves.StreamError, match="no round 9"):
        moves.pending_round(store, 9)


def test_rollback_restores_the_parent_and_keeps_the_history(store: StreamStore) -> None:
    with pytest.raises(moves.StreamError, match="nothing to roll back to"):
        moves.rollback(store, who="ana", reason="r")
    rid = challenger_round(store)
    with store.transaction():
        moves.promote_round(store, moves.pending_round(store, rid), who="ana", reason="ok")
        cid = moves.rollback(store, who="bob", reason="worse in production")
    rows = store.champions()
    assert [(c.id, c.state) for c in rows] == [(1, "retired"), (2, "rolled_back"), (3, "serving")]
    assert rows[2].code_hash == rows[0].code_hash and cid == 3
    assert rows[2].watch_done == moves.NO_TRIAL  # not on trial against the one it replaced
    with pytest.raises(moves.StreamError, match="serving already"):
        moves.rollback(store, who="bob", reason="again", to=3)


def test_flush_writes_each_event_once_even_after_a_crash_between_log_and_mark(
    store: StreamStore,
) -> None:
    assert moves.flush_audit(store) == 0  # nothing recorded an event yet
    with store.transaction():
        store.add_event("one", 1)
        store.add_event("two", 2)
    audit = moves.stream_audit(store)
    # a crash after the line of "one" was written, before it was marked audited:
    first = store.events(unaudited=True)[0]
    audit.append(first.kind, event_id=first.id, batch=first.seq)
    assert moves.flush_audit(store) == 2
    ids = [int(e.data["event_id"]) for e in AuditLog(store.folder / "audit.jsonl").entries()]
    assert sorted(ids) == ids and len(ids) == len(set(ids)) == len(store.events())
    assert audit.verify().ok
