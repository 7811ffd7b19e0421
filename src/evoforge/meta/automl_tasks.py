"""Algorithm-discovery inner tasks of ``evoforge meta``: repair a broken learning algorithm.

A candidate is an AutoML-Zero program (:class:`evoforge.domains.automl.Program`,
three instruction lists over a small memory), carried as one JSON file
(:data:`AUTOML_FILE`) so the harness's pool, duplicate check and records work as
for every other task. Its score is the engine's
:class:`~evoforge.domains.automl.Interpreter` fitness on a fixed small suite of
learning tasks (mean over tasks, in [0, 1]; about a tenth of a millisecond per
program on 10 linear tasks), computed in the harness's process.

A search from an empty program makes no progress in the harness's budgets (48 to
96 children), so each task is a *repair*: the seed is the hand-written SGD
learner (:func:`~evoforge.domains.automl.linear_regression_sgd`) damaged by a few
of the engine's own mutations, drawn deterministically from the task's name, and
kept only when they cost at least ``min_drop`` of its fitness. The task's best
(normalised 1) is the undamaged learner's fitness on the same suite.

Children are made by the engine's :class:`~evoforge.domains.automl.Mutator`
(:class:`AutomlProposer`) in :func:`repair_space`. A policy answers with weights
for the built-in mutator's operators (its frame is fixed and
:func:`~evoforge.policy.read_answer` accepts no other names), so these map
one to one onto the engine's mutation types (:data:`OPERATOR_MUTATIONS`), and a
lane's records and per-operator statistics use the policy's names: ``step``
(the smallest move) is ``alter_param``, ``choice`` (switch an option)
``randomize_instruction``, ``resample`` (draw afresh) ``randomize_component``,
``list`` (grow) ``insert``, ``flip`` (switch off) ``remove``. ``multi`` applies
2 to 3 more of them, drawn by the same weights, and ``crossover`` takes some,
not all, of the component functions (setup, predict, learn) in which a second
parent differs from the first (so it applies only to parents that differ in two
or more). The proposal's note names the engine mutations applied.

The policy's step size ``sigma`` is the mean number of engine mutations a child
gets (at least one): ``floor(sigma)``, plus one more with probability
``sigma - floor(sigma)``. The default policy's 0.5 means exactly one mutation
per child; the shipped evolved policy's 1.72 means two, 72% of the time.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from evoforge.proposers._base import Feedback, Parent, Proposal, ProposalError, Proposer

if TYPE_CHECKING:  # the engine imports numba: only tasks that use it pay for it
    from evoforge.domains.automl import Interpreter, Program, SearchSpace

AUTOML_FILE = "algorithm.json"
OPERATOR_MUTATIONS: Mapping[str, str] = {
    "step": "alter_param",
    "choice": "randomize_instruction",
    "resample": "randomize_component",
    "list": "insert",
    "flip": "remove",
}
"""The policy's single-site operators and the engine mutation each one applies."""
MAX_TRIES = 8
"""Draws before a proposal gives up (an engine mutation that cannot apply changes nothing)."""


@dataclass(frozen=True)
class Repair:
    """A repair task: the learning problems, the damage, and how much it must cost.

    ``data`` is the engine's task kind ("linear", "nonlinear" or "digits"); the
    suite is ``n_tasks`` problems of ``n_features`` features, 100 training and
    100 validation examples each, generated from ``suite_seed``. The damage is
    ``damage`` engine mutations among ``mutations`` on the SGD learner with
    ``learning_rate``, drawn from a generator seeded with the task's name and
    ``draw``; the first draw that lowers its fitness by ``min_drop`` or more is
    the seed. (``draw`` picks another damage under the same name: the suite's
    tasks use the one whose difficulty suits the harness's budgets.)
    """

    data: str = "linear"
    n_features: int = 4
    n_tasks: int = 10
    suite_seed: int = 0
    learning_rate: float = 0.1
    damage: int = 1
    mutations: tuple[str, ...] = ("alter_param",)
    min_drop: float = 0.1
    draw: int = 0


def repair_space() -> SearchSpace:
    """The paper demo's six operations and memory, with sizes free to grow and shrink."""
    from evoforge.domains.automl import DEMO_OPS, Component, SearchSpace

    return SearchSpace(
        setup=Component(DEMO_OPS, 1, 0, 4),
        predict=Component(DEMO_OPS, 1, 0, 3),
        learn=Component(DEMO_OPS, 4, 0, 8),
    )


def to_files(program: Program) -> dict[str, str]:
    return {AUTOML_FILE: json.dumps(program.to_json(), separators=(",", ":"))}


def from_files(files: Mapping[str, str]) -> Program:
    """The program a candidate's files hold; ValueError when they hold none."""
    from evoforge.domains.automl import Program

    try:
        return Program.from_json(json.loads(files[AUTOML_FILE]))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ValueError(f"not an automl program: {exc!r}") from None


