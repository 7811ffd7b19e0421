"""``[proposer] kind = "nas"``: architecture-aware moves on the program's ``ARCH``
literal.

With the loop's aging tournament as the parent selection (the youngest
``[selection] population`` successes compete, the best of a ``tournament``-sized
sample is the parent), mutating the winner is regularized evolution (Real et al.,
2019): old candidates leave the population however good they were. The first
``random_start`` proposals are random architectures (the paper's random initial
population); after that each child is one mutation of its parent (an edge's
operation, a cell or a stage added or removed, a width or the stem a rung up or down)
or, with probability ``crossover_rate`` when the selection gave two parents, their
crossover. Other declared parameters (learning rate, epochs) keep the parent's
values: in a mix or a portfolio other members tune them.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from evoforge.candidate import Files
from evoforge.domains.nas.literal import ArchError, find_arch, render, with_arch
from evoforge.domains.nas.space import MUTATIONS, crossover, mutate, random_arch
from evoforge.proposers._base import (
    Feedback,
    Parent,
    Proposal,
    ProposalError,
    Proposer,
    ProposerExhausted,
)

TRIES = 20


class NASProposer(Proposer):
    name = "nas"

    def __init__(
        self, *, variable: str = "ARCH", random_start: int = 8, crossover_rate: float = 0.2
    ) -> None:
        self.variable = variable
        self.random_start = random_start
        self.crossover_rate = crossover_rate
        self.proposed = 0

    @property
    def operators(self) -> tuple[str, ...]:
        return ("random", "crossover", *MUTATIONS)

    @property
    def arity(self) -> int:
        return 2

    def applies(self, seed: Files) -> str:
        try:
            find_arch(seed, self.variable)
        except ArchError as exc:
            return str(exc)
        return ""

    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        if feedback.seed and (why := self.applies(feedback.seed)):  # never will: say it once
            raise ProposerExhausted(f"the architecture search cannot work on this program: {why}")
        if not parents:
            raise ProposalError("no parent to change")
        base = parents[0].files
        try:
            found = find_arch(base, self.variable)
        except ArchError as exc:
            raise ProposalError(str(exc)) from None
        arch, op = found.arch, ""
        for _ in range(TRIES):
            if self.proposed < self.random_start:
                child, op = random_arch(rng, conv=arch["conv"]), "random"
            elif len(parents) > 1 and rng.random() < self.crossover_rate:
                try:
                    other = find_arch(parents[1].files, self.variable).arch
                except ArchError:
                    other = arch
                child, op = crossover(arch, other, rng), "crossover"
            else:
                child, op = mutate(arch, rng)
            if child != arch:
                break
        else:
            raise ProposalError(f"{TRIES} tries gave the parent's own architecture")
        self.proposed += 1
        files = with_arch(base, found, child, self.variable)
        note = render(child, self.variable).replace("\n", " ").replace("    ", "")
        return Proposal(files, op, note, {"arch": child})

    def state(self) -> Mapping[str, Any]:
        return {"proposed": self.proposed}

    def load_state(self, state: Mapping[str, Any]) -> None:
        self.proposed = int(state.get("proposed", 0))
