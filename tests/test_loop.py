"""The loop with an inline executor and a fake evaluation: no processes, exact control."""

from __future__ import annotations

import random
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from evoforge.archive import MemoryArchive
from evoforge.candidate import Candidate, Evaluation, Status
from evoforge.config import ConfigError, PromotionSection, TaskSection
from evoforge.executors import InlineExecutor
from evoforge.gates import ConstraintGate, EvolveRegionGate
from evoforge.governance.audit import AuditLog
from evoforge.governance.promotion import Promoter
from evoforge.governance.run_audit import Audit
from evoforge.loop import Loop
from evoforge.loop_state import Budget, SeedFailed, StopCheck, TaskError
from evoforge.program import replace_block
from evoforge.proposers._base import (
    Feedback,
    Parent,
    Proposal,
    ProposalError,
    Proposer,
    ProposerBusy,
    ProposerExhausted,
)
from evoforge.runner import Job, task_raised
from evoforge.selection import AgingTournament

SEED = {"p.py": "# EVOLVE-BLOCK-START\nX = 0\n# EVOLVE-BLOCK-END\nprint(X)\n"}


def x_of(files: dict[str, str] | object) -> int:
    text = files["p.py"]  # type: ignore[index]
    return int(text.split("X = ")[1].split("\n")[0])


class Increment(Proposer):
    """Sets X to the parent's X plus a step; can be told to break the frame or repeat itself."""

    name = "inc"

    def __init__(self, *, steps: Sequence[int] = (1,), break_frame_every: int = 0) -> None:
        self.steps = steps
        self.break_frame_every = break_frame_every
        self.calls = 0

    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        self.calls += 1
        step = self.steps[(self.calls - 1) % len(self.steps)]
        if step is None:
            raise ProposalError("nothing to do")
        x = x_of(parents[0].files) + step
        text = replace_block(parents[0].files["p.py"], "p.py", 0, f"X = {x}\n")
        if self.break_frame_every and self.calls % self.break_frame_every == 0:
            text = text.replace("print(X)", "print('hacked')")
        return Proposal({"p.py": text}, operator="add")


def fake_eval(job: Job) -> Evaluation:
    x = x_of(job.files)
    if x > 0 and x % 3 == 0:
        return Evaluation(ok=False, failure="exit code 1: boom")
    return Evaluation(ok=True, metrics={"score": float(x)}, heldout={"test": float(x) / 2})


def governance(archive: MemoryArchive, tmp: Path, **promotion: Any) -> dict[str, object]:
    audit = Audit(AuditLog(tmp / f"audit-{id(archive)}.jsonl"), archive)
    settings = {"reruns": 0, **promotion}
    promoter = Promoter(
        archive, audit, TaskSection(objective="score"), PromotionSection(**settings)
    )
    return {"promoter": promoter, "audit": audit}


def make_loop(
    archive: MemoryArchive,
    proposer: Proposer,
    *,
    budget: int = 10,
    evaluate: Callable[[Job], Evaluation] = fake_eval,
    stop: StopCheck = lambda: None,
) -> Loop:
    return Loop(
        archive=archive,
        executor=InlineExecutor(evaluate),
        proposer=proposer,
        selector=AgingTournament(population=5, tournament=2),
        gates=[EvolveRegionGate()],
        seed_files=SEED,
        objective="score",
        maximize=True,
        budget=Budget(candidates=budget, deadline=None, max_consecutive_rejections=20),
        workers=2,
        stop=stop,
        **governance(archive, Path(tempfile.gettempdir())),  # type: ignore[arg-type]
    )


def test_runs_to_budget_and_promotes_improvements() -> None:
    archive = MemoryArchive()
    reason = make_loop(archive, Increment(steps=(1, 2, 5, 7, 11)), budget=10).run()
    assert reason == "finished"
    evaluated = archive.candidates(statuses=(Status.SUCCEEDED, Status.FAILED))
    assert len(evaluated) == 10
    assert archive.get(1).proposer == "seed"
    champ = archive.champion()
    assert champ is not None and champ.metrics["score"] == max(
        c.metrics.get("score", -1) for c in evaluated
    )
    assert champ.heldout["test"] == champ.metrics["score"] / 2
    # the champion only ever moved to strictly better candidates
    scores = [archive.get(m.candidate_id).metrics["score"] for m in archive.champion_history()]
    assert scores == sorted(scores) and len(set(scores)) == len(scores)


def test_failures_are_recorded_with_reason_and_the_run_goes_on() -> None:
    archive = MemoryArchive()
    make_loop(archive, Increment(steps=(1, 2, 3, 4)), budget=8).run()
    failed = archive.candidates(statuses=(Status.FAILED,))
    assert failed and all(c.failure == "exit code 1: boom" for c in failed)
    assert archive.counts()[Status.SUCCEEDED] + len(failed) == 8


