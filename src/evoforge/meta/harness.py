"""Inner searches driven by a policy, and the sample-efficiency metric (trusted code).

:func:`run_searches` runs one search per (task, seed) "lane", all in lock-step
rounds: each round asks the policy (one :class:`~evoforge.policy.Decider`
call for every lane at once) for the parents of ``batch`` children per lane,
the operator weights and the step size; the harness then makes each child with
the real built-in :class:`~evoforge.proposers.mutate.Mutator` (for algorithm
discovery tasks, the AutoML-Zero engine's mutator through
:class:`~evoforge.meta.automl_tasks.AutomlProposer`) and scores it itself.
Budgets are the harness's: every proposal counts against ``candidates``, a
failed or duplicate proposal included (it was a wasted draw).

Scores are normalised per task: 0 is the seed program, 1 the task's best. A
lane's *curve* is the normalised best-so-far after each child; its area
(:func:`auc`, the mean of the curve) is the sample efficiency, 1 being "the
best at the first try". :func:`candidates_to_target` reads the benchmark figure.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evoforge.candidate import Candidate, code_hash
from evoforge.config import Direction
from evoforge.meta.automl_tasks import AutomlProposer, repair_space
from evoforge.meta.suite import InnerTask, Scorer, Table
from evoforge.policy import POOL_CAP, Decider, Decision, Lane
from evoforge.proposers._base import Feedback, Parent, ProposalError, Proposer
from evoforge.proposers.mutate import Mutator


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
            )
            for s in searches
        ]
        decisions = decider.decide(lanes)
        for s, lane, decision in zip(searches, lanes, decisions, strict=True):
            offset = len(s.records) - len(lane.pool)
            mutator = _proposer(s.task, decision)
            for i, picks in enumerate(decision.parents):
                rng = random.Random(f"{s.task.name}:{s.seed}:{rnd}:{i}")
                _child(s, mutator, [offset + p for p in picks], feedback, rng)
        done += n
        rnd += 1
    return [LaneResult(s.task.name, s.seed, tuple(s.curve), s.wasted) for s in searches]


def _proposer(task: InnerTask, decision: Decision) -> Proposer:
    """The maker of a lane's children this round, configured by the policy's decision."""
    if task.kind == "automl":
        return AutomlProposer(decision.weights, decision.sigma, repair_space())
    return Mutator.from_rates(decision.weights, sigma=decision.sigma)


def _child(
    s: _Search, mutator: Proposer, picks: list[int], feedback: Feedback, rng: random.Random
) -> None:
    parents = [
        Parent(Candidate(id=i, code_hash="", metrics={"score": s.records[i]["score"]}), s.files[i])
        for i in picks
    ]
    try:
        proposal = mutator.propose(parents, feedback, rng)
    except ProposalError:
        s.wasted += 1
        s.curve.append(s.best_so_far())
        return
    files = dict(proposal.files)
    if code_hash(files) in s.seen:
        s.wasted += 1
    else:
        score = s.scorer.score(files)
        parent_score = float(s.records[picks[0]]["score"])
        s.add(files, score, proposal.operator, picks[0])
        gain = s.records[-1]["score"] - parent_score
        row = s.stats.setdefault(proposal.operator, {"tries": 0, "wins": 0, "gain": 0.0})
        row["tries"] += 1
        row["wins"] += int(gain > 0)
        row["gain"] += max(0.0, gain)
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
