"""The default executor: a pool of local worker processes.

Each worker is a separate, trusted process (spawned, so it shares nothing with
the driver's memory) that loads the task once and evaluates one job at a time.
Workers die with the driver (PDEATHSIG), and their candidates die with them.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing

from evoforge.candidate import Evaluation
from evoforge.executors._base import Executor, kill_active
from evoforge.executors.worker import Job, RunContext, evaluate, worker_init


class LocalExecutor(Executor):
    def __init__(self, ctx: RunContext, *, workers: int) -> None:
        self.ctx = ctx
        self.workers = workers
        self._pool: cf.ProcessPoolExecutor | None = None
        self._futures: dict[cf.Future[Evaluation], Job] = {}

    def _ensure_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=worker_init,
            )
        return self._pool

    def submit(self, job: Job) -> None:
        future = self._ensure_pool().submit(evaluate, self.ctx, job)
        self._futures[future] = job

    def poll(self, timeout: float) -> list[tuple[Job, Evaluation]]:
        if not self._futures:
            return []
        done, _ = cf.wait(list(self._futures), timeout=timeout, return_when=cf.FIRST_COMPLETED)
        out: list[tuple[Job, Evaluation]] = []
        for future in done:
            job = self._futures.pop(future)
            try:
                out.append((job, future.result()))
            except Exception as exc:  # a worker crashed: the candidate is not at fault
                out.append((job, Evaluation(ok=False, failure=f"worker error: {exc!r}")))
        return out

    def in_flight(self) -> int:
        return len(self._futures)

    def shutdown(self, *, kill: bool) -> None:
        if kill:
            kill_active(self.ctx.active_dir)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._futures.clear()
