"""The default search (``[proposer] kind = "auto"``): a portfolio of proposers, each
proposal given to the member that pays off in this run.

Members (built by :func:`evoforge.wiring.build_proposer`): a model-based sampler over
the declared parameters (Optuna TPE; GP or CMA-ES when named), the mutator's local
moves around the best candidate (with crossover against a tournament's pick) and,
when configured, the LLM. Which member writes the next child is decided by a
:class:`~evoforge.proposers.payoff.PayoffBandit`: improvement of the run's best per
second of evaluation, discounted so the allocation follows the run.

Every member learns from every result: the member that wrote a child is told
(``tell``) with its own operator name; the others are given the child *with its
code* (``learn``), so a model-based member adds children of the mutator or the LLM
to its model as if they were its own trials. The portfolio knows the code because
it handed it to the loop; it keeps it, under the proposal's number
(``meta["portfolio_proposal"]``), until the child is told (in ``state()``, so a
resumed run still passes it on).

A member that does not apply to the program at all (``applies``: TPE where nothing
is declared, local moves where nothing can be mutated) leaves at the first
proposal. A member that cannot propose now (``ProposalError``, or
``ProposerBusy``: an LLM cooling down, an algorithm search still running) costs that
member a loss (busy: nothing) and the next member in the draw is asked at once, so
no proposal is lost to it; an exhausted member leaves the portfolio. Children's operators read
``<member>-<operator>`` (``tpe-tpe``, ``local-step``) and ``meta["portfolio"]``
names the member.

With a search policy (``[selection] policy``, e.g. one ``evoforge meta`` evolved),
the policy chooses the member instead of the bandit, among the members it knows
(``local`` is its "mutate", ``tpe`` and ``random`` its samplers), given their
counts of proposals and of improvements of the best, and sets TPE's start-up; the
bandit's order remains the fallback when the chosen member cannot propose, and
takes over entirely if the policy fails.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from evoforge.candidate import Candidate, Status
from evoforge.policy import Decider, Lane, PolicyError
from evoforge.proposers._base import (
    Feedback,
    Parent,
    Proposal,
    ProposalError,
    Proposer,
    ProposerBusy,
    ProposerExhausted,
)
from evoforge.proposers.params import ParamSpecError
from evoforge.proposers.payoff import DISCOUNT, PayoffBandit
from evoforge.proposers.sites import declared_space
from evoforge.textsafe import printable

PROPOSAL_KEY = "portfolio_proposal"
"""The proposal's number in ``meta``: how a child told later finds its entry."""
STATE_KEY = "portfolio"
"""Where ``state()`` keeps the portfolio's own record beside its members' states."""
_VERSION = 1
POLICY_MAKERS: Mapping[str, str] = {"local": "mutate", "tpe": "tpe", "random": "random"}
"""Members a search policy can choose, by the policy's name for them."""


