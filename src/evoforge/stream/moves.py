"""The moves of a stream's champion: promote, decline, roll back, approve, reject.

Each move is a few rows and an event in the stream archive, inside the caller's
transaction (the watcher's, for a batch; the command's, for a person). The audit
log gets the event from the outbox (:func:`flush_audit`), exactly once.
"""

from __future__ import annotations

from typing import Any

from evoforge.governance.audit import AuditLog
from evoforge.governance.run_audit import AnchoredAudit
from evoforge.stream.store import ROUND_PENDING, RoundRow, StreamStore

NO_TRIAL = 1 << 30
"""``watch_done`` of a champion never scored against its predecessor (a restored one)."""


class StreamError(LookupError):
    """A move that cannot be made (no such round, nothing to roll back to...)."""


def last_seq(store: StreamStore) -> int:
    return store.next_seq() - 1


def promote_round(store: StreamStore, rnd: RoundRow, *, who: str, reason: str) -> int:
    """The round's challenger serves from the next batch on; returns its champion id."""
    if rnd.challenger is None:
        raise StreamError(f"round {rnd.id} has no challenger")
    champ = store.champion()
    seq = last_seq(store)
    cid = store.add_champion(
        rnd.challenger, round_id=rnd.id, parent=champ.id if champ else None,
        since_seq=seq, reason=f"{who}: {reason}",
    )  # fmt: skip
    store.update_round(rnd.id, state="promoted", ended_seq=seq, ended_at=store.clock())
    store.add_event(
        "promotion", seq, round=rnd.id, champion=cid, predecessor=champ.id if champ else None,
        code_hash=rnd.challenger, who=who, reason=reason, evidence=rnd.result.get("evidence", {}),
    )  # fmt: skip
    return cid


def decline_round(store: StreamStore, rnd: RoundRow, *, why: str, state: str = "declined") -> None:
    seq = last_seq(store)
    store.update_round(rnd.id, state=state, ended_seq=seq, ended_at=store.clock())
    store.add_event("promotion_declined", seq, round=rnd.id, reason=why, state=state)


def request_approval(store: StreamStore, rnd: RoundRow, *, why: str) -> None:
    store.update_round(rnd.id, state=ROUND_PENDING)
    store.add_event(
        "approval_requested", last_seq(store), round=rnd.id, reason=why,
        evidence=rnd.result.get("evidence", {}),
    )  # fmt: skip


def rollback(store: StreamStore, *, who: str, reason: str, to: int | None = None) -> int:
    """The serving champion is marked rolled back and ``to`` (default: its parent)
    serves again from the next batch; returns the new champion row's id."""
    champ = store.champion()
    if champ is None:
        raise StreamError("the stream has no champion yet")
    target_id = champ.parent if to is None else to
    if target_id is None:
        raise StreamError(f"champion #{champ.id} is the stream's first: nothing to roll back to")
    target = store.champion_by_id(target_id)
    if target.id == champ.id:
        raise StreamError(f"champion #{champ.id} is serving already")
    seq = last_seq(store)
    cid = store.add_champion(
        target.code_hash, round_id=target.round, parent=champ.id, since_seq=seq,
        reason=f"{who}: rollback to #{target.id}: {reason}",
    )  # fmt: skip
    store.set_champion_state(champ.id, "rolled_back")
    store.set_watch_done(
        cid, NO_TRIAL
    )  # a restored champion is not on trial against the one it replaced
    store.add_event(
        "rollback", seq, rolled_back=champ.id, restored=target.id, champion=cid,
        code_hash=target.code_hash, who=who, reason=reason,
    )  # fmt: skip
    return cid


def pending_round(store: StreamStore, rid: int) -> RoundRow:
    found = [r for r in store.rounds() if r.id == rid]
    if not found:
        raise StreamError(f"no round {rid} in this stream")
    if found[0].state != ROUND_PENDING:
        raise StreamError(f"round {rid} does not wait for approval (it is {found[0].state})")
    return found[0]


def stream_audit(store: StreamStore) -> AnchoredAudit:
    return AnchoredAudit(AuditLog(store.folder / "audit.jsonl"), store)


def flush_audit(store: StreamStore, audit: AnchoredAudit | None = None) -> int:
    """Append every event not yet in the audit log, in order; returns how many. An event
    whose line was written before a crash (the log's last entry) is not written again."""
    audit = audit or stream_audit(store)
    events = store.events(unaudited=True)
    if not events:
        return 0
    entries = audit.log.entries()
    last: dict[str, Any] = dict(entries[-1].data) if entries else {}
    for ev in events:
        if last.get("event_id") != ev.id:
            audit.append(ev.kind, event_id=ev.id, batch=ev.seq, **ev.data)
        store.mark_audited(ev.id)
    return len(events)
