"""The proposer contract: given parents, write a child program.

A proposer is the "AI" of evoforge: the built-in mutator, an LLM, a domain
generator. It only *asks*: it never runs code, never sees held-out metrics, and
never writes to the archive. ``propose`` returns the child's full file set; the
driver checks it (frame unchanged, parses, not a duplicate) before anything runs,
so a proposer may return a bad child and the run goes on.

The random generator is passed in so runs are reproducible and a proposer holds
no hidden random state. Constructors store configuration only.
A proposer that cannot produce a child raises :class:`ProposalError` with why.
"""

from __future__ import annotations

import abc
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from evoforge.candidate import Candidate, Files


class ProposalError(RuntimeError):
    """The proposer could not produce a child; the message says why."""


@dataclass(frozen=True)
class Parent:
    candidate: Candidate
    files: Files


@dataclass(frozen=True)
class Feedback:
    """What a proposer may know about the run. Never contains held-out metrics."""

    objective: str
    direction: str  # "maximize" or "minimize"
    seed: Files = field(default_factory=dict)
    best: Parent | None = None
    inspirations: Sequence[Parent] = ()
    recent_failures: Sequence[Candidate] = ()


@dataclass(frozen=True)
class Proposal:
    files: Mapping[str, str]
    operator: str
    note: str = ""


class Proposer(abc.ABC):
    """Writes one child from one or more parents."""

    name: str = "proposer"

    @property
    def operators(self) -> tuple[str, ...]:
        """Names of the operators this proposer may report (for the bandit and stats)."""
        return ()

    @property
    def arity(self) -> int:
        """How many parents ``propose`` wants (the selector may give fewer)."""
        return 1

    @abc.abstractmethod
    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        """A child of ``parents``; raise ProposalError when none can be made."""
