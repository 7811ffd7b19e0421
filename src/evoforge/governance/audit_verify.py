"""Checking an audit log: what the chain and the archive's anchor show, and the report.

See :mod:`evoforge.governance.audit` for what the chain can and cannot tell.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from evoforge.governance.audit import GENESIS, AuditEntry, digest, parse_line


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of :func:`verify`: one human-readable line per problem found."""

    path: Path
    entries: int
    """Lines in the log (valid or not)."""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(
    path: Path,
    *,
    anchor: tuple[int, str] | None = None,
    pending: tuple[int, str] | None = None,
) -> VerifyReport:
    """Check the chain of the log at ``path``; ``anchor`` is the (seq, hash) recorded
    elsewhere after the last append (without it, lines removed from the end or added
    to it go unseen), ``pending`` the one recorded before it.

    With an anchor, the log may be one entry ahead of it (a crash between writing
    the line and recording it) only when that entry is ``pending``: any other line
    past the anchor is reported.
    """
    path = Path(path)
    if not path.exists():
        return VerifyReport(path, 0, [f"{path}: no audit log"])
    lines = path.read_bytes().splitlines()
    problems: list[tuple[int, str]] = []
    parsed: list[tuple[int, AuditEntry]] = []
    for n, raw in enumerate(lines, 1):
        try:
            entry = parse_line(raw)
        except ValueError as exc:
            problems.append((n, f"line {n}: {exc}"))
            continue
        if digest(entry.content()) != entry.hash:
            problems.append((n, f"line {n}: edited (hash does not match its content)"))
        parsed.append((n, entry))
    where: dict[int, list[int]] = {}
    for n, entry in parsed:
        where.setdefault(entry.seq, []).append(n)
    problems += _order_problems(parsed, where)
    problems += _chain_problems(parsed, where)
    problems.sort(key=lambda p: p[0])
    messages = [m for _, m in problems]
    if anchor is not None:
        messages += _anchor_problems(parsed, where, anchor, pending)
    return VerifyReport(path, len(lines), messages)


def _order_problems(
    parsed: list[tuple[int, AuditEntry]], where: Mapping[int, list[int]]
) -> list[tuple[int, str]]:
    problems: list[tuple[int, str]] = []
    last_seq, last_line = 0, 0
    for n, entry in parsed:
        s = entry.seq
        if where[s][0] != n:
            problems.append((n, f"line {n}: repeats seq {s} (first at line {where[s][0]})"))
        elif s <= last_seq:
            problems.append((n, f"line {n}: out of order (seq {s} after seq {last_seq})"))
        elif s > last_seq + 1:
            gap = range(last_seq + 1, s)
            later = [g for g in gap if g in where and where[g][0] > n]
            if later:
                at = ", ".join(f"seq {g} is at line {where[g][0]}" for g in later)
                problems.append((n, f"line {n}: out of order (seq {s} after seq {last_seq}; {at})"))
            # Lines between the two entries that are not entries may be the absent ones.
            absent = [g for g in gap if g not in where][n - last_line - 1 :]
            if absent:
                problems.append((n, f"line {n}: {_missing(absent, s)}"))
        last_seq, last_line = s, n
    return problems


def _missing(absent: list[int], found: int) -> str:
    if len(absent) == 1:
        return f"a line is missing before it (seq {absent[0]} expected, found {found})"
    return (
        f"{len(absent)} lines are missing before it "
        f"(seqs {absent[0]}..{absent[-1]} absent, found {found})"
    )


def _chain_problems(
    parsed: list[tuple[int, AuditEntry]], where: Mapping[int, list[int]]
) -> list[tuple[int, str]]:
    """Each entry's prev against the hash of the entry with the seq before it, wherever
    that sits (so reordering is reported once, as such, and not as a broken chain)."""
    by_line = dict(parsed)
    problems: list[tuple[int, str]] = []
    for n, entry in parsed:
        if entry.seq == 1:
            if entry.prev != GENESIS:
                why = "the first entry's prev is not the genesis value"
                problems.append((n, f"line {n}: chain broken ({why})"))
            continue
        before = where.get(entry.seq - 1, [])
        if before and entry.prev not in {by_line[m].hash for m in before}:
            why = f"prev is not the hash of seq {entry.seq - 1} at line {before[0]}"
            problems.append(
                (n, f"line {n}: chain broken ({why}): that line was replaced or this one forged")
            )
    return problems


def _anchor_problems(
    parsed: list[tuple[int, AuditEntry]],
    where: Mapping[int, list[int]],
    anchor: tuple[int, str],
    pending: tuple[int, str] | None,
) -> list[str]:
    seq, digest = int(anchor[0]), str(anchor[1])
    last = max((e.seq for _, e in parsed), default=0)
    if seq <= 0:
        seq = 0
        if last > 1:
            return [_ahead(last, seq)]
        return _unrecorded(parsed, where, seq, pending) if last == 1 else []
    if last < seq:
        return [
            f"the log ends at seq {last} but the archive recorded seq {seq}: "
            "lines were removed from the end"
        ]
    by_line = dict(parsed)
    lines = where.get(seq, [])
    problems: list[str] = []
    if not lines:
        problems.append(f"the archive recorded seq {seq}, which is not in the log")
    elif digest not in {by_line[n].hash for n in lines}:
        problems.append(
            f"the entry at seq {seq} (line {lines[0]}) has hash {by_line[lines[0]].hash[:12]}… "
            f"but the archive recorded {digest[:12]}…: the hash differs, the log was rewritten"
        )
    if last > seq + 1:
        problems.append(_ahead(last, seq))
    elif last == seq + 1:
        problems += _unrecorded(parsed, where, seq, pending)
    return problems


def _unrecorded(
    parsed: list[tuple[int, AuditEntry]],
    where: Mapping[int, list[int]],
    seq: int,
    pending: tuple[int, str] | None,
) -> list[str]:
    """The entry one past the anchor: the pending one (a crash between the writes), or
    a line something other than the driver appended."""
    by_line = dict(parsed)
    lines = where.get(seq + 1, [])
    if pending is not None and int(pending[0]) == seq + 1:
        if str(pending[1]) in {by_line[n].hash for n in lines}:
            return []
        why = "the archive's pending entry has another hash"
    else:
        why = "the archive has no pending entry for it"
    return [
        f"line {lines[0]} (seq {seq + 1}) goes past the archive's record (seq {seq}) and is "
        f"not the entry the driver was writing ({why}): it was appended by something else"
    ]


def _ahead(last: int, seq: int) -> str:
    return (
        f"the log goes on to seq {last} but the archive recorded seq {seq}: "
        "lines were added that the driver did not record"
    )


def format_report(report: VerifyReport) -> str:
    """The report for people and for grep; the last line is ``audit: ok (N entries)``
    or ``audit: FAILED (K problems in N entries)``."""
    lines = [f"audit_log: {report.path}", *report.problems]
    n = report.entries
    if report.ok:
        lines.append(f"audit: ok ({n} {'entry' if n == 1 else 'entries'})")
    else:
        k = len(report.problems)
        lines.append(
            f"audit: FAILED ({k} {'problem' if k == 1 else 'problems'} in "
            f"{n} {'entry' if n == 1 else 'entries'})"
        )
    return "\n".join(lines)
