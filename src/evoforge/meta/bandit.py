"""An online bandit over named arms (a proposer's operators), rewarded by improvement.

Thompson sampling on Beta posteriors: each arm's reward is "the child beat its
first parent" (1) or not (0, failures included), so a draw from Beta(1 + wins,
1 + losses) per arm and the largest draw wins. Why Thompson rather than UCB1:
the loop is asynchronous, with several children in flight whose rewards are
not yet known; UCB1 would pick the same arm for all of them, while posterior
draws spread the in-flight picks in proportion to each arm's chance of being
best. The mean gain over the parent is kept beside, for people (``status``).

``state()`` is JSON; ``load_state`` restores it, so a resumed run keeps what it
learned. The bandit holds no random state: the caller passes its generator.
:func:`improvement` is the reward, shared by every bandit that learns from children.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evoforge.candidate import Candidate, Status

if TYPE_CHECKING:
    from evoforge.proposers._base import Feedback


@dataclass
class ArmStats:
    tries: int = 0
    wins: int = 0
    gain: float = 0.0
    """Sum of the (non-negative) improvements over the parent, in objective units."""

    @property
    def mean_reward(self) -> float:
        return self.wins / self.tries if self.tries else 0.0

    @property
    def mean_gain(self) -> float:
        return self.gain / self.tries if self.tries else 0.0


class OperatorBandit:
    """Thompson sampling over arms; ``arms`` lists the names it may choose from."""

    def __init__(self, arms: Sequence[str]) -> None:
        self.arms = tuple(arms)
        self._stats: dict[str, ArmStats] = {}

    def stats(self) -> dict[str, ArmStats]:
        """Per arm that was tried (a copy)."""
        return {k: ArmStats(v.tries, v.wins, v.gain) for k, v in self._stats.items()}

    def choose(
        self,
        rng: random.Random,
        usable: Sequence[str] | None = None,
        *,
        weights: Mapping[str, float] | None = None,
    ) -> str:
        """The arm with the largest posterior draw among ``usable`` (default: all arms).

        ``weights`` (default 1 each) multiply the draws: Thompson sampling on a reward
        worth ``weight`` per win, so an arm of weight 2 wins the draw over one of weight 1
        unless its chance of improving looks less than half the other's.
        """
        names = [a for a in (self.arms if usable is None else usable) if a in self.arms]
        if not names:
            raise ValueError("no usable arm")
        draws = {}
        for name in names:
            s = self._stats.get(name, ArmStats())
            draw = rng.betavariate(1 + s.wins, 1 + s.tries - s.wins)
            draws[name] = draw * (1.0 if weights is None else weights.get(name, 1.0))
        return max(names, key=lambda n: draws[n])

    def reward(self, arm: str, *, improved: bool, gain: float = 0.0) -> None:
        """Record one finished pull; arms outside ``arms`` are ignored (another proposer's)."""
        if arm not in self.arms:
            return
        s = self._stats.setdefault(arm, ArmStats())
        s.tries += 1
        s.wins += int(improved)
        if math.isfinite(gain) and gain > 0:
            s.gain += gain

    def state(self) -> dict[str, Any]:
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