class PortfolioProposer(Proposer):
    """``members`` are proposers with distinct names (their ``name`` attribute).

    A member named in ``local`` is handed the run's best candidate as its first
    parent (then the loop's pick), so its moves are local moves around the best.
    ``cost`` is what a proposal costs the bandit: ``"seconds"`` (its evaluation's wall
    seconds, or the member's time to propose it by ``clock`` where that is longer: the
    driver proposes while workers evaluate) or ``"candidates"`` (1
    each: the choices then depend on scores alone, so a run with one worker makes the
    same choices every time; with seconds they depend on the machine too).
    """

    name = "auto"

    def __init__(
        self,
        members: Sequence[Proposer],
        *,
        local: Sequence[str] = (),
        discount: float = DISCOUNT,
        cost: str = "seconds",
        clock: Callable[[], float] = time.monotonic,
        policy: Decider | None = None,
    ) -> None:
        if cost not in ("seconds", "candidates"):
            raise ValueError(f'cost must be "seconds" or "candidates", got {cost!r}')
        names = [m.name for m in members]
        if not names:
            raise ValueError("a portfolio needs at least one member")
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice or STATE_KEY in names:
            raise ValueError(f"member names must differ and not be {STATE_KEY!r}: {names}")
        self.members = tuple(members)
        self.local = frozenset(local)
        self.cost = cost
        self.clock = clock
        self.wants_context = bool(self.local) or any(m.wants_context for m in members)
        self.bandit = PayoffBandit(names, discount=discount)
        self._best: float | None = None
        self._pending: dict[str, dict[str, Any]] = {}  # proposal number -> member, files
        self._proposed = 0
        self._exhausted: dict[str, str] = {}
        self.policy = policy
        self.policy_failed = ""
        self._kind: str | None = None
        self._checked = False

    @property
    def operators(self) -> tuple[str, ...]:
        return tuple(f"{m.name}-{op}" for m in self.members for op in m.operators)

    @property
    def arity(self) -> int:
        return max(m.arity for m in self.members)

    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        if not self._checked and feedback.seed:
            self._checked = True
            for m in self.members:
                why = m.applies(feedback.seed)
                if why and m.name not in self._exhausted:
                    self._exhausted[m.name] = f"does not apply to this program: {why}"
        live = [m.name for m in self.members if m.name not in self._exhausted]
        problems: list[str] = []
        busy: ProposerBusy | None = None
        order = self.bandit.order(rng, live)
        chosen = self._policy_choice(live, feedback, rng)
        if chosen is not None:
            order = [chosen, *(n for n in order if n != chosen)]
        for name in order:
            member = next(m for m in self.members if m.name == name)
            began = self.clock()
            try:
                p = member.propose(self._parents_for(member, parents, feedback), feedback, rng)
            except ProposerExhausted as exc:
                self._exhausted[name] = str(exc)
                problems.append(f"{name}: {exc} (it leaves the portfolio)")
                continue
            except ProposerBusy as exc:
                busy = exc if busy is None or exc.retry_after < busy.retry_after else busy
                continue
            except ProposalError as exc:  # a turn lost: it costs what a pull costs
                self.bandit.reward(name, improved=False, seconds=self.bandit.mean_seconds())
                problems.append(f"{name}: {exc}")
                continue
            files = dict(p.files)
            spent = round(self.clock() - began, 4)
            self._proposed += 1
            self._pending[str(self._proposed)] = {"member": name, "files": files, "spent": spent}
            return Proposal(
                files=files,
                operator=f"{name}-{p.operator}",
                note=p.note,
                meta={**p.meta, STATE_KEY: name, PROPOSAL_KEY: self._proposed},
            )
        if len(self._exhausted) == len(self.members):
            reasons = "; ".join(f"{k}: {v}" for k, v in self._exhausted.items())
            raise ProposerExhausted(f"every member of the portfolio is exhausted ({reasons})")
        if busy is not None:  # a member will have something: wait for it
            raise busy
        raise ProposalError("no member could propose: " + "; ".join(problems))

    def tell(self, child: Candidate, parents: Sequence[Candidate], feedback: Feedback) -> None:
        owner = child.extra.get(STATE_KEY)
        # By the proposal's number, not its code: a duplicate of a child still running
        # must not take that child's entry.
        entry = self._pending.pop(str(child.extra.get(PROPOSAL_KEY)), None)
        files = entry["files"] if entry is not None else None
        score = _score(child, feedback.objective)
        sign = 1.0 if feedback.direction == "maximize" else -1.0
        if self._best is None:  # the best before the first child: its parents' (the seed)
            known = [v for p in parents if (v := _score(p, feedback.objective)) is not None]
            self._best = max(known, key=lambda v: sign * v) if known else None
        gain = 0.0 if score is None or self._best is None else sign * (score - self._best)
        improved = score is not None and (self._best is None or gain > 0)
        if isinstance(owner, str):
            spent = float(entry.get("spent", 0.0)) if entry is not None else 0.0
            # The driver proposes while the workers evaluate: a proposal costs time of its
            # own only where it takes longer than an evaluation.
            seconds = max(child.wall_s, spent) if self.cost == "seconds" else 1.0
            self.bandit.reward(owner, improved=improved, gain=gain, seconds=seconds)
        if score is not None and (self._best is None or gain > 0):
            self._best = score
        for member in self.members:
            if member.name == owner:
                own = replace(child, operator=child.operator.removeprefix(f"{owner}-"))
                member.tell(own, parents, feedback)
            elif files is not None:
                member.learn(child, files, feedback)
            else:
                member.observe(child, feedback)

    def state(self) -> Mapping[str, Any]:
        states: dict[str, Any] = {m.name: dict(m.state()) for m in self.members}
        states = {k: v for k, v in states.items() if v}
        states[STATE_KEY] = {
            "version": _VERSION,
            "payoff": self.bandit.state(),
            "best": self._best,
            "pending": dict(self._pending),
            "proposed": self._proposed,
            "exhausted": dict(self._exhausted),
        }
        return states

    def load_state(self, state: Mapping[str, Any]) -> None:
        for member in self.members:
            member.load_state(state.get(member.name, {}))
        own = state.get(STATE_KEY)
        if not isinstance(own, Mapping):
            return
        if own.get("version") != _VERSION:
            raise ValueError(f"unknown portfolio state version {own.get('version')!r}")
        payoff = own.get("payoff")
        self.bandit.load_state(payoff if isinstance(payoff, Mapping) else {})
        best = own.get("best")
        self._best = float(best) if isinstance(best, int | float) else None
        pending = own.get("pending")
        if isinstance(pending, Mapping):
            self._pending = {
                str(h): {
                    "member": str(e.get("member")),
                    "files": dict(e["files"]),
                    "spent": float(e.get("spent", 0.0)),
                }
                for h, e in pending.items()
                if isinstance(e, Mapping) and isinstance(e.get("files"), Mapping)
            }
        proposed = own.get("proposed")
        self._proposed = proposed if isinstance(proposed, int) else 0
        exhausted = own.get("exhausted")
        if isinstance(exhausted, Mapping):
            self._exhausted = {str(k): str(v) for k, v in exhausted.items()}

    def progress(self) -> str:
        return "; ".join(line for m in self.members if (line := m.progress()))

    def close(self) -> None:
        for member in self.members:
            member.close()

    def _policy_choice(
        self, live: Sequence[str], feedback: Feedback, rng: random.Random
    ) -> str | None:
        """The member the policy chooses for this proposal (None: the bandit chooses)."""
        known = {POLICY_MAKERS[n]: n for n in live if n in POLICY_MAKERS}
        if self.policy is None or self.policy_failed or not known:
            return None
        stats = self.bandit.stats()
        lane = Lane(
            seed=rng.getrandbits(31),
            children=1,
            arity=1,
            pool=[{"id": 0, "score": 0.0, "operator": "seed", "parent": None}],
            stats={},
            kind=self._program_kind(feedback),
            makers=tuple(known),
            maker_stats={
                m: {"tries": stats[n].total_pulls, "wins": stats[n].total_wins,
                    "gain": stats[n].gain}
                for m, n in known.items()
            },
        )  # fmt: skip
        try:
            decision = self.policy.decide([lane])[0]
        except PolicyError as exc:
            self.policy_failed = str(exc)
            why = printable(str(exc))  # an evolved policy's stderr is a candidate's text
            print(f"warning: the policy failed, the bandit takes over: {why}", file=sys.stderr)
            return None
        name = known[decision.maker(0)] if decision.makers else known.get("mutate")
        startup = decision.settings.get("tpe", {}).get("startup")
        tpe = next((m for m in self.members if m.name == "tpe"), None)
        if startup is not None and tpe is not None and hasattr(tpe, "sampler_options"):
            tpe.sampler_options = {**(tpe.sampler_options or {}), "n_startup_trials": startup}
        return name

    def _program_kind(self, feedback: Feedback) -> str:
        if self._kind is None:
            try:
                self._kind = "params" if declared_space(feedback.seed) else "code"
            except ParamSpecError:
                self._kind = "code"
        return self._kind

    def _parents_for(
        self, member: Proposer, parents: Sequence[Parent], feedback: Feedback
    ) -> Sequence[Parent]:
        best = feedback.best
        if member.name not in self.local or best is None:
            return parents[: member.arity]
        others = [p for p in parents if p.candidate.code_hash != best.candidate.code_hash]
        return [best, *others][: member.arity]


def _score(c: Candidate, objective: str) -> float | None:
    if c.status != Status.SUCCEEDED:
        return None
    value = c.score(objective)
    return value if value is not None and math.isfinite(value) else None
