"""Several proposers in one run: each proposal comes from one member, drawn by weight.

The child's operator is ``<member>-<operator>`` (e.g. ``optuna-tpe``, ``mutate-step``)
and its ``meta["mix"]`` names the member, so records and stats tell them apart.
``tell`` goes to the member that wrote the child (with its own operator name back);
the other members get ``observe(child, feedback)`` (a no-op unless defined; the Optuna
proposer uses it to know the scores of programs it did not write). State is kept
per member, under the member's name. A member that is exhausted (``ProposerExhausted``)
drops out of the draw; the mix is exhausted when all are.

With ``adapt`` the draw is a Thompson-sampling bandit over the members (an
:class:`~evoforge.proposers.bandit.ThompsonBandit` whose arms are the members' names),
rewarded like the mutator's operator bandit: the child beat its first parent (a
member's ``ProposalError`` counts as a loss too). Its stats are saved in ``state()``
under ``"mix_bandit"`` beside the members' states, so a resumed run keeps them and
``status`` shows which proposers pay off. A member's ``ProposerBusy`` passes through
as it is, so the loop waits and asks again.
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
from evoforge.proposers.bandit import ThompsonBandit, improvement

BANDIT_KEY = "mix_bandit"
"""Where ``state()`` keeps the members bandit; no member may be named so."""


class MixedProposer(Proposer):
    """Draws a member per proposal with probability proportional to its weight.

    ``members`` are ``(proposer, weight)`` pairs; names must differ and weights be
    positive (ValueError otherwise, raised at the first use).

    With ``adapt=True`` a bandit draws instead: each live member's posterior draw (its
    chance of beating the parent) is multiplied by its weight and the largest wins, so
    a weight is what a win of that member is worth (e.g. 0.2 for a costly LLM: chosen
    over the mutator only while it looks five times as likely to improve). Equal
    weights leave the choice to the bandit alone.
    """

    name = "mix"

    def __init__(self, members: Sequence[tuple[Proposer, float]], *, adapt: bool = False) -> None:
        self.members = tuple(members)
        self.adapt = adapt
        self.wants_context = any(p.wants_context for p, _ in self.members)
        self.bandit = ThompsonBandit([p.name for p, _ in self.members])
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
        if self.adapt:
            name = self.bandit.choose(
                rng, [p.name for p, _ in live], weights={p.name: w for p, w in live}
            )
            member = next(p for p, _ in live if p.name == name)
        else:
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
        except ProposalError as exc:  # a ProposerBusy passes through: the loop asks again later
            if self.adapt:  # a pull that made no child: a loss, as a failed child is
                self.bandit.reward(member.name, improved=False)
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
        reward = improvement(child, parents, feedback) if self.adapt else None
        if reward is not None and isinstance(owner, str):
            self.bandit.reward(owner, improved=reward[0], gain=reward[1])
        for member, _ in self.members:
            if member.name == owner:
                own = replace(child, operator=child.operator.removeprefix(f"{owner}-"))
                member.tell(own, parents, feedback)
            else:
                member.observe(child, feedback)

    def state(self) -> Mapping[str, Any]:
        states = {p.name: dict(p.state()) for p, _ in self.members}
        if self.adapt:
            states[BANDIT_KEY] = self.bandit.state()
        return {name: s for name, s in states.items() if s}

    def load_state(self, state: Mapping[str, Any]) -> None:
        for member, _ in self.members:
            member.load_state(state.get(member.name, {}))
        bandit = state.get(BANDIT_KEY)
        if isinstance(bandit, Mapping):
            self.bandit.load_state(bandit)

    def progress(self) -> str:
        return "; ".join(line for p, _ in self.members if (line := p.progress()))

    def close(self) -> None:
        for member, _ in self.members:
            member.close()

    def _check(self) -> None:
        names = [p.name for p, _ in self.members]
        if not names:
            raise ValueError("a mix needs at least one proposer")
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"proposers named twice in a mix: {', '.join(twice)}")
        if BANDIT_KEY in names:
            raise ValueError(f"a proposer of a mix may not be named {BANDIT_KEY!r}")
        if any(not w > 0 for _, w in self.members):
            raise ValueError("the weights of a mix must be positive")
