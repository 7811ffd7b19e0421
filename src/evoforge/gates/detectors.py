"""The post-run gates: a metric's validity, and signs of gaming.

:class:`MetricChecks` runs in the worker (it needs the task's declared bounds) and
makes the evaluation fail, because the number is not a valid score at all:
``non_finite:<metric>`` and ``out_of_bounds:<metric>``. :class:`GamingDetectors`
runs in the driver, which knows the parent and the recent history:

- ``jump``: the gain over the parent is far beyond the recent gains;
- ``heldout_drop:<metric>``: the search metric rose over the parent while a
  gate metric fell (overfitting the validation data);
- ``implausibly_fast``: the child ran many times faster than its parent.

Flags built from gate metrics (:class:`~evoforge.candidate.Flag` says which) are
never shown to proposers, so the hidden data cannot leak into the search through
them. Test metrics (``[task] heldout``) are never looked at here: a flag changes
what happens to a candidate, and the test split must stay out of every decision.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from evoforge.candidate import Candidate, Flag
from evoforge.config import DetectorsSection, Direction, TaskSection
from evoforge.gates._base import PostRunGate, Scored


@dataclass(frozen=True)
class MetricChecks(PostRunGate):
    """Non-finite metrics, and metrics outside the task's declared ``bounds``."""

    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def check(self, child: Scored) -> tuple[str, ...]:
        flags: list[str] = []
        for name, value in sorted({**child.metrics, **child.heldout}.items()):
            if not math.isfinite(value):
                flags.append(Flag.NON_FINITE.on(name))
            elif name in self.bounds:
                lo, hi = self.bounds[name]
                if not lo <= value <= hi:
                    flags.append(Flag.OUT_OF_BOUNDS.on(name))
        return tuple(flags)


def visible_flags(flags: Sequence[str]) -> tuple[str, ...]:
    """The flags a proposer may see: none derived from held-out metrics, and none of a
    kind evoforge does not know (it cannot tell what such a flag reveals)."""
    return tuple(f for f in flags if (kind := Flag.kind_of(f)) and kind.proposer_may_see)


@dataclass(frozen=True)
class GamingDetectors(PostRunGate):
    """The driver's detectors. ``task`` and ``settings`` are the run's ``[task]`` and
    ``[detectors]`` sections, whose defaults are the only ones."""

    task: TaskSection
    settings: DetectorsSection = field(default_factory=DetectorsSection)

    @property
    def maximize(self) -> bool:
        return self.task.direction is Direction.MAXIMIZE

    def gain(self, child: Candidate, parent: Candidate) -> float | None:
        return self._gain(child.score(self.task.objective), parent)

    def check(self, child: Scored) -> tuple[str, ...]:
        """Flags for a successful child, against its first parent and the recent
        positive gains."""
        parent = child.parent
        if parent is None:
            return ()
        s = self.settings
        flags: list[str] = []
        gain = self._gain(child.metrics.get(self.task.objective), parent)
        positive = [g for g in child.recent_gains if g > 0]
        enough = len(positive) >= s.jump_history
        if gain is not None and enough and gain > s.jump_factor * max(positive):
            flags.append(Flag.JUMP.value)
        if gain is not None and gain > 0:
            for name in sorted(self.task.gate):  # gate metrics only: test ones decide nothing
                value, before = child.heldout.get(name), parent.heldout.get(name)
                if value is None or before is None:
                    continue
                drop = (before - value) if self.maximize else (value - before)
                if drop > s.heldout_drop:
                    flags.append(Flag.HELDOUT_DROP.on(name))
        if parent.wall_s >= 1.0 and child.wall_s * s.fast_factor < parent.wall_s:
            flags.append(Flag.IMPLAUSIBLY_FAST.value)
        return tuple(flags)

    def _gain(self, new: float | None, parent: Candidate) -> float | None:
        old = parent.score(self.task.objective)
        if new is None or old is None:
            return None
        return (new - old) if self.maximize else (old - new)
