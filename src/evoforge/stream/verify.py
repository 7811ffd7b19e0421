"""Checking a stream's audit trail whole: its own log, every event in it, every round's."""

from __future__ import annotations

from pathlib import Path

from evoforge.archive import SQLiteArchive
from evoforge.governance.audit import AuditLog
from evoforge.governance.audit_verify import VerifyReport, format_report
from evoforge.governance.run_audit import Audit
from evoforge.stream.moves import stream_audit
from evoforge.stream.store import StreamStore


def verify_stream(store: StreamStore) -> tuple[bool, list[str]]:
    """(ok, report lines): the stream log's chain and anchor, each event audited once
    and in order, each round run's log, and each round's end anchored in the stream log."""
    lines: list[str] = []
    report = stream_audit(store).verify()
    lines.append(format_report(report))
    ok = report.ok
    logged = [
        dict(e.data).get("event_id") for e in AuditLog(store.folder / "audit.jsonl").entries()
    ]
    pending = {e.id for e in store.events(unaudited=True)}
    missing = sorted({e.id for e in store.events()} - pending - set(logged))
    if missing:
        ok = False
        lines.append(f"events recorded as audited but not in the log: {missing}")
    twice = sorted({i for i in logged if i is not None and logged.count(i) > 1})
    if twice:
        ok = False
        lines.append(f"events written to the log more than once: {twice}")
    if [i for i in logged if i is not None] != sorted(i for i in logged if i is not None):
        ok = False
        lines.append("the log's events are out of the archive's order")
    for rnd in store.rounds():
        run = rnd.result.get("run")
        if not run:
            continue
        r = _round_report(Path(run))
        status = "ok" if r.ok else "FAILED"
        lines.append(f"round {rnd.id}: {r.entries} entries, {status} ({run})")
        if not r.ok:
            ok = False
            lines.append(format_report(r))
    return ok, lines


def _round_report(run: Path) -> VerifyReport:
    with SQLiteArchive(run / "archive.sqlite", readonly=True) as archive:
        return Audit(AuditLog(run / "audit.jsonl"), archive).verify()
