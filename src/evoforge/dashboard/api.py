"""JSON views of a run for the dashboard, built read-only from its archive.

Every function here takes a run folder and returns plain JSON-ready values; none
writes anything. The candidate list is one SQL query returned as parallel arrays
(one per column), so a run of 5,000 candidates is a few hundred kilobytes and
tens of milliseconds; clients ask again with ``since`` to get only what changed.
A stream's views (``stream``, ``stream_brief``) take its folder instead.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evoforge.archive import ApprovalState, Archive, SQLiteArchive
from evoforge.archive.sqlite import connect
from evoforge.candidate import Candidate, Status
from evoforge.candidate_view import decline_reason
from evoforge.governance.audit import AuditLog
from evoforge.governance.audit_verify import verify
from evoforge.governance.run_audit import Audit
from evoforge.governance.rundir import ARCHIVE, RunDir
from evoforge.program import unified_diff
from evoforge.stream.store import DB as STREAM_DB
from evoforge.stream.store import StreamStore
from evoforge.stream.view import live_watcher, stream_rows, stream_series
from evoforge.summary import elapsed_seconds, hidden_kinds, portfolio_members
from evoforge.summary import run_state as summary_state

AUDIT_TAIL = 200
"""How many of the newest audit entries a run view carries."""


def open_archive(run: RunDir) -> SQLiteArchive:
    return SQLiteArchive(run.archive, readonly=True)


def list_runs(runs_dir: Path) -> list[dict[str, Any]]:
    """Every run folder under ``runs_dir``, newest first, with its state and best figures."""
    if not runs_dir.is_dir():
        return []
    folders = [p for p in runs_dir.iterdir() if (p / ARCHIVE).is_file()]
    folders.sort(key=lambda p: p.name, reverse=True)
    out = []
    for folder in folders:
        run = RunDir(folder)
        with open_archive(run) as archive:
            config = archive.get_meta("config", {})
            objective, heldout = metric_names(config)
            counts = archive.counts()
            champ = archive.champion()
            best = None if champ is None else _figures(champ, objective, heldout, config)
            out.append(
                {
                    "name": run.name,
                    "state": run_state(run, archive),
                    "objective": objective,
                    "heldout_metric": heldout,
                    "hidden_metrics": hidden_metrics(config),
                    "evaluated": counts[Status.SUCCEEDED] + counts[Status.FAILED],
                    "budget": (config.get("budget") or {}).get("candidates"),
                    "pending_approvals": len(archive.approvals(states=[ApprovalState.PENDING])),
                    "champion": best,
                    "started_at": archive.get_meta("started_at"),
                    "proposer": str((config.get("proposer") or {}).get("kind", "mutate")),
                    "elapsed_s": float(archive.get_meta("elapsed_s", 0.0) or 0.0),
                }
            )
    return out


def importances(run: RunDir) -> dict[str, Any]:
    """fANOVA importances of the run's declared parameters (largest first), with the
    (value, objective) points of the top three."""
    from evoforge.candidate_rows import candidate_rows
    from evoforge.dashboard.importances import importances as rank
    from evoforge.dashboard.importances import slices

    with open_archive(run) as archive:
        config = archive.get_meta("config", {})
        rows = candidate_rows(archive)
    objective, _ = metric_names(config)
    maximize = (config.get("task") or {}).get("direction", "maximize") == "maximize"
    got = rank(rows, objective, maximize=maximize)
    top = list(got.values)[:3]
    return {
        "objective": objective,
        "trials": got.trials,
        "why_none": got.why_none,
        "importances": [{"name": n, "importance": v} for n, v in got.values.items()],
        "slices": {
            n: [[_plain(v), s] for v, s in pts] for n, pts in slices(rows, objective, top).items()
        },
    }


def _plain(v: Any) -> Any:
    return v if isinstance(v, bool | int | float | str) or v is None else repr(v)


def stream_brief(folder: Path) -> dict[str, Any] | None:
    """The stream of an experiment (``EXPERIMENT/stream``) for the runs page, or None
    where it has none: its state, batches, champion and rounds waiting for approval."""
    if not (folder / STREAM_DB).is_file():
        return None
    try:  # the runs page must not fail with it (a stream archive of a newer schema...)
        store = StreamStore(folder, readonly=True)
        try:
            rows = stream_rows(store, live_pid=live_watcher(store))
        finally:
            store.close()
    except sqlite3.Error as exc:
        return {"path": str(folder), "state": f"unreadable: {exc}", "batches": 0,
                "champion": "–", "pending_approvals": 0}  # fmt: skip
    found = dict(rows)
    return {"path": str(folder), "state": found["state"], "batches": int(found["batches"]),
            "champion": found["champion"],
            "pending_approvals": sum(k == "approval" for k, _ in rows)}  # fmt: skip


def stream(folder: Path) -> dict[str, Any]:
    """A stream's status rows (as ``evoforge status STREAM`` prints them) and its chart
    series (see :mod:`evoforge.stream.view`), read-only from its archive."""
    store = StreamStore(folder, readonly=True)
    try:
        rows = stream_rows(store, live_pid=live_watcher(store))
        return {"name": folder.parent.name, "path": str(folder), "rows": [list(r) for r in rows],
                "series": stream_series(store), "now": time.time()}  # fmt: skip
    finally:
        store.close()


def overview(run: RunDir) -> dict[str, Any]:
    """State, counts, budget, champion history, approvals and the audit trail of a run."""
    with open_archive(run) as archive:
        config: Mapping[str, Any] = archive.get_meta("config", {})
        objective, heldout = metric_names(config)
        counts = archive.counts()
        champ = archive.champion()
        approvals = []
        for a in archive.approvals():
            cand = archive.get(a.candidate_id)
            approvals.append(
                {
                    "candidate": a.candidate_id,
                    "state": a.state.value,
                    "evidence": dict(a.evidence),
                    "requested_at": a.requested_at,
                    "decided_at": a.decided_at,
                    "who": a.who,
                    "reason": a.reason,
                    "why": _why(a.state, a.evidence, a.who, a.reason),
                    "flags": list(cand.flags),
                    "figures": _figures(cand, objective, heldout, config),
                    "reruns": [_rerun(r) for r in archive.reruns(a.candidate_id)],
                }
            )
        state = run_state(run, archive)
        return {
            "name": run.name,
            "path": str(run.path),
            "state": state,
            "objective": objective,
            "direction": str((config.get("task") or {}).get("direction", "maximize")),
            "heldout_metric": heldout,
            "hidden_metrics": hidden_metrics(config),
            "counts": {s.value: n for s, n in counts.items()},
            "budget": dict(config.get("budget") or {}),
            "llm_budget": _llm_budget(config),
            "elapsed_s": elapsed_seconds(archive, running=state == "running"),
            "sandbox": dict(archive.get_meta("sandbox", {}) or {}),
            "allow_weak": bool(archive.get_meta("allow_weak", False)),
            "champion": None if champ is None else _figures(champ, objective, heldout, config),
            "champion_line": champion_line(archive, objective, heldout),
            "champion_history": [
                {
                    "seq": m.seq,
                    "candidate": m.candidate_id,
                    "action": m.action,
                    "reason": m.reason,
                    "at": m.at,
                }
                for m in archive.champion_history()
            ],
            "approvals": approvals,
            "portfolio": portfolio_members(archive),
            "audit": audit_view(run, archive),
            "now": time.time(),
        }


def points(run: RunDir, *, since: int = 0) -> dict[str, Any]:
    """Candidates with ``id > since`` as parallel arrays, plus ``stable``: the largest id
    up to which every candidate is finished (ask again with ``since=stable``)."""
    conn = connect(run.archive, readonly=True)
    try:
        config = json.loads(
            (conn.execute("SELECT value FROM meta WHERE key='config'").fetchone() or ["{}"])[0]
        )
        objective, heldout = metric_names(config)
        hidden = list(hidden_kinds(config))
        rows = conn.execute(
            "SELECT id, parent_ids, status, proposer, operator, metrics, heldout, flags, "
            "created_at, finished_at, extra FROM candidates WHERE id > ? ORDER BY id",
            (since,),
        ).fetchall()
    finally:
        conn.close()
    cols: dict[str, list[Any]] = {
        k: []
        for k in ("id", "parent", "parent2", "status", "proposer", "score", "heldout",
                  "hidden", "flags", "t", "tokens", "cost")
    }  # fmt: skip
    proposers: list[str] = []
    stable = since
    for (
        cid,
        parents,
        status,
        proposer,
        operator,
        metrics,
        held,
        flags,
        created,
        finished,
        extra,
    ) in rows:
        parent_ids = json.loads(parents)
        name = f"{proposer}/{operator}" if operator else proposer
        if name not in proposers:
            proposers.append(name)
        x = json.loads(extra) if extra != "{}" else {}
        cols["id"].append(cid)
        cols["parent"].append(parent_ids[0] if parent_ids else 0)
        cols["parent2"].append(parent_ids[1] if len(parent_ids) > 1 else 0)
        cols["status"].append(status)
        cols["proposer"].append(name)
        cols["score"].append(_finite(json.loads(metrics).get(objective)))
        held_values = json.loads(held)
        cols["heldout"].append(_finite(held_values.get(heldout)))
        cols["hidden"].append([_finite(held_values.get(name)) for name in hidden])
        cols["flags"].append(json.loads(flags))
        cols["t"].append(finished or created)
        cols["tokens"].append(int(x.get("tokens_in", 0)) + int(x.get("tokens_out", 0)))
        cols["cost"].append(float(x.get("cost", 0.0)))
        if stable == cid - 1 and Status(status).is_finished():
            stable = cid
    return {"since": since, "stable": stable, "proposers": proposers, "hidden_metrics": hidden,
            **cols}  # fmt: skip


def candidate(run: RunDir, cid: int) -> dict[str, Any]:
    """Everything about one candidate: record, code, diffs to parent and seed, re-runs,
    approval and, for LLM candidates, the prompt and the raw answer. KeyError if absent."""
    with open_archive(run) as archive:
        c = archive.get(cid)
        config = archive.get_meta("config", {})
        code = archive.get_code(c.code_hash)
        seed = archive.get(1)
        parent = archive.get(c.parent_ids[0]) if c.parent_ids else None
        diff_parent = (
            unified_diff(archive.get_code(parent.code_hash), code) if parent is not None else ""
        )
        diff_seed = unified_diff(archive.get_code(seed.code_hash), code) if cid != 1 else ""
        texts = {}
        for key in ("prompt", "response"):
            blob = c.extra.get(f"{key}_blob")
            if blob:
                try:
                    texts[key] = archive.get_blob(str(blob))
                except KeyError:
                    texts[key] = ""
        approval = next((a for a in archive.approvals() if a.candidate_id == cid), None)
        history = archive.champion_history()
        children = [d.id for d in archive.candidates(since_id=cid) if d.parent_ids[:1] == (cid,)]
        objective, heldout = metric_names(config)
        return {
            "id": c.id,
            "status": c.status.value,
            "parents": list(c.parent_ids),
            "children": children,
            "generation": c.generation,
            "island": c.island,
            "proposer": c.proposer,
            "operator": c.operator,
            "objective": objective,
            "heldout_metric": heldout,
            "hidden_metrics": hidden_metrics(config),
            "metrics": dict(c.metrics),
            "heldout": dict(c.heldout),
            "flags": list(c.flags),
            "failure": c.failure,
            "note": c.note,
            "created_at": c.created_at,
            "finished_at": c.finished_at,
            "wall_s": c.wall_s,
            "cpu_s": c.cpu_s,
            "max_rss_kb": c.max_rss_kb,
            "exit_code": c.exit_code,
            "attempts": c.attempts,
            "stdout_tail": c.stdout_tail[-4000:],
            "stderr_tail": c.stderr_tail[-4000:],
            "llm": {
                k: c.extra[k] for k in ("model", "tokens_in", "tokens_out", "cost") if k in c.extra
            },
            "fallback": str(c.extra.get("fallback", "")),
            **texts,
            "code": code,
            "diff_parent": diff_parent,
            "diff_seed": diff_seed,
            "reruns": [_rerun(r) for r in archive.reruns(cid)],
            "approval": None
            if approval is None
            else {
                "state": approval.state.value,
                "who": approval.who,
                "reason": approval.reason,
                "why": _why(approval.state, approval.evidence, approval.who, approval.reason),
                "evidence": dict(approval.evidence),
            },
            "champion_moves": [
                {"seq": m.seq, "action": m.action, "at": m.at, "reason": m.reason}
                for m in history
                if m.candidate_id == cid
            ],
            "is_champion": bool(history) and history[-1].candidate_id == cid,
        }


def audit_view(run: RunDir, archive: Archive) -> dict[str, Any]:
    """The audit trail's verification (against what the archive recorded of it, as
    ``evoforge audit verify`` does) and its newest entries (newest last)."""
    anchor, pending = Audit.recorded(archive)
    report = verify(run.audit, anchor=anchor, pending=pending)
    entries = []
    try:
        found = list(AuditLog(run.audit).entries())
    except (OSError, ValueError):
        found = []
    for e in found[-AUDIT_TAIL:]:
        entries.append({"seq": e.seq, "at": e.at, "event": e.event, "data": dict(e.data)})
    return {"ok": report.ok, "entries_total": report.entries, "problems": report.problems,
            "entries": entries}  # fmt: skip


def metric_names(config: Mapping[str, Any]) -> tuple[str, str]:
    """The search objective and the hidden metric plotted beside it (the first declared:
    held-out, else gate; every one is listed by :func:`hidden_metrics`)."""
    task = config.get("task") or {}
    objective = str(task.get("objective", ""))
    hidden = list(hidden_kinds(config))
    return objective, hidden[0] if hidden else objective


def hidden_metrics(config: Mapping[str, Any]) -> list[dict[str, str]]:
    """Every hidden metric the config declares, held-out ones then gate ones, each with
    its ``kind`` ("held-out" or "gate"): views show them all, labelled."""
    return [{"name": name, "kind": kind} for name, kind in hidden_kinds(config).items()]


def champion_line(archive: Archive, objective: str, heldout: str) -> list[dict[str, Any]]:
    """The champion's figures over time, one point per move of the champion (seed,
    promotion, rollback), oldest first: the "best" line the views plot as a step line.
    A challenger that scored higher but was declined never appears here."""
    out = []
    for m in archive.champion_history():
        c = archive.get(m.candidate_id)
        out.append({"t": m.at, "id": c.id, "action": m.action,
                    "score": _finite(c.metrics.get(objective)),
                    "heldout": _finite(c.heldout.get(heldout))})  # fmt: skip
    return out


def run_state(run: RunDir, archive: Archive) -> str:
    """As ``evoforge status`` says it: a run left "running" by a dead driver crashed."""
    return summary_state(archive, live_pid=run.driver_pid(), run_path=str(run.path))


def _llm_budget(config: Mapping[str, Any]) -> dict[str, Any]:
    llm = (config.get("proposer") or {}).get("llm") or {}
    return {"max_tokens": llm.get("max_tokens"), "max_cost": llm.get("max_cost")}


def _figures(
    c: Candidate, objective: str, heldout: str, config: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "id": c.id,
        "status": c.status.value,
        "score": _finite(c.metrics.get(objective)),
        "heldout": _finite(c.heldout.get(heldout)),
        "hidden": {name: _finite(c.heldout.get(name)) for name in hidden_kinds(config)},
        "flags": list(c.flags),
    }


def _why(state: ApprovalState, evidence: Mapping[str, Any], who: str, reason: str) -> str:
    """What a decided approval says: a person's reason, or the promoter's from its evidence."""
    if state == ApprovalState.DECLINED:
        return decline_reason(evidence)
    return f"{who}: {reason}" if who else reason


def _rerun(r: Any) -> dict[str, Any]:
    return {"seed": r.seed, "ok": r.ok, "metrics": dict(r.metrics), "heldout": dict(r.heldout),
            "failure": r.failure}  # fmt: skip


def _finite(value: Any) -> float | None:
    """JSON has no NaN or infinity: such values travel as null (a flag says why)."""
    if value is None:
        return None
    v = float(value)
    return v if v == v and abs(v) != float("inf") else None
