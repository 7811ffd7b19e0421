"""Gaming detectors: after scoring, each suspicious sign raises a named flag.

Flags never change a score; they are recorded with the candidate, shown wherever
it appears, and a flagged candidate is never promoted automatically. Flags built
from gate metrics (:class:`~evoforge.candidate.Flag` says which) are never shown to
proposers, so the hidden data cannot leak into the search through them. Test metrics (``[task]
heldout``) are never looked at here: a flag changes what happens to a candidate,
and the test split must stay out of every decision.

Two checks run in the worker (they need the task's declared bounds) and make the
evaluation fail, because the number is not a valid score at all:
``non_finite:<metric>`` and ``out_of_bounds:<metric>``. The rest run in the driver,
which knows the parent and the recent history:

- ``jump``: the gain over the parent is far beyond the recent gains;
- ``heldout_drop:<metric>``: the search metric rose over the parent while a
  gate metric fell (overfitting the validation data);
- ``implausibly_fast``: the child ran many times faster than its parent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from evoforge.candidate import Candidate, Flag


def metric_flags(
    metrics: Mapping[str, float], bounds: Mapping[str, tuple[float, float]]
) -> list[str]:
    """Flags that make an evaluation invalid: non-finite or out-of-bounds metrics."""
    flags: list[str] = []
    for name, value in sorted(metrics.items()):
        if not math.isfinite(value):
            flags.append(Flag.NON_FINITE.on(name))
        elif name in bounds:
            lo, hi = bounds[name]
            if not lo <= value <= hi:
                flags.append(Flag.OUT_OF_BOUNDS.on(name))
    return flags


def visible_flags(flags: Sequence[str]) -> tuple[str, ...]:
    """The flags a proposer may see: none derived from held-out metrics, and none of a
    kind evoforge does not know (it cannot tell what such a flag reveals)."""
    return tuple(f for f in flags if (kind := Flag.kind_of(f)) and kind.proposer_may_see)


@dataclass(frozen=True)
class GamingDetectors:
    objective: str
    maximize: bool
    jump_factor: float = 5.0
    jump_history: int = 10
    heldout_drop: float = 0.01
    fast_factor: float = 10.0
    gate: tuple[str, ...] = ()
    """The gate metrics: the only held-out metrics ``heldout_drop`` compares."""

    def gain(self, child: Candidate, parent: Candidate) -> float | None:
        new, old = child.score(self.objective), parent.score(self.objective)
        if new is None or old is None:
            return None
        return (new - old) if self.maximize else (old - new)

    def check(
        self, child: Candidate, parent: Candidate | None, recent_gains: Sequence[float]
    ) -> tuple[str, ...]:
        """Flags for a successful child, given its first parent and recent positive gains."""
        if parent is None:
            return ()
        flags: list[str] = []
        gain = self.gain(child, parent)
        positive = [g for g in recent_gains if g > 0]
        enough = len(positive) >= self.jump_history
        if gain is not None and enough and gain > self.jump_factor * max(positive):
            flags.append(Flag.JUMP.value)
        if gain is not None and gain > 0:
            for name in sorted(self.gate):
                value, before = child.heldout.get(name), parent.heldout.get(name)
                if value is None or before is None:
                    continue
                drop = (before - value) if self.maximize else (value - before)
                if drop > self.heldout_drop:
                    flags.append(Flag.HELDOUT_DROP.on(name))
        if parent.wall_s >= 1.0 and child.wall_s * self.fast_factor < parent.wall_s:
            flags.append(Flag.IMPLAUSIBLY_FAST.value)
        return tuple(flags)
