"""The run's audit trail, anchored in its archive, and the audited move of a promotion.

Below both the promoter (which promotes) and the people's controls (approve, reject,
rollback), which therefore import it and not each other's modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from evoforge.archive import Archive
from evoforge.governance.audit import GENESIS, AuditLog
from evoforge.governance.audit_verify import VerifyReport, verify


class MetaStore(Protocol):
    """Where the audit anchor is kept: a run's archive, or a stream's."""

    def set_meta(self, key: str, value: Any) -> None: ...

    def get_meta(self, key: str, default: Any = None) -> Any: ...


@dataclass
class AnchoredAudit:
    """An audit log anchored in a store (a run's archive, a stream's): each entry's (seq, hash) is recorded
    as ``audit_pending`` before its line is written and as ``audit_head`` after.

    A crash between the writes leaves the log one entry past ``audit_head``; it
    verifies because that entry is the pending one, and the next append goes on from
    it. A line appended by anything else is not pending, and fails :meth:`verify`.
    """

    log: AuditLog
    archive: MetaStore

    def append(self, event: str, **data: Any) -> None:
        entry = self.log.prepare(event, **data)
        self.archive.set_meta("audit_pending", [entry.seq, entry.hash])
        self.log.write(entry)
        self.archive.set_meta("audit_head", [entry.seq, entry.hash])

    def verify(self) -> VerifyReport:
        """The log checked against what the archive recorded of it."""
        anchor, pending = self.recorded(self.archive)
        return verify(self.log.path, anchor=anchor, pending=pending)

    @staticmethod
    def recorded(
        archive: MetaStore,
    ) -> tuple[tuple[int, str] | None, tuple[int, str] | None]:
        """(anchor, pending) as :func:`evoforge.governance.audit.verify` takes them; the anchor is
        None for a run that recorded nothing (its log is checked on its own)."""
        head, pending = archive.get_meta("audit_head"), archive.get_meta("audit_pending")
        anchor = None if head is None else (int(head[0]), str(head[1]))
        if anchor is None and pending is not None:
            anchor = (0, GENESIS)  # about to write its first entry when it stopped
        return anchor, None if pending is None else (int(pending[0]), str(pending[1]))


@dataclass
class Audit(AnchoredAudit):
    """A run's audit trail, anchored in the run's archive."""

    archive: Archive


def promote(
    archive: Archive, audit: Audit, cid: int, *, who: str, reason: str, evidence: dict[str, Any]
) -> None:
    move = archive.move_champion(cid, action="promote", reason=f"{who}: {reason}")
    audit.append(
        "promotion", candidate=cid, who=who, reason=reason, evidence=evidence, seq=move.seq
    )