def test_frame_violations_are_rejected_not_run() -> None:
    archive = MemoryArchive()
    ran: list[int] = []

    def evaluate(job: Job) -> Evaluation:
        ran.append(job.candidate_id)
        assert "hacked" not in job.files["p.py"]
        return fake_eval(job)

    make_loop(
        archive, Increment(steps=(1,), break_frame_every=2), budget=6, evaluate=evaluate
    ).run()
    rejected = archive.candidates(statuses=(Status.REJECTED,))
    assert rejected
    assert all("outside the evolve blocks changed" in c.failure for c in rejected)
    assert not set(ran) & {c.id for c in rejected}


def test_duplicates_are_recorded_not_run_and_not_counted() -> None:
    archive = MemoryArchive()
    ran: list[int] = []

    def evaluate(job: Job) -> Evaluation:
        ran.append(x_of(job.files))
        return fake_eval(job)

    # a step of 0 reproduces the parent's code exactly
    make_loop(archive, Increment(steps=(1, 0, 2, 0, 4, 0, 8, 0)), budget=5, evaluate=evaluate).run()
    dups = archive.candidates(statuses=(Status.DUPLICATE,))
    assert dups and all(c.failure.startswith("same code as #") for c in dups)
    assert len(ran) == len(set(ran)) == 5


def test_seed_failure_stops_the_run_with_the_reason() -> None:
    archive = MemoryArchive()

    def evaluate(job: Job) -> Evaluation:
        return Evaluation(ok=False, failure="exit code 2: no such file")

    with pytest.raises(SeedFailed, match="no such file"):
        make_loop(archive, Increment(), evaluate=evaluate).run()


def test_proposer_that_cannot_propose_ends_the_run() -> None:
    archive = MemoryArchive()
    reason = make_loop(archive, Increment(steps=(None,)), budget=5).run()  # type: ignore[arg-type]
    assert reason == (
        "proposer exhausted: 20 proposals in a row made nothing to run, every one: nothing to do"
    )
    assert archive.size() == 1


def test_stop_now_leaves_in_flight_pending_and_resume_finishes() -> None:
    archive = MemoryArchive()
    calls = {"n": 0}

    def stop_after_some() -> str | None:
        calls["n"] += 1
        return "now" if calls["n"] > 3 else None

    assert (
        make_loop(archive, Increment(steps=(1, 2)), budget=10, stop=stop_after_some).run()
        == "stopped"
    )
    assert not archive.candidates(statuses=(Status.RUNNING,))
    pending = archive.candidates(statuses=(Status.PENDING,))
    assert pending  # killed by the stop, waiting for resume
    assert make_loop(archive, Increment(steps=(1, 2, 5, 7, 11)), budget=10).run() == "finished"
    assert len(archive.candidates(statuses=(Status.SUCCEEDED, Status.FAILED))) == 10
    assert not archive.candidates(statuses=(Status.PENDING, Status.RUNNING))
    assert all(c.attempts == 1 for c in archive.candidates(statuses=(Status.SUCCEEDED,)))


def test_candidates_interrupted_too_often_fail_instead_of_looping() -> None:
    archive = MemoryArchive()
    h = archive.put_code(SEED)
    from evoforge.candidate import Candidate

    archive.add(Candidate(id=0, code_hash=h, proposer="seed", status=Status.RUNNING, attempts=2))
    with pytest.raises(SeedFailed, match="interrupted 2 times"):
        make_loop(archive, Increment(), budget=3).run()
    assert archive.get(1).status == Status.FAILED
    assert "interrupted 2 times" in archive.get(1).failure


class Exhausting(Increment):
    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        if self.calls >= 3:
            raise ProposerExhausted("token budget spent", meta={"model": "m", "tokens": 0})
        return super().propose(parents, feedback, rng)


def test_exhausted_proposer_ends_the_run_with_its_reason_recorded() -> None:
    archive = MemoryArchive()
    reason = make_loop(archive, Exhausting(steps=(1, 2, 4)), budget=10).run()
    assert reason == "proposer exhausted: token budget spent"
    rejected = archive.candidates(statuses=(Status.REJECTED,))
    assert rejected[-1].extra == {"model": "m", "tokens": 0}
    assert not archive.candidates(statuses=(Status.PENDING, Status.RUNNING))


class Recording(Increment):
    wants_context = True

    def __init__(self) -> None:
        super().__init__(steps=(1, 2, 4, 8))
        self.seen: list[Feedback] = []
        self.told: list[int] = []
        self.restored: object = None

    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        self.seen.append(feedback)
        assert all(not p.candidate.heldout for p in parents)
        p = super().propose(parents, feedback, rng)
        return Proposal(
            p.files, p.operator, meta={"prompt": "P" * 10, "response": "R", "tokens": 5}
        )

    def tell(self, child: Candidate, parents: Sequence[Candidate], feedback: Feedback) -> None:
        assert not child.heldout and all(not p.heldout for p in parents)
        self.told.append(child.id)

    def state(self) -> dict[str, object]:
        return {"told": len(self.told)}

    def load_state(self, state: Mapping[str, Any]) -> None:
        self.restored = dict(state)