class RepairScorer:
    """Scores programs of one repair task (interpreter and suite built on first use)."""

    def __init__(self, name: str, repair: Repair) -> None:
        self.name = name
        self.repair = repair
        self._interpreter: Interpreter | None = None

    def interpreter(self) -> Interpreter:
        if self._interpreter is None:
            from evoforge.domains.automl import Interpreter, Memory, TaskSpec, make_tasks

            r = self.repair
            spec = TaskSpec(
                kind=r.data, n_tasks=r.n_tasks, n_features=r.n_features, seed=r.suite_seed
            )
            self._interpreter = Interpreter(make_tasks(spec), Memory())
        return self._interpreter

    def fitness(self, program: Program) -> float:
        value = self.interpreter().fitness(program)
        return value if math.isfinite(value) else 0.0

    def best(self) -> float:
        from evoforge.domains.automl import linear_regression_sgd

        return self.fitness(linear_regression_sgd(self.repair.learning_rate))

    def score(self, files: Mapping[str, str]) -> float:
        try:
            return self.fitness(from_files(files))
        except ValueError:
            return 0.0

    def seed_program(self) -> Program:
        """The damaged learner: the first deterministic draw that costs ``min_drop``."""
        from evoforge.domains.automl import Mutator, linear_regression_sgd

        r = self.repair
        reference = linear_regression_sgd(r.learning_rate)
        best = self.fitness(reference)
        mutator = Mutator(repair_space(), r.mutations)
        rng = random.Random(f"repair:{self.name}:{r.draw}")
        for _ in range(1000):
            program = reference
            for _ in range(r.damage):
                program = mutator.apply(rng.choice(r.mutations), program, rng.randrange(3), rng)
            if self.fitness(program) <= best - r.min_drop:
                return program
        raise ValueError(f"{self.name}: no damage in 1000 draws costs {r.min_drop}")


class AutomlProposer(Proposer):
    """A child of automl programs made by the engine's mutator (see the module docstring).

    ``weights`` are the policy's operator weights (names of the built-in mutator;
    unknown ones are ignored), ``sigma`` its step size.
    """

    name = "automl"

    def __init__(self, weights: Mapping[str, float], sigma: float, space: SearchSpace) -> None:
        self.weights = dict(weights)
        self.sigma = sigma
        self.space = space

    @property
    def operators(self) -> tuple[str, ...]:
        return (*OPERATOR_MUTATIONS, "multi", "crossover")

    @property
    def arity(self) -> int:
        return 2

    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        from evoforge.domains.automl import Mutator

        if not parents:
            raise ProposalError("the automl proposer needs at least one parent")
        try:
            base = from_files(parents[0].files)
            other = from_files(parents[1].files) if len(parents) > 1 else None
        except ValueError as exc:
            raise ProposalError(str(exc)) from None
        mutator = Mutator(self.space, tuple(OPERATOR_MUTATIONS.values()))
        usable = {
            op: w
            for op, w in self.weights.items()
            if w > 0 and op in self.operators and (op != "crossover" or _mixable(base, other))
        }
        for _ in range(MAX_TRIES):
            if not usable:
                break
            op = rng.choices(list(usable), weights=list(usable.values()))[0]
            if op == "crossover":
                assert other is not None
                return Proposal(to_files(_crossover(base, other, rng)), op, note="crossover")
            count = self._mutations(rng) + (1 + rng.randrange(2) if op == "multi" else 0)
            child, applied = base, []
            for _ in range(count):
                name = OPERATOR_MUTATIONS[op] if op != "multi" else self._single(rng)
                child = mutator.apply(name, child, rng.randrange(3), rng)
                applied.append(name)
            if child != base:
                return Proposal(to_files(child), op, note=" ".join(applied))
            if op != "multi":  # an unlucky multi may change something next time
                usable.pop(op, None)
        raise ProposalError("no mutation changed the parent")

    def _mutations(self, rng: random.Random) -> int:
        whole = math.floor(self.sigma)
        return max(1, whole + int(rng.random() < self.sigma - whole))

    def _single(self, rng: random.Random) -> str:
        ops = [op for op in OPERATOR_MUTATIONS if self.weights.get(op, 0.0) > 0]
        if not ops:
            return rng.choice(list(OPERATOR_MUTATIONS.values()))
        op = rng.choices(ops, weights=[self.weights[o] for o in ops])[0]
        return OPERATOR_MUTATIONS[op]


def _differing(a: Program, b: Program) -> list[int]:
    return [c for c in range(3) if a.instructions(c) != b.instructions(c)]


def _mixable(a: Program, b: Program | None) -> bool:
    """Whether a crossover of ``a`` and ``b`` can differ from both (two components differ)."""
    return b is not None and len(_differing(a, b)) >= 2


def _crossover(a: Program, b: Program, rng: random.Random) -> Program:
    """``a`` with some, not all, of the component functions where ``b`` differs taken from ``b``.

    Components are setup, predict and learn; the child differs from both parents.
    """
    from evoforge.domains.automl import Program

    differing = _differing(a, b)
    taken = set(rng.sample(differing, rng.randrange(1, len(differing))))
    parts = [(b if c in taken else a).instructions(c) for c in range(3)]
    return Program.build(*parts)
