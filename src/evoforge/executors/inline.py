"""An executor that evaluates each job in the calling process, for tests.

It takes any ``evaluate(job) -> Evaluation`` function, so tests can drive the
loop with a fake evaluation (no processes) or with the real worker function.
"""

from __future__ import annotations

from collections.abc import Callable

from evoforge.candidate import Evaluation
from evoforge.executors._base import Executor
from evoforge.runner import Job


class InlineExecutor(Executor):
    def __init__(self, evaluate: Callable[[Job], Evaluation]) -> None:
        self.evaluate = evaluate
        self._queue: list[Job] = []

    def submit(self, job: Job) -> None:
        self._queue.append(job)

    def poll(self, timeout: float) -> list[tuple[Job, Evaluation]]:
        if not self._queue:
            return []
        job = self._queue.pop(0)
        return [(job, self.evaluate(job))]

    def in_flight(self) -> int:
        return len(self._queue)

    def shutdown(self, *, kill: bool) -> None:
        self._queue.clear()
