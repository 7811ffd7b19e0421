"""Gates: checks that return decisions, never side effects.

A pre-run gate looks at a child's code before it runs; the driver records a
rejected child with every reason and never runs it.

A post-run gate looks at a child's scores after it ran and returns flags
(:class:`~evoforge.candidate.Flag` names); it never changes a score. The worker's
(the task's bounds) fail the evaluation, since a flagged number is no valid score
at all; the driver's (the gaming detectors, which know the parent and the recent
history) are recorded with the candidate, and a flagged candidate is never
promoted without a person.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from evoforge.candidate import Candidate, Files


@dataclass(frozen=True)
class Decision:
    reasons: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.reasons


ALLOW = Decision()


class PreRunGate(abc.ABC):
    @abc.abstractmethod
    def check(self, child: Files, *, seed: Files) -> Decision: ...


class AllowAll(PreRunGate):
    """The do-nothing gate."""

    def check(self, child: Files, *, seed: Files) -> Decision:
        return ALLOW


def check_all(gates: Sequence[PreRunGate], child: Files, *, seed: Files) -> Decision:
    reasons: list[str] = []
    for gate in gates:
        reasons.extend(gate.check(child, seed=seed).reasons)
    return Decision(tuple(reasons))


@dataclass(frozen=True)
class Scored:
    """What a post-run gate sees of a scored child: its search and held-out metrics
    and its wall time; in the driver also its first parent and the recent gains."""

    metrics: Mapping[str, float]
    heldout: Mapping[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    parent: Candidate | None = None
    recent_gains: Sequence[float] = ()

    @classmethod
    def of(
        cls, child: Candidate, parent: Candidate | None, recent_gains: Sequence[float] = ()
    ) -> Scored:
        return cls(child.metrics, child.heldout, child.wall_s, parent, tuple(recent_gains))


class PostRunGate(abc.ABC):
    @abc.abstractmethod
    def check(self, child: Scored) -> tuple[str, ...]: ...
