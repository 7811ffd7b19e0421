"""The loop stays live whatever its proposer does: results and stops are handled between
bounded turns of proposals, a failed proposal is retried with fresh draws, and a run
that ends "exhausted" says why."""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from evoforge.archive import MemoryArchive
from evoforge.candidate import Evaluation, Status
from evoforge.config import PromotionSection, TaskSection
from evoforge.executors import Executor
from evoforge.gates import EvolveRegionGate
from evoforge.governance.audit import AuditLog
from evoforge.governance.promotion import Promoter
from evoforge.governance.run_audit import Audit
from evoforge.loop import Loop
from evoforge.loop_state import Budget
from evoforge.program import replace_block
from evoforge.proposers._base import Feedback, Parent, Proposal, ProposalError, Proposer
from evoforge.proposers.mutate import Mutator
from evoforge.runner import Job
from evoforge.selection import AgingTournament

SEED = {"p.py": "# EVOLVE-BLOCK-START\nX = 0\n# EVOLVE-BLOCK-END\nprint(X)\n"}


def x_of(files: dict[str, str]) -> int:
    text = files["p.py"]
    return int(text.split("X = ")[1].split("\n")[0]) if "X = " in text else 0


class TimedExecutor(Executor):
    """Each job finishes ``seconds`` after it was submitted, in wall time; remembers when."""

    def __init__(self, seconds: float = 0.05) -> None:
        self.seconds = seconds
        self.jobs: list[tuple[float, Job]] = []
        self.finished_at: dict[int, float] = {}

    def submit(self, job: Job) -> None:
        self.jobs.append((time.time() + self.seconds, job))

    def poll(self, timeout: float) -> list[tuple[Job, Evaluation]]:
        deadline = time.time() + timeout
        while True:
            now = time.time()
            done = [(t, j) for t, j in self.jobs if t <= now]
            if done or now >= deadline or not self.jobs:
                break
            time.sleep(0.005)
        self.jobs = [(t, j) for t, j in self.jobs if t > now]
        for t, job in done:
            self.finished_at[job.candidate_id] = t
        return [
            (j, Evaluation(ok=True, metrics={"score": float(x_of(dict(j.files)))})) for _, j in done
        ]

    def in_flight(self) -> int:
        return len(self.jobs)

    def shutdown(self, *, kill: bool) -> None:
        self.jobs.clear()


class OneGoodChild(Proposer):
    """One child that improves, then only slow proposals that make nothing to run: failed
    ones (``kind="fail"``) or the same child again (``kind="duplicate"``)."""

    name = "one"

    def __init__(self, kind: str, seconds: float = 0.02) -> None:
        self.kind, self.seconds, self.calls = kind, seconds, 0
        self.parents_seen: list[int] = []

    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        self.calls += 1
        self.parents_seen.append(parents[0].candidate.id)
        if self.calls > 1:
            time.sleep(self.seconds)  # an LLM's answer takes a while
            if self.kind == "fail":
                raise ProposalError("the answer holds no code")
        text = replace_block(SEED["p.py"], "p.py", 0, "X = 1\n")
        return Proposal({"p.py": text}, operator="edit")


def loop(
    archive: MemoryArchive,
    proposer: Proposer,
    executor: Executor,
    *,
    budget: int = 3,
    workers: int = 3,
    rejections: int = 60,
    stop: Callable[[], str | None] = lambda: None,
    seed: int = 0,
) -> Loop:
    audit = Audit(AuditLog(Path(tempfile.mkdtemp()) / "audit.jsonl"), archive)
    promoter = Promoter(archive, audit, TaskSection(objective="score"), PromotionSection(reruns=0))
    return Loop(
        archive=archive,
        executor=executor,
        proposer=proposer,
        selector=AgingTournament(population=5, tournament=2),
        gates=[EvolveRegionGate()],
        seed_files=SEED,
        objective="score",
        maximize=True,
        budget=Budget(candidates=budget, deadline=None, max_consecutive_rejections=rejections),
        workers=workers,
        promoter=promoter,
        audit=audit,
        stop=stop,
        run_seed=seed,
    )


