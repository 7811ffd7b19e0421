"""The inline executor: jobs evaluated in this process, one per poll, in the order submitted."""

from __future__ import annotations

from evoforge.candidate import Evaluation
from evoforge.executors import InlineExecutor
from evoforge.runner import Job


def _by_id(job: Job) -> Evaluation:
    return Evaluation(ok=True, metrics={"id": float(job.candidate_id)})


def test_jobs_come_back_one_per_poll_in_the_order_submitted() -> None:
    executor = InlineExecutor(_by_id)
    jobs = [Job(i, {}, attempt=1, seed=i) for i in (3, 1, 2)]
    for job in jobs:
        executor.submit(job)
    assert executor.in_flight() == 3
    done = [executor.poll(timeout=0.0) for _ in jobs]
    assert [[(j.candidate_id, ev.metrics["id"]) for j, ev in batch] for batch in done] == [
        [(3, 3.0)],
        [(1, 1.0)],
        [(2, 2.0)],
    ]
    assert [batch[0][0] for batch in done] == jobs
    assert executor.in_flight() == 0


def test_polling_with_nothing_submitted_returns_nothing_and_evaluates_nothing() -> None:
    calls: list[Job] = []

    def evaluate(job: Job) -> Evaluation:
        calls.append(job)
        return Evaluation(ok=True)

    executor = InlineExecutor(evaluate)
    assert executor.poll(timeout=10.0) == []
    assert calls == []


def test_shutdown_drops_the_jobs_not_yet_evaluated() -> None:
    executor = InlineExecutor(_by_id)
    executor.submit(Job(1, {}, attempt=1, seed=0))
    executor.submit(Job(2, {}, attempt=1, seed=0))
    executor.shutdown(kill=True)
    assert executor.in_flight() == 0
    assert executor.poll(timeout=0.0) == []
