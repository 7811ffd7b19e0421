"""Gates: checks that return decisions, never side effects.

A pre-run gate looks at a child's code before it runs; the driver records a
rejected child with every reason and never runs it. Later issues add gates
after scoring (gaming detectors) and before promotion (approval).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass

from evoforge.candidate import Files


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