@pytest.mark.parametrize("kind", ["fail", "duplicate"])
def test_a_finished_candidate_is_recorded_at_once_while_proposals_make_nothing(
    kind: str,
) -> None:
    archive, executor = MemoryArchive(), TimedExecutor(seconds=0.05)
    proposer = OneGoodChild(kind)
    loop(archive, proposer, executor).run()
    child = archive.get(2)
    assert child.status == Status.SUCCEEDED
    assert child.finished_at is not None
    # 60 slow proposals in a row take 1.2 s; the child finished after 0.05 s and its
    # record must not wait for the streak to end.
    assert child.finished_at - executor.finished_at[2] < 0.4
    # Proposals after the child's record are made from it, not only from the seed.
    assert 2 in proposer.parents_seen
    duplicates = archive.candidates(statuses=(Status.DUPLICATE,))
    made_before_record = [
        c for c in duplicates if c.finished_at is not None and c.finished_at < child.finished_at
    ]
    assert len(made_before_record) <= 16


def test_a_stop_during_a_streak_of_failed_proposals_takes_effect_at_once() -> None:
    archive, executor = MemoryArchive(), TimedExecutor(seconds=0.05)
    asked: list[float] = []

    def stop() -> str | None:
        if archive.size() >= 2 and not asked:
            asked.append(time.monotonic())
        return "now" if asked else None

    reason = loop(archive, OneGoodChild("fail"), executor, budget=10, stop=stop).run()
    assert reason == "stopped"
    assert time.monotonic() - asked[0] < 0.4


class Unlucky(Proposer):
    """Fails whenever its first draw is above 0.1: retried with the same draws, it would
    fail for ever."""

    name = "unlucky"

    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        if rng.random() > 0.1:
            raise ProposalError("unlucky draw")
        x = x_of(dict(parents[0].files)) + rng.randint(1, 1000)
        return Proposal({"p.py": replace_block(SEED["p.py"], "p.py", 0, f"X = {x}\n")}, "add")


def test_a_failed_proposal_is_retried_with_fresh_draws() -> None:
    archive = MemoryArchive()
    reason = loop(archive, Unlucky(), TimedExecutor(0.0), budget=10, rejections=200).run()
    assert reason == "finished"
    assert len(archive.candidates(statuses=(Status.SUCCEEDED,))) == 10


def test_a_program_the_mutator_cannot_change_ends_saying_why() -> None:
    archive = MemoryArchive()
    strings = {"p.py": '# EVOLVE-BLOCK-START\nNAME = "a"\n# EVOLVE-BLOCK-END\nprint(NAME)\n'}
    run = loop(archive, Mutator(), TimedExecutor(0.0), rejections=20)
    run.seed_files = strings
    reason = run.run()
    assert reason.startswith("proposer exhausted: 20 proposals in a row made nothing to run, ")
    assert "every one: no mutable site in the program" in reason
    assert "strings" in reason


def test_exhaustion_names_the_most_frequent_reasons() -> None:
    archive = MemoryArchive()
    reason = loop(archive, OneGoodChild("duplicate", 0.0), TimedExecutor(0.0), rejections=30).run()
    assert reason == (
        "proposer exhausted: 30 proposals in a row made nothing to run, every one: "
        "same code as an earlier candidate"
    )


@pytest.mark.slow
def test_a_long_mutator_run_reaches_its_budget() -> None:
    program = (
        "# EVOLVE-BLOCK-START\nA = 0.5  # evolve: float[0.0, 1.0]\nN = 3  # evolve: int[1, 10]\n"
        "# EVOLVE-BLOCK-END\nprint(A, N)\n"
    )

    def score(files: dict[str, str]) -> float:
        a = float(files["p.py"].split("A = ")[1].split()[0])
        return -abs(a - 0.25)

    class Scored(TimedExecutor):
        def poll(self, timeout: float) -> list[tuple[Job, Evaluation]]:
            out = super().poll(timeout)
            return [
                (j, Evaluation(ok=True, metrics={"score": score(dict(j.files))})) for j, _ in out
            ]

    for seed in range(3):
        archive = MemoryArchive()
        run = loop(
            archive, Mutator(), Scored(0.0), budget=3000, workers=2, rejections=200, seed=seed
        )
        run.seed_files = {"p.py": program}
        assert run.run() == "finished", seed
        assert len(archive.candidates(statuses=(Status.SUCCEEDED,))) == 3000
