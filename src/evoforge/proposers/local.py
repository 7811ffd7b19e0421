"""Local moves around the best with a step size that follows the run: the portfolio's
``local`` member.

The mutator's steps are Gaussian with a width of ``sigma`` times a quarter of each
setting's range: broad enough to leave a weak seed, too broad to fine-tune near an
optimum. Here ``sigma`` is set by the 1/5 success rule of evolution strategies: a
child that beats its parent (the portfolio hands this member the run's best as the
parent) widens the step by ``GROW``, any other finished child narrows it by
``GROW ** -0.25``, so the width settles where about one move in five succeeds,
within ``[MIN_SIGMA, MAX_SIGMA]``. Children that never ran (a gate, a duplicate)
leave it as it is. The width is saved in ``state()``, so a resumed run goes on with it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

from evoforge.candidate import Candidate, Files, Status
from evoforge.proposers._base import Feedback, Parent, Proposal, Proposer
from evoforge.proposers.bandit import improvement
from evoforge.proposers.mutate import Mutator
from evoforge.proposers.params import ParamSpecError
from evoforge.proposers.sites import find_sites

GROW = 1.5
MIN_SIGMA = 0.01
MAX_SIGMA = 1.0


class LocalSearch(Proposer):
    """``inner`` writes the children (the mutator, or an adaptive one around it);
    ``mutator`` is the :class:`Mutator` whose ``sigma`` this adapts."""

    name = "local"

    def __init__(self, inner: Proposer, mutator: Mutator) -> None:
        self.inner = inner
        self.mutator = mutator
        self.sigma = min(MAX_SIGMA, max(MIN_SIGMA, mutator.sigma))
        self.wants_context = inner.wants_context

    @property
    def operators(self) -> tuple[str, ...]:
        return self.inner.operators

    @property
    def arity(self) -> int:
        return self.inner.arity

    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        self.mutator.sigma = self.sigma
        p = self.inner.propose(parents, feedback, rng)
        return Proposal(p.files, p.operator, p.note, {**p.meta, "sigma": round(self.sigma, 4)})

    def applies(self, seed: Files) -> str:
        try:
            return "" if find_sites(seed) else "no mutable site in the program"
        except ParamSpecError as exc:
            return f"cannot read the program's parameters: {exc}"

    def tell(self, child: Candidate, parents: Sequence[Candidate], feedback: Feedback) -> None:
        self.inner.tell(child, parents, feedback)
        outcome = improvement(child, parents, feedback)
        if outcome is None or child.status not in (Status.SUCCEEDED, Status.FAILED):
            return
        factor = GROW if outcome[0] else GROW**-0.25
        self.sigma = min(MAX_SIGMA, max(MIN_SIGMA, self.sigma * factor))

    def observe(self, child: Candidate, feedback: Feedback) -> None:
        self.inner.observe(child, feedback)

    def state(self) -> Mapping[str, Any]:
        return {**self.inner.state(), "sigma": self.sigma}

    def load_state(self, state: Mapping[str, Any]) -> None:
        sigma = state.get("sigma")
        if isinstance(sigma, int | float) and math.isfinite(sigma):
            self.sigma = min(MAX_SIGMA, max(MIN_SIGMA, float(sigma)))
        self.inner.load_state({k: v for k, v in state.items() if k != "sigma"})
