"""The built-in mutator with its operator chosen per child: by a policy, or by a bandit.

:class:`AdaptiveMutator` makes each child with one operator, chosen by the
policy's weights when a policy is set, else by a
:class:`~evoforge.proposers.bandit.ThompsonBandit` (``[proposer] adapt = true``). Either
way the children's outcomes are told back: reward = the child beat its first
parent. The stats live in ``state()``, which the loop saves in the archive and
restores on resume, and ``status`` shows them. A policy that fails mid-run is
reported once on stderr and replaced by the bandit: a run is never lost to it.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from evoforge.candidate import Candidate
from evoforge.policy import Decider, Decision, Lane, PolicyError
from evoforge.proposers._base import Feedback, Parent, Proposal, ProposalError, Proposer
from evoforge.proposers.bandit import ThompsonBandit, improvement
from evoforge.proposers.mutate import Mutator
from evoforge.textsafe import printable


class AdaptiveMutator(Proposer):
    """The built-in mutator with its operator chosen per child (see the module docstring)."""

    name = "mutate"

    def __init__(self, base: Mutator, *, policy: Decider | None = None) -> None:
        self.base = base
        self.policy = policy
        self.bandit = ThompsonBandit(base.operators)
        self.failed = ""

    @property
    def operators(self) -> tuple[str, ...]:
        return self.base.operators

    @property
    def arity(self) -> int:
        return self.base.arity

    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        two = len(parents) > 1 and parents[0].files != parents[1].files
        usable = [op for op in self.base.operators if two or op != "crossover"]
        decision = self._decision()
        sigma = self.base.sigma if decision is None else decision.sigma
        if decision is not None:
            ops = [op for op in usable if decision.weights.get(op, 0.0) > 0] or usable
            op = rng.choices(ops, weights=[decision.weights.get(o, 1.0) for o in ops])[0]
        else:
            op = self.bandit.choose(rng, usable)
        one = Mutator.from_rates({op: 1.0}, sigma=sigma, declared_weight=self.base.declared_weight)
        try:
            return one.propose(parents, feedback, rng)
        except ProposalError:  # this operator fits no site of the program: any one that does
            return self.base.propose(parents, feedback, rng)

    def _decision(self) -> Decision | None:
        if self.policy is None or self.failed:
            return None
        stats = {op: {"tries": s.tries, "wins": s.wins, "gain": s.gain}
                 for op, s in self.bandit.stats().items()}  # fmt: skip
        lane = Lane(seed=0, children=0, arity=self.arity, pool=[], stats=stats)
        try:
            return self.policy.decide([lane])[0]
        except PolicyError as exc:
            self.failed = str(exc)
            why = printable(str(exc))  # an evolved policy's stderr is a candidate's text
            print(f"warning: the policy failed, the bandit takes over: {why}", file=sys.stderr)
            return None

    def tell(self, child: Candidate, parents: Sequence[Candidate], feedback: Feedback) -> None:
        reward = improvement(child, parents, feedback)
        if reward is not None:
            self.bandit.reward(child.operator, improved=reward[0], gain=reward[1])

    def state(self) -> Mapping[str, Any]:
        return {"bandit": self.bandit.state()}

    def load_state(self, state: Mapping[str, Any]) -> None:
        bandit = state.get("bandit")
        if isinstance(bandit, Mapping):
            self.bandit.load_state(bandit)
