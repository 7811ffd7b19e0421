"""What a stream has done, read from its archive: status rows and chart series.

``stream_rows`` are the greppable ``key: value`` rows of ``evoforge status STREAM``
(printed with :func:`evoforge.summary.format_rows`); ``stream_series`` is the same
history as plain JSON values, per batch, for the static report and the dashboard,
which draw one chart from it. Both only read: the watcher may be writing meanwhile.

A champion row serves from batch ``since_seq + 1`` on. A rollback leaves the
champion it removed ``rolled_back`` and adds the restored program as a new row
right after it (``moves.rollback``); every other row from a round is a promotion.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import pairwise
from typing import Any

from evoforge.governance.rundir import pid_alive
from evoforge.stream.store import ChampionRow, RoundRow, ScoreRow, StreamStore

WINDOWS = (5, 20)
"""The recent windows (in batches) the production metric is averaged over."""
ROLES = ("champion", "shadow", "predecessor")
ENDED = ("promoted", "declined", "failed", "rejected")
_ROUND_EVENTS = ("round_start", "round_end", "promotion", "promotion_declined",
                 "approval_requested", "rollback")  # fmt: skip


def stream_rows(store: StreamStore, *, live_pid: int | None = None) -> list[tuple[str, str]]:
    """The status of a stream, one ``(key, value)`` row per fact: where, state, batches,
    quarantine, the production metric (the serving champion's, predicted before the
    labels were known) over the last 5, the last 20 and all batches, the champion,
    the live round, approvals waiting, the last trigger, and round and rollback counts.
    ``live_pid`` is the pid of a live watcher (None: none runs)."""
    with snapshot(store):
        return _rows(store, live_pid)


def _rows(store: StreamStore, live_pid: int | None) -> list[tuple[str, str]]:
    metric = metric_name(store)
    batches = store.batches()
    quarantine = quarantined(store)
    rows: list[tuple[str, str]] = [
        ("stream", str(store.folder)),
        ("state", stream_state(store, live_pid=live_pid)),
    ]
    if live_pid is not None:
        rows.append(("watcher_pid", str(live_pid)))
    rows.append(("metric", f"{metric} ({'higher' if maximize(metric) else 'lower'} is better)"))
    rows.append(("batches", str(len(batches))))
    if batches:
        last = batches[-1]
        read = f"{last.rows} rows, read {_when(last.read_at)}"
        rows.append(("last_batch", f"#{last.seq} {last.name} ({read})"))
    shut = f" (last: {quarantine[-1]['name']}: {quarantine[-1]['reason']})" if quarantine else ""
    rows.append(("quarantined", f"{len(quarantine)}{shut}"))
    production = scores(store, "champion")
    for n in WINDOWS:
        rows.append((f"production_{metric}_last_{n}", metric_mean(production[-n:])))
    rows.append((f"production_{metric}_overall", metric_mean(production)))
    rows.append(("champion", _champion(store)))
    live = store.live_round()
    rows.append(("round", "none open" if live is None else _round(live)))
    pending = [r for r in store.rounds() if r.state == "pending"]
    for r in pending:
        rows.append(("approval", f"round {r.id} pending (triggered at batch {r.trigger_seq}): "
                                 f"evoforge approve {store.folder} {r.id}"))  # fmt: skip
    triggers = store.triggers()
    if triggers:
        seq, detector, statistic, detail = triggers[-1]
        text = f"{detector} at batch {seq} (statistic {statistic:.6g})"
        rows.append(("last_trigger", text + (f": {detail[:200]}" if detail else "")))
    rows.append(("triggers", str(len(triggers))))
    rounds = store.rounds()
    rows.append(("rounds", str(len(rounds))))
    for state in ENDED:
        rows.append((f"rounds_{state}", str(sum(r.state == state for r in rounds))))
    backs = rollbacks(store)
    last_back = ""
    if backs:
        b = backs[-1]
        last_back = (f" (last: #{b['rolled_back']} rolled back after batch {b['seq']}, "
                     f"now #{b['champion']}: {b['reason']})")  # fmt: skip
    rows.append(("rollbacks", f"{len(backs)}{last_back}"))
    return rows


def stream_series(store: StreamStore) -> dict[str, Any]:
    """The stream's history as JSON-ready values on one batch axis: ``seq`` (every
    accepted batch), per role the metric on each (``metrics``: None where that role
    did not predict it or failed; ``failed``: the batches where it failed, with why),
    the serving champion per batch, ``triggers``, ``rounds`` (a span from
    ``trigger_seq`` to ``ended_seq``, None while live), ``champions``, ``promotions``
    and ``rollbacks`` (each at the batch after which it took effect) and ``quarantine``."""
    with snapshot(store):
        return _series(store)


def _series(store: StreamStore) -> dict[str, Any]:
    metric = metric_name(store)
    every = scores(store)
    seqs = sorted({b.seq for b in store.batches()} | {s.seq for s in every})
    at = {seq: i for i, seq in enumerate(seqs)}
    roles = [r for r in ROLES if any(s.role == r for s in every)]
    roles += sorted({s.role for s in every} - set(roles))
    metrics: dict[str, list[float | None]] = {r: [None] * len(seqs) for r in roles}
    failed: dict[str, list[dict[str, Any]]] = {r: [] for r in roles}
    serving: list[int | None] = [None] * len(seqs)
    for s in every:
        metrics[s.role][at[s.seq]] = _finite(s.metric)
        if s.metric is None:
            failed[s.role].append({"seq": s.seq, "failure": s.failure})
        if s.role == "champion":
            serving[at[s.seq]] = s.champion
    champions = store.champions()
    backs = rollbacks(store)
    restored = {b["champion"] for b in backs}
    return {
        "stream": str(store.folder),
        "metric": metric,
        "maximize": maximize(metric),
        "seq": seqs,
        "roles": roles,
        "metrics": metrics,
        "failed": failed,
        "serving": serving,
        "triggers": [
            {"seq": seq, "detector": d, "statistic": _finite(stat), "detail": detail}
            for seq, d, stat, detail in store.triggers()
        ],
        "rounds": _rounds_view(store),
        "champions": [_champion_view(c) for c in champions],
        "promotions": [
            {"seq": c.since_seq, "champion": c.id, "round": c.round, "code_hash": c.code_hash}
            for c in champions
            if c.round is not None and c.id not in restored
        ],
        "rollbacks": backs,
        "quarantine": quarantined(store),
    }


@contextmanager
def snapshot(store: StreamStore) -> Iterator[None]:
    """Every read inside sees one state of the archive (one read transaction), even
    while the watcher commits batches; inside a transaction already, that one."""
    if store.db.in_transaction:
        yield
        return
    store.db.execute("BEGIN")
    try:
        yield
    finally:
        store.db.execute("COMMIT")


def stream_state(store: StreamStore, *, live_pid: int | None) -> str:
    """The stream's state as it is now: "watching" while a watcher lives, else the state
    the watcher recorded; a stream left "watching" by a watcher now gone crashed, and
    the state says how to continue."""
    if live_pid is not None:
        return "watching"
    recorded = str(store.get_meta("state", "idle"))
    if recorded != "watching":
        return recorded
    pid = store.get_meta("watcher_pid")
    who = "the watcher" if pid is None else f"watcher {pid}"
    experiment = store.get_meta("experiment") or store.folder.parent
    return f"crashed ({who} is gone; continue with: evoforge watch {experiment})"


def live_watcher(store: StreamStore) -> int | None:
    """The recorded ``watcher_pid`` if that process is alive (not a zombie), else None
    (a reused pid reads as alive: the watcher records no start time)."""
    pid = store.get_meta("watcher_pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return None
    return pid if pid_alive(pid) else None


def metric_name(store: StreamStore) -> str:
    return str(store.get_meta("metric") or "accuracy")


def maximize(metric: str) -> bool:
    """Accuracy is better higher; an error (mse) lower."""
    return metric != "mse"


def metric_mean(scores: Sequence[ScoreRow]) -> str:
    """``0.8125 (4 batches, 1 failed)``: the mean over the batches with a metric, how many
    that is, and how many the program failed on; ``-`` when there is nothing to average."""
    values = [s.metric for s in scores if s.metric is not None]
    failed = len(scores) - len(values)
    mean = f"{sum(values) / len(values):.6g}" if values else "-"
    if not scores:
        return mean
    noun = "batch" if len(values) == 1 else "batches"
    return f"{mean} ({len(values)} {noun}" + (f", {failed} failed)" if failed else ")")


def scores(store: StreamStore, role: str | None = None) -> list[ScoreRow]:
    """The scores (of one role, or all) in batch order, without their per-example
    losses: :meth:`StreamStore.scores` loads those too, megabytes on a long stream."""
    sql = "SELECT seq, role, champion, code_hash, metric, failure FROM scores"
    rows = (
        store.db.execute(sql + " WHERE role=? ORDER BY seq", (role,))
        if role
        else store.db.execute(sql + " ORDER BY seq, role")
    )
    return [ScoreRow(q, r, c, h, m, f, None) for q, r, c, h, m, f in rows]


def quarantined(store: StreamStore) -> list[dict[str, Any]]:
    """Every quarantined batch file, oldest first: name, sha256, reason, when."""
    rows = store.db.execute("SELECT name, sha256, reason, at FROM quarantine ORDER BY at, rowid")
    return [{"name": n, "sha256": h, "reason": r, "at": t} for n, h, r, t in rows]


def rollbacks(store: StreamStore) -> list[dict[str, Any]]:
    """Each rollback: the batch after which it took effect, the champion it rolled back,
    the row now serving the restored program (and which row that program was), why."""
    champions = store.champions()
    restored = {}
    for _, data in _events(store, ("rollback",)):
        restored[data.get("champion")] = data.get("restored")
    out = []
    for old, new in pairwise(champions):
        if old.state == "rolled_back":
            out.append({"seq": new.since_seq, "rolled_back": old.id, "champion": new.id,
                        "restored": restored.get(new.id), "reason": new.reason, "at": new.at})  # fmt: skip
    return out


def _champion(store: StreamStore) -> str:
    champ = store.champion()
    if champ is None:
        return "none yet"
    backs = {b["champion"]: b for b in rollbacks(store)}
    origin = "the initial program" if champ.round is None else f"from round {champ.round}"
    if champ.id in backs:
        back = backs[champ.id]
        again = "" if back["restored"] is None else f" #{back['restored']}"
        origin += f", restored{again} by the rollback of #{back['rolled_back']}"
    return (f"#{champ.id} (code {champ.code_hash[:12]}, {origin}), serving after batch "
            f"{champ.since_seq}, since {_when(champ.at)}")  # fmt: skip


def _round(r: RoundRow) -> str:
    text = f"#{r.id} {r.state}, triggered at batch {r.trigger_seq}, since {_when(r.started_at)}"
    if r.state == "shadow":
        text += f", {r.shadow_done} shadow batches done"
    return text + (f", challenger {r.challenger[:12]}" if r.challenger else "")


def _round_view(r: RoundRow, why: str) -> dict[str, Any]:
    return {"id": r.id, "trigger_seq": r.trigger_seq, "ended_seq": r.ended_seq, "state": r.state,
            "challenger": r.challenger, "shadow_done": r.shadow_done, "started_at": r.started_at,
            "ended_at": r.ended_at, "why": why, "result": r.result}  # fmt: skip


def _rounds_view(store: StreamStore) -> list[dict[str, Any]]:
    """Every round, with ``why``: the reason of the last event about it (a promotion's,
    a decline's, an approval request's), or ``""``."""
    why: dict[Any, str] = {}
    for _, data in _events(store, _ROUND_EVENTS):
        if "round" in data and data.get("reason"):
            why[data["round"]] = str(data["reason"])
    return [_round_view(r, why.get(r.id, "")) for r in store.rounds()]


def _champion_view(c: ChampionRow) -> dict[str, Any]:
    return {"id": c.id, "code_hash": c.code_hash, "round": c.round, "parent": c.parent,
            "since_seq": c.since_seq, "state": c.state, "reason": c.reason, "at": c.at}  # fmt: skip


def _events(store: StreamStore, kinds: Sequence[str]) -> list[tuple[int | None, dict[str, Any]]]:
    """The events of these kinds, oldest first (one query: batch events are many)."""
    marks = ", ".join("?" for _ in kinds)
    rows = store.db.execute(
        f"SELECT seq, data FROM events WHERE kind IN ({marks}) ORDER BY id", tuple(kinds)
    )
    out = []
    for seq, data in rows:
        try:
            value = json.loads(data)
        except json.JSONDecodeError:
            continue
        out.append((seq, value if isinstance(value, dict) else {}))
    return out


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if v == v and abs(v) != float("inf") else None


def _when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"
