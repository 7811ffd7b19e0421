"""Hurdles: stop evaluating candidates that are already behind after a few tasks.

After the first ``tasks`` tasks of the suite, a candidate's mean fitness so far is
compared with the ``percentile`` of the same partial score over the last
``window`` candidates that reached the hurdle (recomputed every ``refresh``
records, once ``warmup`` are known). Below it, evaluation stops and the
candidate's fitness is the sum over the tasks it ran divided by the suite size:
a lower bound of its full score (task fitness is >= 0), so a stopped candidate is
never ranked above what it would have earned.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HurdleConfig:
    tasks: int = 2
    percentile: float = 75.0
    window: int = 1000
    warmup: int = 100
    refresh: int = 50

    def __post_init__(self) -> None:
        if self.tasks < 1 or not 0.0 <= self.percentile <= 100.0:
            raise ValueError("hurdle needs tasks >= 1 and a percentile in [0, 100]")
        if self.window < 1 or self.warmup < 1 or self.refresh < 1:
            raise ValueError("hurdle window, warmup and refresh must be >= 1")


class Hurdle:
    """Rolling-percentile hurdle; one per island (its history is the island's)."""

    def __init__(self, config: HurdleConfig) -> None:
        self.config = config
        self._scores: deque[float] = deque(maxlen=config.window)
        self._threshold: float | None = None
        self._since_refresh = 0

    @property
    def threshold(self) -> float | None:
        """The current bar, or None while warming up."""
        return self._threshold

    def passes(self, partial: float) -> bool:
        """Whether a candidate with this partial score goes on; records the score."""
        ok = self._threshold is None or partial >= self._threshold
        self._scores.append(partial)
        self._since_refresh += 1
        if len(self._scores) >= self.config.warmup and (
            self._threshold is None or self._since_refresh >= self.config.refresh
        ):
            self._threshold = float(np.percentile(self._scores, self.config.percentile))
            self._since_refresh = 0
        return ok
