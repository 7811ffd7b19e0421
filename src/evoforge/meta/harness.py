"""Inner searches driven by a policy, and the sample-efficiency metric (trusted code).

:func:`run_searches` runs one search per (task, seed) "lane", all in lock-step
rounds: each round asks the policy (one :class:`~evoforge.policy.Decider`
call for every lane at once) for the parents of ``batch`` children per lane,
the operator weights, the step size and the maker of each child; the harness
then makes each child with the maker chosen: the real built-in
:class:`~evoforge.proposers.mutate.Mutator` (for algorithm discovery tasks, the
AutoML-Zero engine's mutator through
:class:`~evoforge.meta.automl_tasks.AutomlProposer`) from the chosen parents, or,
where the program declares parameters, the real
:class:`~evoforge.proposers.optuna.OptunaProposer` with Optuna's TPE or random
sampler. Every Optuna maker of a search is told every child of that search
(whoever made it), as in a portfolio run; the harness scores each child itself.
Budgets are the harness's: every proposal counts against ``candidates``, a
failed or duplicate proposal included (it was a wasted draw).

Scores are normalised per task: 0 is the seed program, 1 the task's best. A
lane's *curve* is the normalised best-so-far after each child; its area
(:func:`auc`, the mean of the curve) is the sample efficiency, 1 being "the
best at the first try". :func:`candidates_to_target` reads the benchmark figure.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from evoforge.candidate import Candidate, Status, code_hash
from evoforge.config import Direction
from evoforge.meta.automl_tasks import AutomlProposer, repair_space
from evoforge.meta.suite import InnerTask, Scorer, Table
from evoforge.policy import MAKERS, POOL_CAP, Decider, Decision, Lane
from evoforge.proposers._base import Feedback, Parent, ProposalError, Proposer
from evoforge.proposers.mutate import Mutator
from evoforge.proposers.optuna import OptunaProposer

SAMPLERS: Mapping[str, tuple[str, Mapping[str, Any]]] = {
    "tpe": ("tpe", {"multivariate": True}),
    "random": ("random", {}),
}
"""The Optuna makers: sampler alias and options (TPE's start-up is the policy's)."""


@dataclass(frozen=True)
class LaneResult:
    task: str
    seed: int
    curve: tuple[float, ...]
    wasted: int
    """Proposals that made no new program (no usable operator, or a duplicate)."""

    @property
    def auc(self) -> float:
        return auc(self.curve)

    @property
    def final(self) -> float:
        return self.curve[-1] if self.curve else 0.0


@dataclass
class _Search:
    task: InnerTask
    scorer: Scorer
    seed: int
    base: float
    best: float
    files: list[dict[str, str]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, dict[str, float]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    curve: list[float] = field(default_factory=list)
    wasted: int = 0
    samplers: dict[str, OptunaProposer] = field(default_factory=dict)
    maker_stats: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "instructions" if self.task.kind == "automl" else "params"

    @property
    def makers(self) -> tuple[str, ...]:
        return ("mutate",) if self.task.kind == "automl" else MAKERS

    def norm(self, score: float) -> float:
        span = self.best - self.base
        return 1.0 if span <= 0 else min(1.0, max(0.0, (score - self.base) / span))

    def add(self, files: dict[str, str], score: float, operator: str, parent: int | None) -> None:
        self.records.append(
            {"id": len(self.records), "score": self.norm(score), "operator": operator,
             "parent": parent}
        )  # fmt: skip
        self.files.append(files)
        self.seen.add(code_hash(files))

    def best_so_far(self) -> float:
        return max(float(r["score"]) for r in self.records)


def run_searches(
    decider: Decider,
    tasks: Sequence[InnerTask],
    tables: Mapping[str, Table],
    *,
    seeds: Sequence[int],
    candidates: int,
    batch: int = 8,
) -> list[LaneResult]:
    """One search per (task, seed); PolicyError from the decider propagates."""
    searches = []
    for task in tasks:
        scorer = Scorer(task, tables.get(task.name))
        seed_files = task.files
        base = scorer.score(seed_files)
        for seed in seeds:
            s = _Search(task, scorer, seed, base, scorer.best())
            s.add(dict(seed_files), base, "seed", None)
            searches.append(s)
    feedback = Feedback(objective="score", direction=Direction.MAXIMIZE)
    done = 0
    rnd = 0
    while done < candidates:
        n = min(batch, candidates - done)
        lanes = [
            Lane(
                seed=s.seed * 1_000_003 + rnd,
                children=n,
                arity=2,
                pool=s.records[-POOL_CAP:],
                stats=s.stats,
                kind=s.kind,
                makers=s.makers,
                maker_stats={k: dict(v) for k, v in s.maker_stats.items()},
            )
            for s in searches
        ]
        decisions = decider.decide(lanes)
        for s, lane, decision in zip(searches, lanes, decisions, strict=True):
            offset = len(s.records) - len(lane.pool)
            mutator = _proposer(s.task, decision)
            seeded = Feedback(feedback.objective, feedback.direction, seed=s.files[0])
            for i, picks in enumerate(decision.parents):
                rng = random.Random(f"{s.task.name}:{s.seed}:{rnd}:{i}")
                maker = decision.maker(i)
                make = mutator if maker == "mutate" else _sampler(s, maker, decision)
                _child(s, make, maker, [offset + p for p in picks], seeded, rng)
        done += n
        rnd += 1
    return [LaneResult(s.task.name, s.seed, tuple(s.curve), s.wasted) for s in searches]


def _proposer(task: InnerTask, decision: Decision) -> Proposer:
    """The maker of a lane's children this round, configured by the policy's decision."""
    if task.kind == "automl":
        return AutomlProposer(decision.weights, decision.sigma, repair_space())
    return Mutator.from_rates(decision.weights, sigma=decision.sigma)


def _sampler(s: _Search, maker: str, decision: Decision) -> OptunaProposer:
    """The search's Optuna maker, made at its first use with the policy's settings then."""
    if maker not in s.samplers:
        sampler, preset = SAMPLERS[maker]
        options = dict(preset)
        startup = decision.settings.get(maker, {}).get("startup")
        if startup is not None:
            options["n_startup_trials"] = startup
        made = OptunaProposer(sampler=sampler, sampler_options=options)
        for i, files in enumerate(s.files):  # it learns what the search already holds
            made.learn(_as_candidate(i, files, s.records[i]["score"]), files, _FEEDBACK)
        s.samplers[maker] = made
    return s.samplers[maker]


_FEEDBACK = Feedback(objective="score", direction=Direction.MAXIMIZE)


def _as_candidate(i: int, files: Mapping[str, str], score: float, **extra: Any) -> Candidate:
    return Candidate(id=i, code_hash=code_hash(files), status=Status.SUCCEEDED,
                     metrics={"score": score}, extra=extra)  # fmt: skip


def _child(
    s: _Search,
    make: Proposer,
    maker: str,
    picks: list[int],
    feedback: Feedback,
    rng: random.Random,
) -> None:
    parents = [
        Parent(Candidate(id=i, code_hash="", metrics={"score": s.records[i]["score"]}), s.files[i])
        for i in picks
    ]
    best = s.best_so_far()
    row = s.maker_stats.setdefault(maker, {"tries": 0, "wins": 0, "gain": 0.0})
    row["tries"] += 1
    try:
        proposal = make.propose(parents, feedback, rng)
    except ProposalError:
        s.wasted += 1
        s.curve.append(best)
        return
    files = dict(proposal.files)
    if code_hash(files) in s.seen:
        s.wasted += 1
        if maker in s.samplers:  # its trial asked for a known program: it takes that score
            dup = _as_candidate(-1, files, 0.0, **proposal.meta)
            s.samplers[maker].tell(replace(dup, status=Status.DUPLICATE), [], _FEEDBACK)
    else:
        score = s.scorer.score(files)
        parent_score = float(s.records[picks[0]]["score"])
        s.add(files, score, proposal.operator, picks[0])
        normal = float(s.records[-1]["score"])
        child = _as_candidate(len(s.records) - 1, files, normal, **proposal.meta)
        for name, sampler in s.samplers.items():
            if name == maker:
                sampler.tell(child, [], _FEEDBACK)
            else:
                sampler.learn(child, files, _FEEDBACK)
        gain = normal - parent_score
        op = s.stats.setdefault(proposal.operator, {"tries": 0, "wins": 0, "gain": 0.0})
        op["tries"] += 1
        op["wins"] += int(gain > 0)
        op["gain"] += max(0.0, gain)
        row["wins"] += int(normal > best)
        row["gain"] += max(0.0, normal - best)
    s.curve.append(s.best_so_far())


def auc(curve: Sequence[float]) -> float:
    """Normalised area under a best-so-far curve: its mean, in [0, 1]."""
    return sum(curve) / len(curve) if curve else 0.0


def efficiency(results: Sequence[LaneResult]) -> float:
    """Mean AUC over tasks (each task's seeds averaged first, so tasks weigh the same)."""
    per_task: dict[str, list[float]] = {}
    for r in results:
        per_task.setdefault(r.task, []).append(r.auc)
    if not per_task:
        return 0.0
    return sum(sum(v) / len(v) for v in per_task.values()) / len(per_task)


def candidates_to_target(curve: Sequence[float], target: float) -> int | None:
    """How many children until the normalised best reached ``target`` (None: never)."""
    for i, value in enumerate(curve, start=1):
        if value >= target:
            return i
    return None


def efficiency_se(results: Sequence[LaneResult]) -> float:
    """Standard error of :func:`efficiency` from the spread of its searches: each task's
    mean has the variance of its lanes' AUCs over their number; tasks weigh the same."""
    per_task: dict[str, list[float]] = {}
    for r in results:
        per_task.setdefault(r.task, []).append(r.auc)
    if not per_task:
        return 0.0
    var = sum(statistics.variance(v) / len(v) if len(v) > 1 else 0.0 for v in per_task.values())
    return math.sqrt(var) / len(per_task)
