"""Human control of a run: approve, reject, rollback — one code path for CLI, dashboard and loop.

The driver is the only writer of a run's archive. While it runs, a person's
decision is written as a request file into ``RUN/requests/`` and the driver
applies it at its next step; when no driver runs, the command applies it
directly. Either way the same function below makes the change and appends it to
the audit trail, whose head is anchored in the archive so that removing lines
from the end of the log is detected too.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

from evoforge.archive import Approval, ApprovalState, Archive, SQLiteArchive
from evoforge.config import ConfigError, parse_snapshot
from evoforge.governance.audit import AuditLog
from evoforge.governance.promotion import Promoter
from evoforge.governance.run_audit import Audit, promote
from evoforge.governance.rundir import RunDir

__all__ = [
    "ACTIONS", "Audit", "ControlError", "answer", "apply", "approve", "best_promotable",
    "decide", "promote", "reject", "rollback", "stop", "submit_request", "take_requests",
]  # fmt: skip


class ControlError(ValueError):
    """The requested action is not possible (wrong state, unknown candidate...)."""


def approve(archive: Archive, audit: Audit, cid: int, *, who: str, reason: str) -> str:
    """Promote pending #cid, after re-checking its evidence against the champion of now
    (it may have changed since the request); refused, and audited, when it fails."""
    record = _pending(archive, cid)
    evidence = _promoter(archive, audit).recheck(cid)
    if evidence["why_not"]:
        audit.append("approval_refused", candidate=cid, who=who, reason=reason, evidence=evidence)
        raise ControlError(
            f"#{cid} was not promoted: {evidence['why_not']} (re-checked against the "
            f"current champion #{evidence['champion']}; reject it to close the request)"
        )
    archive.put_approval(_decided(record, ApprovalState.APPROVED, who, reason, evidence))
    audit.append("approval", candidate=cid, who=who, reason=reason)
    promote(archive, audit, cid, who=who, reason=reason, evidence=evidence)
    return (
        f"candidate #{cid} approved and promoted to champion (gain {evidence['gain']:.4g} "
        f"over #{evidence['champion']}, re-checked)"
    )


def best_promotable(archive: Archive, audit: Audit) -> int:
    """The best pending challenger that may still be promoted (see
    ``Promoter.ranked_pending``); ControlError naming why when there is none."""
    promoter = _promoter(archive, audit)
    ranked = promoter.ranked_pending()
    if not ranked:
        raise ControlError("no promotion is waiting for approval")
    reasons: list[str] = []
    for cand in ranked:
        why = promoter.recheck(cand.id)["why_not"]
        if not why:
            return cand.id
        reasons.append(f"#{cand.id}: {why}")
    raise ControlError("no pending challenger can be promoted now: " + "; ".join(reasons))


def reject(archive: Archive, audit: Audit, cid: int, *, who: str, reason: str) -> str:
    record = _pending(archive, cid)
    archive.put_approval(_decided(record, ApprovalState.REJECTED, who, reason))
    audit.append("rejection", candidate=cid, who=who, reason=reason)
    return f"candidate #{cid} rejected; the champion is unchanged"


def rollback(archive: Archive, audit: Audit, cid: int, *, who: str, reason: str) -> str:
    history = archive.champion_history()
    current = history[-1].candidate_id if history else None
    if cid not in {m.candidate_id for m in history}:
        raise ControlError(f"#{cid} was never champion; rollback moves back to a former champion")
    if cid == current:
        raise ControlError(f"#{cid} is already the champion")
    archive.move_champion(cid, action="rollback", reason=f"{who}: {reason}")
    audit.append("rollback", candidate=cid, previous=current, who=who, reason=reason)
    return f"champion rolled back from #{current} to #{cid}"


ACTIONS = {"approve": approve, "reject": reject, "rollback": rollback}


def apply(archive: Archive, audit: Audit, request: dict[str, Any]) -> str:
    """Carry out a person's request; ``"best": true`` with approve means the best pending
    challenger that may still be promoted (resolved here, by the archive's one writer)."""
    action = ACTIONS.get(str(request.get("action")))
    if action is None:
        raise ControlError(f"unknown action {request.get('action')!r}")
    if request.get("best"):
        if action is not approve:
            raise ControlError("best applies to approve only")
        cid = best_promotable(archive, audit)
    else:
        cid = int(request["candidate"])
    try:
        archive.get(cid)
    except KeyError:
        raise ControlError(f"no candidate #{cid}") from None
    return action(archive, audit, cid, who=str(request["who"]), reason=str(request["reason"]))


# -- requests to a running driver -----------------------------------------------------


def submit_request(
    run_path: Path, action: str, candidate: int, *, who: str, reason: str, best: bool = False
) -> Path:
    folder = run_path / "requests"
    folder.mkdir(exist_ok=True)
    body = {
        "action": action,
        "candidate": candidate,
        "who": who,
        "reason": reason,
        "at": time.time(),
        **({"best": True} if best else {}),
    }
    name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}"
    tmp = folder / f".{name}.tmp"
    tmp.write_text(json.dumps(body))
    final = folder / f"{name}.json"
    os.replace(tmp, final)  # atomic: the driver never sees half a request
    return final


