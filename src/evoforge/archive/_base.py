"""The archive: every candidate ever proposed, with lineage and champion history.

The driver is the only writer; dashboards and CLI commands read. A candidate is
recorded before it runs (``add``) and again after (``update``), each write
durable before the call returns, so a driver killed at any instant loses nothing
that was acknowledged. Code and other large texts are stored content-addressed:
storing the same program twice costs nothing.

Implementations need not be thread-safe; each process opens its own archive.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

from evoforge.candidate import Candidate, Files, Status

SCHEMA_VERSION = 2
"""2 added per-example scores (``examples``) to candidates and re-runs."""


@dataclass(frozen=True)
class ChampionMove:
    seq: int
    candidate_id: int
    action: str  # "promote", "rollback", "seed"
    reason: str
    at: float


@dataclass(frozen=True)
class Rerun:
    """One confirmation run of a candidate with a fresh seed (not a new candidate)."""

    candidate_id: int
    seed: int
    ok: bool
    metrics: Mapping[str, float]
    heldout: Mapping[str, float]
    failure: str = ""
    examples: str = ""
    """Blob hash of its per-example scores ("" when the task gives none)."""


class ApprovalState(enum.StrEnum):
    """The fate of a promotion request: CONFIRMING -> PENDING -> APPROVED | REJECTED
    (by a person), or CONFIRMING -> DECLINED (lost to the champion beyond noise) |
    PROMOTED (auto). Stored as its value."""

    CONFIRMING = "confirming"
    PENDING = "pending"
    DECLINED = "declined"
    PROMOTED = "promoted"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Approval:
    """A promotion request and its fate (see :class:`ApprovalState`; a state given as
    its string value is taken as the enum, an unknown one is a ValueError)."""

    candidate_id: int
    state: ApprovalState
    evidence: Mapping[str, Any]
    requested_at: float
    decided_at: float | None = None
    who: str = ""
    reason: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", ApprovalState(self.state))


class Archive(abc.ABC):
    """Storage of candidates, code, blobs, champion history and run metadata."""

    # -- content-addressed storage -------------------------------------------------
    @abc.abstractmethod
    def put_code(self, files: Files) -> str:
        """Store a program; returns its code hash."""

    @abc.abstractmethod
    def get_code(self, code_hash: str) -> dict[str, str]: ...

    @abc.abstractmethod
    def put_blob(self, text: str) -> str:
        """Store a text (prompt, response, log); returns its hash."""

    @abc.abstractmethod
    def get_blob(self, blob_hash: str) -> str: ...

    # -- candidates -----------------------------------------------------------------
    @abc.abstractmethod
    def add(self, candidate: Candidate) -> Candidate:
        """Record a new candidate; its ``id`` is assigned here (the given one is ignored)."""

    @abc.abstractmethod
    def update(self, candidate_id: int, **fields: Any) -> Candidate:
        """Change fields of a recorded candidate; returns the new record.

        A finished candidate's record is final (see :func:`check_update`): only flags may
        be added (the gaming detectors run after the result is recorded) and per-example
        scores filled in where none were recorded; any other change raises
        :class:`FinishedCandidateError` and writes nothing."""

    @abc.abstractmethod
    def get(self, candidate_id: int) -> Candidate:
        """The candidate, or KeyError."""

    @abc.abstractmethod
    def candidates(
        self, *, statuses: Iterable[Status] | None = None, since_id: int = 0
    ) -> list[Candidate]:
        """Candidates in id order, optionally filtered."""

    @abc.abstractmethod
    def size(self) -> int:
        """How many candidates are recorded (ids run from 1 to size)."""

    @abc.abstractmethod
    def find_code(self, code_hash: str) -> Candidate | None:
        """The first candidate with this code that was not rejected, if any."""

    @abc.abstractmethod
    def recent(self, *, island: int | None, limit: int) -> list[Candidate]:
        """The ``limit`` most recently finished SUCCEEDED candidates (of one island)."""

    @abc.abstractmethod
    def top(self, objective: str, *, maximize: bool, limit: int = 1) -> list[Candidate]:
        """The best SUCCEEDED candidates by a search metric."""

    @abc.abstractmethod
    def counts(self) -> dict[Status, int]: ...

    # -- champion -------------------------------------------------------------------
    @abc.abstractmethod
    def move_champion(self, candidate_id: int, *, action: str, reason: str) -> ChampionMove: ...

    @abc.abstractmethod
    def champion_history(self) -> list[ChampionMove]: ...

    def champion(self) -> Candidate | None:
        history = self.champion_history()
        return self.get(history[-1].candidate_id) if history else None

    # -- confirmation re-runs and approvals -----------------------------------------
    @abc.abstractmethod
    def add_rerun(self, rerun: Rerun) -> None:
        """Record a confirmation run (replacing one with the same candidate and seed)."""

    @abc.abstractmethod
    def reruns(self, candidate_id: int) -> list[Rerun]: ...

    @abc.abstractmethod
    def put_approval(self, approval: Approval) -> None:
        """Insert or replace the approval record of ``approval.candidate_id``."""

    @abc.abstractmethod
    def approvals(self, *, states: Iterable[ApprovalState] | None = None) -> list[Approval]:
        """Approval records in request order, optionally filtered by state."""

    # -- metadata -------------------------------------------------------------------
    @abc.abstractmethod
    def set_meta(self, key: str, value: Any) -> None: ...

    @abc.abstractmethod
    def get_meta(self, key: str, default: Any = None) -> Any: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


CANDIDATE_FIELDS: Sequence[str] = tuple(Candidate.__dataclass_fields__)


def check_fields(fields: Mapping[str, Any]) -> None:
    unknown = set(fields) - set(CANDIDATE_FIELDS) - {"id"}
    if unknown or "id" in fields:
        raise ValueError(f"cannot update fields: {sorted(unknown | ({'id'} & set(fields)))}")


class FinishedCandidateError(ValueError):
    """An update would change the record of a finished candidate; the message names the fields."""


def check_update(current: Candidate, fields: Mapping[str, Any]) -> None:
    """Refuse an update that changes a finished (SUCCEEDED, FAILED, REJECTED, DUPLICATE)
    candidate, which every backend calls before writing. Allowed: a value equal to the
    stored one, ``flags`` that keep every flag already raised, and ``examples`` where
    none were stored (an archive from before per-example scores)."""
    status = Status(current.status)
    if not status.is_finished():
        return
    refused = []
    for name, value in sorted(fields.items()):
        old = getattr(current, name)
        if name == "flags" and set(old) <= set(value):
            continue
        if name == "examples" and not old:
            continue
        if value != old:
            refused.append(name)
    if refused:
        raise FinishedCandidateError(
            f"candidate #{current.id} is {status.value}: its record is final, "
            f"cannot change {', '.join(refused)}"
        )