def test_proposers_never_see_heldout_and_their_record_and_state_are_kept() -> None:
    archive = MemoryArchive()
    proposer = Recording()
    make_loop(archive, proposer, budget=6).run()
    fb = proposer.seen[-1]
    assert fb.best is not None and not fb.best.candidate.heldout
    assert all(not p.candidate.heldout for p in fb.inspirations)
    assert len(proposer.told) == 5
    child = archive.get(proposer.told[0])
    assert child.extra["tokens"] == 5
    assert archive.get_blob(child.extra["prompt_blob"]) == "P" * 10
    assert archive.get_meta("proposer_state") == {"told": 5}
    again = Recording()
    make_loop(archive, again, budget=7).run()
    assert again.restored == {"told": 5}


def test_children_kept_from_running_are_told_to_the_proposer_too() -> None:
    # A bandit must learn that an operator's proposal was wasted: the loop tells the
    # proposer about gate-refused and duplicate children, not only evaluated ones.
    class Told(Increment):
        def __init__(self) -> None:
            super().__init__(steps=(1, 0, 2, 3), break_frame_every=3)
            self.told: list[tuple[Status, tuple[int, ...]]] = []

        def tell(self, child: Candidate, parents: Sequence[Candidate], feedback: Feedback) -> None:
            assert not child.heldout
            self.told.append((child.status, tuple(p.id for p in parents)))

    archive = MemoryArchive()
    proposer = Told()
    make_loop(archive, proposer, budget=6).run()
    statuses = [s for s, _ in proposer.told]
    kept_out = archive.candidates(statuses=(Status.REJECTED, Status.DUPLICATE))
    assert Status.REJECTED in statuses and Status.DUPLICATE in statuses
    assert statuses.count(Status.REJECTED) + statuses.count(Status.DUPLICATE) == len(kept_out)
    assert all(parents for _, parents in proposer.told)
    assert len(proposer.told) == archive.size() - 1  # every child but the seed


def test_cpu_budget_ends_the_run() -> None:
    from evoforge.candidate import RunResult

    archive = MemoryArchive()

    def costly(job: Job) -> Evaluation:
        ev = fake_eval(job)
        return Evaluation(
            ok=ev.ok,
            metrics=ev.metrics,
            heldout=ev.heldout,
            failure=ev.failure,
            run=RunResult(exit_code=0, wall_s=1.0, cpu_s=10.0),
        )

    loop = make_loop(archive, Increment(steps=(1, 2, 4, 8)), budget=50, evaluate=costly)
    loop.budget = Budget(
        candidates=50, deadline=None, max_consecutive_rejections=200, cpu_seconds=35.0
    )
    assert loop.run() == "CPU budget spent"
    evaluated = len(archive.candidates(statuses=(Status.SUCCEEDED, Status.FAILED)))
    assert 4 <= evaluated <= 5  # stops starting new candidates once 35 CPU seconds are used


def test_wall_budget_ends_the_run() -> None:
    archive = MemoryArchive()
    loop = make_loop(archive, Increment(steps=(1, 2, 4, 8)), budget=50)
    now = {"t": 0.0}

    def clock() -> float:
        now["t"] += 1.0
        return now["t"]

    loop.clock = clock
    loop.budget = Budget(candidates=50, deadline=20.0, max_consecutive_rejections=200)
    assert loop.run() == "wall budget spent"
    assert archive.size() < 50


class BusyThenFine(Increment):
    """Asks the loop to wait twice, as an LLM proposer does while every model cools down."""

    def __init__(self) -> None:
        super().__init__(steps=(1, 2, 4, 8))
        self.busy_left = 2

    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        if self.busy_left:
            self.busy_left -= 1
            raise ProposerBusy("models cooling down", retry_after=0.05)
        return super().propose(parents, feedback, rng)


def test_a_busy_proposer_is_waited_for_not_counted_and_not_recorded() -> None:
    archive = MemoryArchive()
    assert make_loop(archive, BusyThenFine(), budget=5).run() == "finished"
    assert not archive.candidates(statuses=(Status.REJECTED,))
    assert len(archive.candidates(statuses=(Status.SUCCEEDED, Status.FAILED))) == 5


def raising_score(job: Job) -> Evaluation:
    """A task whose score breaks on every child: a real exception, caught as the worker does."""
    if x_of(job.files) == 0:
        return fake_eval(job)
    try:
        raise KeyError("val_auc")
    except KeyError as exc:
        return task_raised(None, "score", exc)


