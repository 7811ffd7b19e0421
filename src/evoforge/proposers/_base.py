"""The proposer contract: given parents, write a child program.

A proposer is the "AI" of evoforge: the built-in mutator, an LLM, a domain
generator. It only *asks*: it never runs code, never sees held-out metrics, and
never writes to the archive. ``propose`` returns the child's full file set; the
driver checks it (frame unchanged, parses, not a duplicate) before anything runs,
so a proposer may return a bad child and the run goes on.

The random generator is passed in so runs are reproducible and a proposer holds
no hidden random state. Constructors store configuration only.
A proposer that cannot produce a child raises :class:`ProposalError` with why; one
that cannot propose now, or ever again, raises a :class:`ProposerSignal` instead.
"""

from __future__ import annotations

import abc
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evoforge.candidate import Candidate, Files
from evoforge.config import Direction


class ProposalError(RuntimeError):
    """The proposer could not produce a child; the message says why.

    ``meta`` is recorded with the rejected proposal (e.g. the raw LLM answer as
    ``response``, its ``prompt``, ``model``, ``tokens``, ``cost``); a proposer that
    spent nothing recordable leaves it empty and nothing is recorded.
    """

    def __init__(self, message: str, *, meta: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.meta: Mapping[str, Any] = dict(meta or {})


class ProposerSignal(Exception):
    """Not a failed proposal but word on when to ask again: later
    (:class:`ProposerBusy`) or never (:class:`ProposerExhausted`). Deliberately not a
    :class:`ProposalError`, so ``except ProposalError`` never catches one by accident."""


class ProposerExhausted(ProposerSignal):
    """The proposer will never propose again in this run (e.g. its token or cost budget
    is spent and no fallback is configured). The loop finishes in-flight candidates
    and ends the run, with this message as the reason; ``meta`` is recorded as a
    :class:`ProposalError`'s is (e.g. the tokens of a last, refused answer)."""

    def __init__(self, message: str, *, meta: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.meta: Mapping[str, Any] = dict(meta or {})


class ProposerBusy(ProposerSignal):
    """Not now: ask again after ``retry_after`` seconds (e.g. every LLM is cooling down).

    Not recorded and not counted as a rejection; meanwhile the loop keeps recording
    finished candidates and acting on stop requests instead of blocking in ``propose``.
    """

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Parent:
    candidate: Candidate
    files: Files


@dataclass(frozen=True)
class Feedback:
    """What a proposer may know about the run. Never contains held-out metrics."""

    objective: str
    direction: Direction
    seed: Files = field(default_factory=dict)
    best: Parent | None = None
    inspirations: Sequence[Parent] = ()
    recent_failures: Sequence[Candidate] = ()


@dataclass(frozen=True)
class Proposal:
    files: Mapping[str, str]
    operator: str
    note: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)
    """Recorded with the candidate. The keys ``prompt`` and ``response`` are stored as
    content-addressed blobs (their hashes kept as ``prompt_blob``/``response_blob``);
    other JSON values (``model``, ``tokens``, ``cost``...) are kept as they are."""


class Proposer(abc.ABC):
    """Writes one child from one or more parents."""

    name: str = "proposer"
    wants_context: bool = False
    """When True the loop fills ``Feedback.best``, ``inspirations`` and ``recent_failures``
    (with code); plain mutators leave it False and skip that work."""

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

    def tell(self, child: Candidate, parents: Sequence[Candidate], feedback: Feedback) -> None:  # noqa: B027
        """Learn from a finished child (e.g. a bandit's reward). Default: nothing.

        Also called for a child that never ran: status REJECTED (a gate refused it)
        or DUPLICATE (its code was in the archive already); it has no metrics."""

    def observe(self, child: Candidate, feedback: Feedback) -> None:  # noqa: B027
        """See a finished child another proposer wrote (a mix calls it on the members
        that did not write ``child``; e.g. Optuna remembers its score). Default: nothing."""

    def learn(self, child: Candidate, files: Files, feedback: Feedback) -> None:
        """See a finished child another proposer wrote, with its code (a portfolio calls
        it on the members that did not write ``child``; e.g. Optuna adds it to its model
        as a trial). Default: :meth:`observe`."""
        self.observe(child, feedback)

    def applies(self, seed: Files) -> str:
        """Why this proposer cannot work on a program like ``seed`` ("" when it can):
        a portfolio drops such a member at its first proposal instead of asking it."""
        return ""

    def state(self) -> Mapping[str, Any]:
        """JSON-able learned state, saved in the archive so a resumed run keeps it."""
        return {}

    def load_state(self, state: Mapping[str, Any]) -> None:  # noqa: B027
        """Restore what ``state`` returned (called once, before the first proposal)."""

    def progress(self) -> str:
        """One line on work the proposer does between proposals (e.g. a search's
        throughput), shown by the live display; "" when there is nothing to say."""
        return ""

    def close(self) -> None:  # noqa: B027
        """Stop background work (called once when the run ends, however it ends)."""
