"""The audit trail: an append-only, hash-chained JSONL log, one per run.

Each line is one entry, a JSON object with the keys ``seq`` (1, 2, 3, ...),
``at`` (Unix time in seconds), ``event`` (a short name such as ``run_start``,
``promotion``, ``approval``, ``rollback``), ``data`` (a JSON object), ``prev``
(the ``hash`` of the entry before it; :data:`GENESIS` for the first) and
``hash``: the sha256 of the canonical JSON (sorted keys, compact separators) of
the entry without its ``hash``, so it covers seq, at, event, data and prev.

What :func:`~evoforge.governance.audit_verify.verify` can tell from the file alone: an edited line (its hash no
longer matches its content), a deleted line (a gap in ``seq``), reordered lines
(``seq`` going backwards), a forged or replaced line (a ``prev`` that is not the
hash of the entry before it) and a line that is not JSON. What the file alone
cannot show is lines removed from the end, a tail rewritten with fresh hashes, or
a line appended with a correct hash: the chain detects tampering, it does not
prevent it, since whoever can write the file can rewrite all of it. So the driver
records each entry somewhere else (the run's archive) twice: as ``pending`` before
the line is written (:meth:`AuditLog.prepare` computes it), as ``anchor`` after
(:meth:`AuditLog.write`), and passes both to :func:`verify`. A crash between the two
records leaves the log one entry past the anchor; that entry verifies only if it is
the pending one, so a line appended by anything else fails.

Concurrency contract: one writer. Only one process (the driver, or a command run
while no driver runs) appends to a log, through one :class:`AuditLog`; an
instance is not thread-safe. Each append is one ``write`` to a file opened with
``O_APPEND``, then ``fsync``, so an entry is durable when :meth:`AuditLog.append`
returns. Readers may read at any time; a crash mid-write can leave a torn last
line, which :func:`verify` reports and the next append starts after.
"""

from __future__ import annotations

import enum
import hashlib
import json
import numbers
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
"""The ``prev`` of the first entry."""


@dataclass(frozen=True)
class AuditEntry:
    """One line of the log, as written."""

    seq: int
    at: float
    event: str
    data: Mapping[str, Any]
    prev: str
    hash: str

    def content(self) -> dict[str, Any]:
        """What the hash covers: every field but ``hash``."""
        return {
            "seq": self.seq,
            "at": self.at,
            "event": self.event,
            "data": dict(self.data),
            "prev": self.prev,
        }


class AuditLog:
    """Appends hash-chained entries to one JSONL file (see the module docstring).

    The constructor stores the path only; the file is created by the first
    append, and the chain's head is read from it on first use.
    """

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.clock = clock
        self._head: tuple[int, str] | None = None
        self._torn_tail = False

    def append(self, event: str, /, **data: Any) -> AuditEntry:
        """Write one entry and fsync it; ``data`` must be JSON-like (mappings,
        sequences, str, numbers, bool, None, paths, enums)."""
        return self.write(self.prepare(event, **data))

    def prepare(self, event: str, /, **data: Any) -> AuditEntry:
        """The entry that :meth:`write` would append next, hashed but not written (so its
        (seq, hash) can be recorded elsewhere first)."""
        seq, prev = self.head()
        content = {
            "seq": seq + 1,
            "at": float(self.clock()),
            "event": str(event),
            "data": _plain(data),
            "prev": prev,
        }
        return _entry(content, digest(content))

    def write(self, entry: AuditEntry) -> AuditEntry:
        """Append a prepared entry and fsync it; ValueError if it no longer follows the
        head (another entry was written since it was prepared)."""
        if (entry.seq - 1, entry.prev) != self.head():
            raise ValueError(f"entry seq {entry.seq} does not follow the log's head")
        line = json.dumps(
            {**entry.content(), "hash": entry.hash}, separators=(",", ":"), allow_nan=True
        )
        payload = (("\n" if self._torn_tail else "") + line + "\n").encode("utf-8")
        self._write(payload)
        self._torn_tail = False
        self._head = (entry.seq, entry.hash)
        return entry

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the last entry; ``(0, GENESIS)`` for an empty or absent log."""
        if self._head is None:
            self._head = (0, GENESIS)
            raw = self.path.read_bytes() if self.path.exists() else b""
            self._torn_tail = bool(raw) and not raw.endswith(b"\n")
            for line in reversed(raw.splitlines()):
                try:
                    last = parse_line(line)
                except ValueError:
                    continue
                self._head = (last.seq, last.hash)
                break
        return self._head

    def entries(self) -> list[AuditEntry]:
        """Every line that parses as an entry, in file order; :func:`verify` reports the rest."""
        if not self.path.exists():
            return []
        found: list[AuditEntry] = []
        for line in self.path.read_bytes().splitlines():
            try:
                found.append(parse_line(line))
            except ValueError:
                continue
        return found

    def _write(self, payload: bytes) -> None:
        created = not self.path.exists()
        if created:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:  # the new name must survive a crash too
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


def parse_line(line: bytes | str) -> AuditEntry:
    """One line as an entry; ValueError says why it is not one (the hash is not checked)."""
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError("not valid JSON") from None
    if not isinstance(obj, dict):
        raise ValueError("not an entry (not a JSON object)")
    kinds: dict[str, type | tuple[type, ...]] = {
        "seq": int,
        "at": (int, float),
        "event": str,
        "data": dict,
        "prev": str,
        "hash": str,
    }
    for key, kind in kinds.items():
        if key not in obj:
            raise ValueError(f"not an entry (no {key!r})")
        if not isinstance(obj[key], kind) or isinstance(obj[key], bool):
            raise ValueError(f"not an entry ({key!r} has the wrong type)")
    if set(obj) != set(kinds):
        raise ValueError(
            f"not an entry (unexpected keys: {', '.join(sorted(set(obj) - set(kinds)))})"
        )
    return AuditEntry(obj["seq"], obj["at"], obj["event"], obj["data"], obj["prev"], obj["hash"])


def digest(content: Mapping[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _entry(content: Mapping[str, Any], digest: str) -> AuditEntry:
    return AuditEntry(
        content["seq"], content["at"], content["event"], content["data"], content["prev"], digest
    )


def _plain(value: Any) -> Any:
    """``value`` as the JSON it will be read back as, so the hash written is the hash
    recomputed from the line (tuples become lists, paths strings, keys strings)."""
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):  # numpy integers too
        return int(value)
    if isinstance(value, numbers.Real):  # NaN and inf are written as JSON's NaN/Infinity
        return float(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    raise TypeError(f"audit data must be JSON-like, not {type(value).__name__}")
