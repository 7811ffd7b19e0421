"""Which model to ask next: a bandit rewarded by improvement per unit of cost.

Each model keeps three numbers: answers it gave (``pulls``), children of those
answers that beat their parent (``wins``), and what the answers cost. Choosing is
Thompson sampling: draw a success rate from Beta(1 + wins, 1 + pulls - wins),
multiply by the configured weight, divide by the model's mean cost per answer,
take the best. A rejected answer is a pull with no win, so models that write bad
edits lose ground as they should.

The cost is money when any model has a price, tokens otherwise. A free model
(cost 0) in a paid ensemble would otherwise win every draw however rarely it
helps, though each of its answers still costs time and an evaluation; so every
mean cost has a floor of half the ensemble's mean cost per answer.

The reward is whether the child improved on its parent, not by how much: metric
scales differ between experiments and jumps are rare, and a 0/1 reward keeps the
Beta posterior exact. The state is plain JSON and survives a resume.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

_FLOOR = 0.5


@dataclass
class Arm:
    pulls: int = 0
    wins: int = 0
    cost: float = 0.0


class ModelBandit:
    """Thompson sampling over models by wins per unit of cost; ``weights`` scale the draws."""

    def __init__(self, weights: Mapping[str, float]) -> None:
        self.weights = dict(weights)
        self.arms = {name: Arm() for name in weights}

    def choose(self, available: Sequence[str], rng: random.Random) -> str:
        """The model to ask among ``available`` (which must not be empty)."""
        if not available:
            raise ValueError("no model to choose from")
        floor = _FLOOR * self._mean_cost()
        best, best_value = available[0], -1.0
        for name in available:
            arm = self.arms[name]
            rate = rng.betavariate(1 + arm.wins, 1 + max(0, arm.pulls - arm.wins))
            mean_cost = arm.cost / arm.pulls if arm.pulls else self._mean_cost()
            value = self.weights[name] * rate / (max(mean_cost, floor) or 1.0)
            if value > best_value:
                best, best_value = name, value
        return best

    def answered(self, name: str, cost: float) -> None:
        """``name`` gave an answer that cost ``cost`` (money or tokens, always the same unit)."""
        arm = self.arms[name]
        arm.pulls += 1
        arm.cost += cost

    def won(self, name: str) -> None:
        """A child written by ``name`` beat its parent."""
        self.arms[name].wins += 1

    def state(self) -> dict[str, Any]:
        return {name: asdict(arm) for name, arm in self.arms.items()}

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Restore saved arms; models no longer configured are dropped, new ones start fresh."""
        for name, saved in state.items():
            if name in self.arms and isinstance(saved, Mapping):
                self.arms[name] = Arm(
                    pulls=int(saved.get("pulls", 0)),
                    wins=int(saved.get("wins", 0)),
                    cost=float(saved.get("cost", 0.0)),
                )

    def _mean_cost(self) -> float:
        pulls = sum(a.pulls for a in self.arms.values())
        return sum(a.cost for a in self.arms.values()) / pulls if pulls else 0.0