def test_a_task_error_is_not_charged_to_the_candidate_and_stops_the_run_after_the_limit(
    tmp_path: Path,
) -> None:
    archive = MemoryArchive()
    proposer = Recording()
    loop = make_loop(archive, proposer, budget=10, evaluate=raising_score)
    loop.audit = Audit(AuditLog(tmp_path / "audit.jsonl"), archive)
    loop.max_task_errors = 2
    with pytest.raises(TaskError) as info:
        loop.run()
    assert re.fullmatch(
        r"the task raised 2 times: task\.score raised KeyError: 'val_auc' \(test_loop\.py:\d+\)",
        str(info.value),
    )
    assert "Traceback" in info.value.traceback and "KeyError" in info.value.traceback
    children = archive.candidates(statuses=(Status.PENDING,))
    assert len(children) >= 2 and all(c.attempts == 0 for c in children)  # runs again on resume
    assert "not charged" in children[0].failure
    assert not archive.candidates(statuses=(Status.FAILED, Status.RUNNING))
    assert loop.stats.failed == 0 and loop.stats.evaluated == 1 and loop.stats.task_errors == 2
    assert proposer.told == []  # no proposer learns from the task's bug
    errors = [e for e in AuditLog(tmp_path / "audit.jsonl").entries() if e.event == "task_error"]
    assert len(errors) == 2 and "Traceback" in errors[0].data["traceback"]


def test_a_task_error_on_the_seed_stops_the_run_at_once() -> None:
    archive = MemoryArchive()
    proposer = Increment()

    def always(job: Job) -> Evaluation:
        try:
            raise ValueError("labels file is empty")
        except ValueError as exc:
            return task_raised(None, "prepare", exc)

    with pytest.raises(TaskError) as info:
        make_loop(archive, proposer, evaluate=always).run()
    assert str(info.value).startswith(
        "the task raised on the seed: task.prepare raised ValueError: labels file is empty"
    )
    assert proposer.calls == 0
    assert archive.get(1).status == Status.PENDING and archive.get(1).attempts == 0


def test_a_non_finite_metric_for_the_seed_is_blamed_on_the_task() -> None:
    archive = MemoryArchive()

    def nan(job: Job) -> Evaluation:
        return Evaluation(
            ok=False, metrics={"score": float("nan")}, failure="non-finite metric: score=nan",
            flags=("non_finite:score",),
        )  # fmt: skip

    with pytest.raises(SeedFailed) as info:
        make_loop(archive, Increment(), evaluate=nan).run()
    assert str(info.value).startswith(
        "task.score returned a non-finite metric score=nan for the seed"
    )
    assert "the seed program failed" not in str(info.value)


@pytest.mark.parametrize(
    ("objective", "declared", "message"),
    [
        (
            "score",
            {"[task] heldout": ["test", "tset"]},
            "[task] heldout: 'tset' (did you mean 'test'?) is not a metric the task returns (it returns: score, test); "
            "fix the name in evoforge.toml",
        ),
        (
            "Score",
            {},
            "[task] objective: 'Score' (did you mean 'score'?) is not a metric the task returns (it returns: score, "
            "test); fix the name in evoforge.toml",
        ),
    ],
)
def test_metric_names_the_task_does_not_return_stop_the_run_before_any_proposal(
    objective: str, declared: dict[str, list[str]], message: str
) -> None:
    archive = MemoryArchive()
    proposer = Increment()
    loop = make_loop(archive, proposer)
    loop.objective = objective
    loop.declared_metrics = declared
    with pytest.raises(ConfigError) as info:
        loop.run()
    assert str(info.value) == message
    assert proposer.calls == 0
    seed = archive.get(1)  # never recorded with the metrics split the wrong way
    assert seed.status == Status.PENDING and not seed.metrics and not seed.heldout


def test_a_seed_whose_evolve_block_breaks_the_constraints_stops_before_it_runs() -> None:
    archive = MemoryArchive()
    ran: list[int] = []

    def evaluate(job: Job) -> Evaluation:
        ran.append(job.candidate_id)
        return fake_eval(job)

    loop = make_loop(archive, Increment(), evaluate=evaluate)
    block = "X = 0\nimport os\nos.system('ls')\n"
    loop.seed_files = {"p.py": SEED["p.py"].replace("X = 0\n", block)}
    loop.gates = [EvolveRegionGate(), ConstraintGate()]
    with pytest.raises(ConfigError) as info:
        loop.run()
    assert str(info.value) == (
        "the seed's evolve block breaks the constraints: p.py:4: 'os.system' is forbidden "
        "(runs a shell command); fix the seed or [constraints]"
    )
    assert ran == [] and archive.size() == 0
