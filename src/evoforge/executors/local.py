"""The default executor: a pool of local worker processes.

Each worker is a separate, trusted process (spawned, so it shares nothing with
the driver's memory, and without the caller's ``__main__``: ``evoforge.spawn``) that loads the task once and evaluates one job at a time.
Workers die with the driver (PDEATHSIG), and their candidates die with them.

Jobs beyond the pool's size wait here, in order, never in the pool's own queue:
a job handed to the pool starts at once, and ``shutdown(kill=True)`` withdraws
every waiting job before it kills the running ones (the pool would otherwise
start its queued jobs after the kill, and wait for them).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import shutil
from collections import deque

from evoforge.candidate import Evaluation
from evoforge.executors._base import Executor, kill_active
from evoforge.runner import Job, RunContext, evaluate
from evoforge.spawn import spawn_context


class LocalExecutor(Executor):
    def __init__(self, ctx: RunContext, *, workers: int) -> None:
        self.ctx = ctx
        self.workers = workers
        self._pool: cf.ProcessPoolExecutor | None = None
        self._futures: dict[cf.Future[Evaluation], Job] = {}
        self._waiting: deque[Job] = deque()

    def _ensure_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=spawn_context(),
                initializer=worker_init,
            )
        return self._pool

    def submit(self, job: Job) -> None:
        self._waiting.append(job)
        self._feed()

    def _feed(self) -> None:
        """Hand waiting jobs to the pool while a worker is free."""
        while self._waiting and len(self._futures) < self.workers:
            job = self._waiting.popleft()
            self._futures[self._ensure_pool().submit(evaluate, self.ctx, job)] = job

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
        self._feed()
        return out

    def in_flight(self) -> int:
        return len(self._futures) + len(self._waiting)

    def waiting(self) -> int:
        """Jobs submitted but not started (not yet handed to a worker)."""
        return len(self._waiting)

    def shutdown(self, *, kill: bool) -> None:
        self._waiting.clear()  # never started, never will: the loop re-queues what it needs
        if kill:
            kill_active(self.ctx.active_dir)
            self._kill_workers()  # a job handed over a moment ago may not have its pid file yet
            kill_active(self.ctx.active_dir)  # the candidates of killed workers, if any started
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._futures.clear()
        if kill:  # killed workers leave their candidates' pid files and scratch folders
            for entry in self.ctx.active_dir.glob("c*"):
                with contextlib.suppress(OSError):
                    entry.unlink()
            shutil.rmtree(self.ctx.scratch_root, ignore_errors=True)

    def _kill_workers(self) -> None:
        if self._pool is None or not self._futures:
            return
        # The pool has no public way to stop a running call; its processes are ours.
        processes = getattr(self._pool, "_processes", None) or {}
        for process in list(processes.values()):
            with contextlib.suppress(Exception):
                process.kill()
        for process in list(processes.values()):
            with contextlib.suppress(Exception):
                process.join(timeout=2.0)


def worker_init() -> None:
    """Make a pool worker die with the driver (and its candidates with it)."""
    import ctypes
    import signal

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:  # the driver died before we set it
        os._exit(1)
