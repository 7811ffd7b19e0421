"""Frozen records of candidates and what happened when they ran.

A *candidate* is one program proposed in a run. The driver records it before it
runs and again after; these records are values (frozen dataclasses), never live
objects, so they can be passed between processes and stored as they are.
"""

from __future__ import annotations

import array
import base64
import enum
import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

Files = Mapping[str, str]
"""A program: relative file path -> source text."""


class Status(enum.StrEnum):
    """Lifecycle of a candidate.

    PENDING -> RUNNING -> SUCCEEDED | FAILED. A candidate stopped by a gate before it
    runs is REJECTED; a child whose code was already evaluated is DUPLICATE. A
    candidate found PENDING or RUNNING when a run resumes is run again. With
    ``[fidelity]`` rungs, a candidate that ran at a low rung and did not rank high
    enough to continue is STOPPED: it has no full-fidelity metrics, so it is never
    compared with a candidate that has, nor promoted.
    """

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    STOPPED = "stopped"

    def is_finished(self) -> bool:
        return self not in (Status.PENDING, Status.RUNNING)

    def was_evaluated(self) -> bool:
        """True for candidates that used a slot of the candidate budget."""
        return self in (Status.SUCCEEDED, Status.FAILED, Status.STOPPED)


class Flag(enum.StrEnum):
    """The kinds of flag a candidate may carry. A flag is stored as a plain string: its
    kind, or ``kind:metric`` (e.g. ``heldout_drop:gate_acc``)."""

    NON_FINITE = "non_finite"
    OUT_OF_BOUNDS = "out_of_bounds"
    JUMP = "jump"
    HELDOUT_DROP = "heldout_drop"
    IMPLAUSIBLY_FAST = "implausibly_fast"
    TASK_ERROR = "task_error"
    TASK_TAMPERED = "task_tampered"

    @property
    def proposer_may_see(self) -> bool:
        """False for flags built from gate metrics: showing them would leak hidden data."""
        return self is not Flag.HELDOUT_DROP

    def on(self, metric: str) -> str:
        """The stored flag of this kind about ``metric``."""
        return f"{self.value}:{metric}"

    @classmethod
    def kind_of(cls, flag: str) -> Flag | None:
        """The kind of a stored flag; None for one evoforge does not know."""
        try:
            return cls(flag.split(":", 1)[0])
        except ValueError:
            return None


def code_hash(files: Files) -> str:
    """Content address of a program: sha256 over its files in path order."""
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(path.encode())
        h.update(b"\0")
        h.update(files[path].encode())
        h.update(b"\0")
    return h.hexdigest()


def freeze(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class RunResult:
    """What the runner saw of one candidate process. Never contains a metric."""

    exit_code: int | None
    wall_s: float
    cpu_s: float = 0.0
    max_rss_kb: int = 0
    killed_by: str = ""
    """Why the supervisor ended it early ("timeout", "memory", "stopped"), or ""."""
    stdout_tail: str = ""
    stderr_tail: str = ""


@dataclass(frozen=True)
class Evaluation:
    """The outcome of running and scoring one candidate (built by a worker)."""

    ok: bool
    metrics: Mapping[str, float] = field(default_factory=dict)
    """Search metrics: used for selection, shown to proposers."""
    heldout: Mapping[str, float] = field(default_factory=dict)
    """Held-out metrics (test and gate): recorded, never used for selection, never shown
    to proposers; of them only the gate metrics may veto a promotion."""
    failure: str = ""
    run: RunResult | None = None
    flags: tuple[str, ...] = ()
    examples: str = ""
    """Per-example validation scores of search metrics, as :func:`pack_examples` packs
    them ("" when the task gives none)."""
    artifacts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """The files the worker kept of the candidate's folder: path -> {sha256, size}."""
    artifacts_skipped: tuple[str, ...] = ()


@dataclass(frozen=True)
class Candidate:
    """One recorded candidate, as the archive holds it."""

    id: int
    code_hash: str
    parent_ids: tuple[int, ...] = ()
    generation: int = 0
    island: int = 0
    proposer: str = ""
    operator: str = ""
    status: Status = Status.PENDING
    metrics: Mapping[str, float] = field(default_factory=dict)
    heldout: Mapping[str, float] = field(default_factory=dict)
    failure: str = ""
    flags: tuple[str, ...] = ()
    diff: str = ""
    note: str = ""
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    attempts: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    max_rss_kb: int = 0
    exit_code: int | None = None
    stdout_tail: str = ""
    stderr_tail: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Proposer-specific record: model, tokens, cost, blob hashes of prompt and response."""
    examples: str = ""
    """Blob hash of the first evaluation's per-example scores ("" when none)."""

    def score(self, objective: str) -> float | None:
        value = self.metrics.get(objective)
        return None if value is None else float(value)


def pack_examples(scores: Mapping[str, Sequence[float]]) -> str:
    """Per-example scores as compact text for a blob: little-endian float32, base64."""
    packed: dict[str, str] = {}
    for name, values in sorted(scores.items()):
        floats = array.array("f", values)
        if sys.byteorder == "big":  # stored little-endian: an archive reads the same anywhere
            floats.byteswap()
        packed[name] = base64.b64encode(floats.tobytes()).decode("ascii")
    return json.dumps(packed, sort_keys=True)


def unpack_examples(text: str) -> dict[str, array.array[float]]:
    """The inverse of :func:`pack_examples` ("" gives no scores)."""
    if not text:
        return {}
    out: dict[str, array.array[float]] = {}
    for name, b64 in json.loads(text).items():
        floats = array.array("f")
        floats.frombytes(base64.b64decode(b64))
        if sys.byteorder == "big":
            floats.byteswap()
        out[name] = floats
    return out


def dumps(value: Any) -> str:
    """Canonical JSON used for storage (sorted keys, no NaN surprises hidden)."""
    return json.dumps(value, sort_keys=True, allow_nan=True, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
