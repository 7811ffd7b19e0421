"""The evolve-region gate: only code inside the evolve blocks may change, and it must parse."""

from __future__ import annotations

from evoforge.candidate import Files
from evoforge.gates._base import Decision, PreRunGate
from evoforge.program import frame_violations, syntax_errors


class EvolveRegionGate(PreRunGate):
    def check(self, child: Files, *, seed: Files) -> Decision:
        return Decision(tuple(frame_violations(seed, child) + syntax_errors(child)))
