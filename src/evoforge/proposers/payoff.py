"""How a portfolio shares out proposals: a discounted Thompson-sampling bandit
rewarded by improvement of the run's best, per second of evaluation.

A member's pull *pays* when its child beats the best score the run had when the
child was told; anything else (a worse child, a failure, a gate's refusal, a
duplicate, a proposal the member could not make) is a loss. Each member keeps
Beta(1 + wins, 1 + losses) over its chance of paying; a proposal goes to the member
with the largest draw divided by its mean seconds per pull, floored at the mean over
all members. That is Thompson sampling on improvement per unit of cost, where
costly members pay for their cost but cheap ones get no bonus: a run's budget
counts candidates, and a child that failed at once used one up as any other did.

There is no fixed start-up phase and no fixed switch to exploitation: every member
starts at Beta(1, 1), so early proposals spread over all of them, and the draws
sharpen as results come in. Because the best gets harder to beat as a run goes on,
what paid off early says less later: every result discounts the counts of all
members by ``discount`` (0.95: a result weighs half after about 14 more), so the
allocation follows what pays off *now*, e.g. from a model-based sampler's broad
start to local moves around the best once those are what still improve.

Beside the discounted counts the bandit keeps plain totals (pulls, wins, gain,
seconds) for people: ``status``, the dashboard and the report show them.
``state()`` is JSON and ``load_state`` restores it exactly (floats included), so a
resumed run makes the same choices. No random state is held: the caller passes
its generator.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

DISCOUNT = 0.95
COST_FLOOR = 1.0


@dataclass
class Payoff:
    """One member's record: ``pulls``/``wins``/``seconds`` discounted (for choosing),
    ``total_*`` and ``gain`` as counted (for people)."""

    pulls: float = 0.0
    wins: float = 0.0
    seconds: float = 0.0
    total_pulls: int = 0
    total_wins: int = 0
    total_seconds: float = 0.0
    gain: float = 0.0
    """Sum of the improvements of the best, in objective units."""


class PayoffBandit:
    """Chooses among ``arms`` by their discounted payoff per second (module docstring)."""

    def __init__(self, arms: Sequence[str], *, discount: float = DISCOUNT) -> None:
        if not 0.0 < discount <= 1.0:
            raise ValueError(f"discount must be in (0, 1], got {discount}")
        self.arms = tuple(arms)
        self.discount = discount
        self._stats: dict[str, Payoff] = {a: Payoff() for a in self.arms}

    def stats(self) -> dict[str, Payoff]:
        """Per arm (copies)."""
        return {k: Payoff(**asdict(v)) for k, v in self._stats.items()}

    def order(self, rng: random.Random, usable: Sequence[str]) -> list[str]:
        """``usable`` arms, best draw first: the first is the choice, the rest the
        fallbacks when it cannot propose. One draw per arm, in ``arms`` order."""
        names = [a for a in self.arms if a in usable]
        if not names:
            raise ValueError("no usable arm")
        floor = COST_FLOOR * self.mean_seconds()
        values: dict[str, float] = {}
        for name in names:
            s = self._stats[name]
            draw = rng.betavariate(1.0 + s.wins, 1.0 + max(0.0, s.pulls - s.wins))
            per_pull = s.seconds / s.pulls if s.pulls > 0 else self.mean_seconds()
            cost = max(per_pull, floor)
            values[name] = draw / cost if cost > 0 else draw
        return sorted(names, key=lambda n: -values[n])

    def reward(self, arm: str, *, improved: bool, gain: float = 0.0, seconds: float = 0.0) -> None:
        """One result of ``arm``: every arm's counts decay, then this one's grow."""
        if arm not in self._stats:
            return
        for s in self._stats.values():
            s.pulls *= self.discount
            s.wins *= self.discount
            s.seconds *= self.discount
        s = self._stats[arm]
        seconds = seconds if math.isfinite(seconds) and seconds > 0 else 0.0
        s.pulls += 1.0
        s.wins += float(improved)
        s.seconds += seconds
        s.total_pulls += 1
        s.total_wins += int(improved)
        s.total_seconds += seconds
        if improved and math.isfinite(gain) and gain > 0:
            s.gain += gain

    def state(self) -> dict[str, Any]:
        return {name: asdict(s) for name, s in self._stats.items() if s.total_pulls or s.pulls}

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Restore ``state()``; a malformed entry is skipped, not trusted."""
        self._stats = {a: Payoff() for a in self.arms}
        names = {f.name for f in fields(Payoff)}
        for name, row in state.items():
            if name not in self._stats or not isinstance(row, Mapping):
                continue
            try:
                values = {k: float(row[k]) for k in names}
            except (KeyError, TypeError, ValueError):
                continue
            if all(math.isfinite(v) and v >= 0 for v in values.values()):
                self._stats[name] = Payoff(
                    pulls=values["pulls"],
                    wins=values["wins"],
                    seconds=values["seconds"],
                    total_pulls=int(values["total_pulls"]),
                    total_wins=int(values["total_wins"]),
                    total_seconds=values["total_seconds"],
                    gain=values["gain"],
                )

    def mean_seconds(self) -> float:
        """Discounted seconds per pull over all arms (0 before any)."""
        pulls = sum(s.pulls for s in self._stats.values())
        return sum(s.seconds for s in self._stats.values()) / pulls if pulls > 0 else 0.0
