"""Several proposers in one run: each proposal comes from one member, drawn by weight.

The child's operator is ``<member>-<operator>`` (e.g. ``optuna-tpe``, ``mutate-step``)
and its ``meta["mix"]`` names the member, so records and stats tell them apart.
``tell`` goes to the member that wrote the child (with its own operator name back);
the other members get ``observe(child, feedback)`` when they define it (the Optuna
proposer uses it to know the scores of programs it did not write). State is kept
per member, under the member's name. A member that is exhausted (``ProposerExhausted``)
drops out of the draw; the mix is exhausted when all are.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from evoforge.candidate import Candidate
from evoforge.proposers._base import (
    Feedback,
    Parent,
    Proposal,
    ProposalError,
    Proposer,
    ProposerExhausted,
)


class MixedProposer(Proposer):
    """Draws a member per proposal with probability proportional to its weight.

    ``members`` are ``(proposer, weight)`` pairs; names must differ and weights be
    positive (ValueError otherwise, raised at the first use).
    """

    name = "mix"

    def __init__(self, members: Sequence[tuple[Proposer, float]]) -> None:
        self.members = tuple(members)
        self.wants_context = any(p.wants_context for p, _ in self.members)
        self._exhausted: dict[str, str] = {}

    @property
    def operators(self) -> tuple[str, ...]:
        return tuple(f"{p.name}-{op}" for p, _ in self.members for op in p.operators)

    @property
    def arity(self) -> int:
        return max((p.arity for p, _ in self.members), default=1)

    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        self._check()
        live = [(p, w) for p, w in self.members if p.name not in self._exhausted]
        member = rng.choices([p for p, _ in live], weights=[w for _, w in live])[0]
        try:
            p = member.propose(parents[: member.arity], feedback, rng)
        except ProposerExhausted as exc:
            self._exhausted[member.name] = str(exc)
            if len(self._exhausted) == len(self.members):
                reasons = "; ".join(f"{k}: {v}" for k, v in self._exhausted.items())
                raise ProposerExhausted(
                    f"every proposer of the mix is exhausted ({reasons})"
                ) from exc
            raise ProposalError(f"{member.name}: {exc} (it leaves the mix)", meta=exc.meta) from exc
        except ProposalError as exc:
            meta = {**exc.meta, "mix": member.name} if exc.meta else {}
            raise ProposalError(f"{member.name}: {exc}", meta=meta) from exc
        return Proposal(
            files=p.files,
            operator=f"{member.name}-{p.operator}",
            note=p.note,
            meta={**p.meta, "mix": member.name},
        )

    def tell(self, child: Candidate, parents: Sequence[Candidate], feedback: Feedback) -> None:
        owner = child.extra.get("mix")
        for member, _ in self.members:
            if member.name == owner:
                own = replace(child, operator=child.operator.removeprefix(f"{owner}-"))
                member.tell(own, parents, feedback)
            elif callable(observe := getattr(member, "observe", None)):
                observe(child, feedback)

    def state(self) -> Mapping[str, Any]:
        states = {p.name: dict(p.state()) for p, _ in self.members}
        return {name: s for name, s in states.items() if s}

    def load_state(self, state: Mapping[str, Any]) -> None:
        for member, _ in self.members:
            member.load_state(state.get(member.name, {}))

    def _check(self) -> None:
        names = [p.name for p, _ in self.members]
        if not names:
            raise ValueError("a mix needs at least one proposer")
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"proposers named twice in a mix: {', '.join(twice)}")
        if any(not w > 0 for _, w in self.members):
            raise ValueError("the weights of a mix must be positive")
