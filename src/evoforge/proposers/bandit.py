"""One online bandit over named arms, rewarded by improvement: Thompson sampling.

Its users: the adaptive mutator (arms: operators), a mix (arms: its proposers) and
the LLM proposer (arms: models, with the cost term). Each arm's reward is "the
child beat its first parent" (1) or not (0, failures included), so a draw from
Beta(1 + wins, 1 + losses) per arm and the largest draw wins. Why Thompson rather
than UCB1: the loop is asynchronous, with several children in flight whose
rewards are not yet known; UCB1 would pick the same arm for all of them, while
posterior draws spread the in-flight picks in proportion to each arm's chance of
being best. The mean gain over the parent is kept beside, for people (``status``).

The optional cost term divides each draw by the arm's mean cost per pull (money
or tokens): improvement per unit of cost. An arm that costs nothing would then win
every draw however rarely it helps, though each of its pulls still costs time and
an evaluation; so every mean cost has a floor of half the mean cost per pull over
all arms.

``state()`` is JSON; ``load_state`` restores it, so a resumed run keeps what it
learned. The bandit holds no random state: the caller passes its generator.
:func:`improvement` is the reward, shared by every bandit that learns from children.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evoforge.candidate import Candidate, Status
from evoforge.proposers._base import Feedback

COST_FLOOR = 0.5
"""An arm's mean cost is at least this share of the mean cost per pull over all arms."""


@dataclass
class ArmStats:
    tries: int = 0
    wins: int = 0
    gain: float = 0.0
    """Sum of the (non-negative) improvements over the parent, in objective units."""
    cost: float = 0.0
    """Sum of what the pulls cost (the cost term's unit); 0 when the cost is not counted."""

    @property
    def mean_reward(self) -> float:
        return self.wins / self.tries if self.tries else 0.0

    @property
    def mean_gain(self) -> float:
        return self.gain / self.tries if self.tries else 0.0


class ThompsonBandit:
    """Thompson sampling over arms; ``arms`` lists the names it may choose from.

    A pull is counted either whole, when its outcome is known (:meth:`reward`), or
    in two steps, when it costs something at once and pays later (:meth:`pull`,
    then :meth:`win`). Arms outside ``arms`` are ignored by both (another
    proposer's).
    """

    def __init__(self, arms: Sequence[str]) -> None:
        self.arms = tuple(arms)
        self._stats: dict[str, ArmStats] = {}

    def stats(self) -> dict[str, ArmStats]:
        """Per arm that was tried (a copy)."""
        return {k: ArmStats(v.tries, v.wins, v.gain, v.cost) for k, v in self._stats.items()}

    def choose(
        self,
        rng: random.Random,
        usable: Sequence[str] | None = None,
        *,
        weights: Mapping[str, float] | None = None,
        per_cost: bool = False,
    ) -> str:
        """The arm with the largest posterior draw among ``usable`` (default: all arms).

        ``weights`` (default 1 each) multiply the draws: Thompson sampling on a reward
        worth ``weight`` per win, so an arm of weight 2 wins the draw over one of weight 1
        unless its chance of improving looks less than half the other's. ``per_cost``
        divides each draw by the arm's mean cost per pull (see the module docstring);
        an arm not pulled yet is given the mean over all arms.
        """
        names = [a for a in (self.arms if usable is None else usable) if a in self.arms]
        if not names:
            raise ValueError("no usable arm")
        mean = self._mean_cost()
        floor = COST_FLOOR * mean
        best, best_value = names[0], -1.0
        for name in names:
            s = self._stats.get(name, ArmStats())
            value = rng.betavariate(1 + s.wins, 1 + max(0, s.tries - s.wins))
            value *= 1.0 if weights is None else weights.get(name, 1.0)
            if per_cost:
                value /= max(s.cost / s.tries if s.tries else mean, floor) or 1.0
            if value > best_value:
                best, best_value = name, value
        return best

    def reward(self, arm: str, *, improved: bool, gain: float = 0.0) -> None:
        """Record one finished pull."""
        if arm not in self.arms:
            return
        s = self._stats.setdefault(arm, ArmStats())
        s.tries += 1
        s.wins += int(improved)
        if math.isfinite(gain) and gain > 0:
            s.gain += gain

    def pull(self, arm: str, *, cost: float = 0.0) -> None:
        """Record one pull whose outcome comes later (:meth:`win`), and what it cost."""
        if arm in self.arms:
            s = self._stats.setdefault(arm, ArmStats())
            s.tries += 1
            s.cost += cost

    def win(self, arm: str) -> None:
        """A pull recorded by :meth:`pull` turned out a win."""
        if arm in self.arms:
            self._stats.setdefault(arm, ArmStats()).wins += 1

    def restore(self, arm: str, stats: ArmStats) -> None:
        """Set one arm's figures (for a caller that saves them in a format of its own)."""
        if arm in self.arms:
            self._stats[arm] = ArmStats(stats.tries, stats.wins, stats.gain, stats.cost)

    def state(self) -> dict[str, Any]:
        """Per arm tried: ``tries``, ``wins`` and ``gain`` (the cost is not saved here)."""
        return {
            name: {"tries": s.tries, "wins": s.wins, "gain": s.gain}
            for name, s in sorted(self._stats.items())
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Restore ``state()``; malformed entries are skipped, not trusted."""
        self._stats = {}
        for name, row in state.items():
            try:
                tries, wins, gain = int(row["tries"]), int(row["wins"]), float(row["gain"])
            except (KeyError, TypeError, ValueError):
                continue
            if name in self.arms and 0 <= wins <= tries:
                self._stats[str(name)] = ArmStats(tries, wins, max(0.0, gain))

    def _mean_cost(self) -> float:
        pulls = sum(s.tries for s in self._stats.values())
        return sum(s.cost for s in self._stats.values()) / pulls if pulls else 0.0


def improvement(
    child: Candidate, parents: Sequence[Candidate], feedback: Feedback
) -> tuple[bool, float] | None:
    """The reward of a finished child: ``(improved, gain)``, where ``gain`` is how much it
    beat its first parent on the objective (in objective units, signed by the direction)
    and ``improved`` is ``gain > 0``; a child that failed or lacks a score, or whose
    parent lacks one, is ``(False, 0.0)``. None when there is no parent (nothing to learn)."""
    if not parents:
        return None
    objective, sign = feedback.objective, (1.0 if feedback.direction == "maximize" else -1.0)
    mine, theirs = child.score(objective), parents[0].score(objective)
    if child.status != Status.SUCCEEDED or mine is None or theirs is None:
        return False, 0.0
    gain = sign * (mine - theirs)
    return gain > 0, gain
