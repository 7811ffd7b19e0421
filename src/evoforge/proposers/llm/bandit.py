"""Which model to ask next: the bandit over models, rewarded by improvement per unit of cost.

A :class:`~evoforge.proposers.bandit.ThompsonBandit` whose arms are the models, with its
cost term: each model keeps the answers it gave (``pulls``), the children of
those answers that beat their parent (``wins``) and what the answers cost;
draws are scaled by the configured weight. A rejected answer is a pull with no
win, so models that write bad edits lose ground as they should. The cost is
money when any model has a price, tokens otherwise.

The reward is whether the child improved on its parent, not by how much: metric
scales differ between experiments and jumps are rare, and a 0/1 reward keeps the
Beta posterior exact. The state is plain JSON, every configured model with its
``pulls``, ``wins`` and ``cost``, and survives a resume.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from evoforge.proposers.bandit import ArmStats, ThompsonBandit


class ModelBandit:
    """Thompson sampling over models by wins per unit of cost; ``weights`` scale the draws."""

    def __init__(self, weights: Mapping[str, float]) -> None:
        self.weights = dict(weights)
        self.bandit = ThompsonBandit(list(weights))

    def choose(self, available: Sequence[str], rng: random.Random) -> str:
        """The model to ask among ``available`` (which must not be empty)."""
        if not available:
            raise ValueError("no model to choose from")
        weights = {name: self.weights[name] for name in available}
        return self.bandit.choose(rng, available, weights=weights, per_cost=True)

    def answered(self, name: str, cost: float) -> None:
        """``name`` gave an answer that cost ``cost`` (money or tokens, always the same unit)."""
        self.bandit.pull(name, cost=cost)

    def won(self, name: str) -> None:
        """A child written by ``name`` beat its parent."""
        self.bandit.win(name)

    def state(self) -> dict[str, Any]:
        stats = self.bandit.stats()
        return {
            name: {"pulls": s.tries, "wins": s.wins, "cost": s.cost}
            for name in self.weights
            for s in [stats.get(name, ArmStats())]
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Restore saved arms; models no longer configured are dropped, new ones start fresh."""
        for name, saved in state.items():
            if name in self.weights and isinstance(saved, Mapping):
                arm = ArmStats(
                    tries=int(saved.get("pulls", 0)),
                    wins=int(saved.get("wins", 0)),
                    cost=float(saved.get("cost", 0.0)),
                )
                self.bandit.restore(name, arm)