def take_requests(run_path: Path) -> list[tuple[Path, dict[str, Any]]]:
    folder = run_path / "requests"
    if not folder.is_dir():
        return []
    out: list[tuple[Path, dict[str, Any]]] = []
    for path in sorted(folder.glob("*.json")):
        try:
            out.append((path, json.loads(path.read_text())))
        except (OSError, json.JSONDecodeError):
            continue
    return out


def answer(path: Path, text: str, *, ok: bool) -> None:
    """The driver's answer to a request, read back by the command that sent it."""
    path.with_suffix(".done").write_text(json.dumps({"ok": ok, "message": text}))
    path.unlink(missing_ok=True)


def _pending(archive: Archive, cid: int) -> Approval:
    for record in archive.approvals():
        if record.candidate_id == cid:
            if record.state != ApprovalState.PENDING:
                raise ControlError(f"#{cid} is not waiting for approval (it is {record.state})")
            return record
    raise ControlError(f"#{cid} is not waiting for approval")


def _decided(
    record: Approval,
    state: ApprovalState,
    who: str,
    reason: str,
    evidence: dict[str, Any] | None = None,
) -> Approval:
    return Approval(
        record.candidate_id,
        state,
        record.evidence if evidence is None else evidence,
        record.requested_at,
        time.time(),
        who,
        reason,
    )


def _promoter(archive: Archive, audit: Audit) -> Promoter:
    """The run's promoter, built from the config snapshot the run started with (the
    same settings the driver judges by), for recomputing evidence from stored runs."""
    snapshot = archive.get_meta("config")
    if snapshot is None:
        raise ControlError(
            "the archive holds no config snapshot, so a promotion cannot be re-checked"
        )
    try:
        config = parse_snapshot(snapshot, source="the run's config snapshot")
    except ConfigError as exc:
        raise ControlError(str(exc)) from None
    return Promoter(archive, audit, config.task, config.promotion, base_seed=config.experiment.seed)


# -- the one entry point for people (CLI and dashboard) ---------------------------------


def decide(
    run: RunDir,
    action: str,
    candidate: int,
    *,
    who: str,
    reason: str,
    wait: float = 30.0,
    best: bool = False,
) -> str:
    """Approve, reject or roll back, for a person: through the driver's request folder
    while a driver runs (it is the only writer), directly when none does. ``best``
    approves the best pending challenger that may still be promoted (``candidate`` is
    then ignored). Returns the message to show; raises ControlError when the action is
    refused or goes unanswered."""
    if not reason.strip():
        raise ControlError(f"{action} needs a reason (it is recorded in the audit trail)")
    if action not in ACTIONS:
        raise ControlError(f"unknown action {action!r}")
    request: dict[str, Any] = {"action": action, "candidate": candidate, "who": who}
    request.update(reason=reason, **({"best": True} if best else {}))
    if run.driver_pid() is None:
        with SQLiteArchive(run.archive) as archive:
            return apply(archive, Audit(AuditLog(run.audit), archive), request)
    path = submit_request(run.path, action, candidate, who=who, reason=reason, best=best)
    done = path.with_suffix(".done")
    deadline = time.monotonic() + wait
    while not done.exists():
        if time.monotonic() > deadline or run.driver_pid() is None:
            raise ControlError(f"the driver did not answer; the request waits in {path}")
        time.sleep(0.1)
    reply = json.loads(done.read_text())
    done.unlink(missing_ok=True)
    if not reply["ok"]:
        raise ControlError(str(reply["message"]))
    return str(reply["message"])


def stop(run: RunDir, *, drain: bool = False, wait: float = 30.0) -> str:
    """Stop a run's driver (kill running candidates, or let them finish with ``drain``);
    returns the run's state afterwards: "not running", "stopped" or "stopping"."""
    pid = run.driver_pid()
    run.request_stop("drain" if drain else "now")
    if pid is None:
        run.clear_stop()  # nobody would read it; a later resume must not stop at once
        return "not running"
    if not drain:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while run.driver_pid() is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    return "stopped" if run.driver_pid() is None else "stopping"
