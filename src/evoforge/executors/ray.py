"""Candidates on a Ray cluster: the driver keeps the loop, Ray only places work.

Each job is one Ray task that calls ``runner.evaluate`` on the node Ray picks:
the same trusted runner code, the same sandbox and the same scoring as the local
executor, so a candidate is isolated by the runner on that node, never by Ray.
The task's scoring runs there in the trusted Ray worker, reading its hidden
labels from where the task says; ``evaluate`` checks the task's file hashes
before each scoring, so a node whose copy of the experiment differs fails loudly.
The cluster therefore needs evoforge and the experiment folder at the same paths
on every node. Results come back to the driver, the only writer of the archive.

Back-pressure: at most ``workers`` jobs and at most as many as the cluster's
CPUs (and memory, when asked) can run at once are handed to Ray; the others
wait, in order, in the driver. Jobs are placed with Ray's ``SPREAD`` strategy,
so a cluster's nodes share the work even when jobs are too short to overlap.

A job whose worker process or node is lost is handed to Ray again (Ray's own
retries are off, so each one is seen), up to ``max_retries`` times, each retry
logged and handed to ``on_retry`` (the session writes it to the run's audit log);
after that it comes back as a failed evaluation saying so, and the run goes on.

Pid files of candidates go to ``active/ray-<node id>/`` on the node that runs
them, so ``shutdown(kill=True)`` sends a small task to every live node that
kills the process groups of this executor's jobs there, then force-cancels the
Ray tasks; candidates also die with their worker (death signal, bubblewrap's
``--die-with-parent``).

This module imports Ray: it is imported only when the ray executor is chosen.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import (
    LocalRayletDiedError,
    NodeDiedError,
    ObjectLostError,
    OutOfMemoryError,
    RayError,
    RayTaskError,
    WorkerCrashedError,
)
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from evoforge.candidate import Evaluation
from evoforge.config import RaySection
from evoforge.executors._base import Executor, kill_active
from evoforge.runner import Job, RunContext, evaluate

LOST = (WorkerCrashedError, NodeDiedError, LocalRayletDiedError, ObjectLostError, OutOfMemoryError)
"""Errors that say where a job ran was lost, not that the job itself is at fault."""

_MB = 1024 * 1024
_CAPACITY_TTL_S = 1.0
_log = logging.getLogger(__name__)


def node_active_dir(active_dir: Path, node_id: str) -> Path:
    """Where the candidates running on one node record their process groups."""
    return active_dir / f"ray-{node_id}"


def run_on_node(ctx: RunContext, job: Job) -> Evaluation:
    """The Ray task: ``runner.evaluate`` on this node, its pid file in this node's folder."""
    active = node_active_dir(ctx.active_dir, ray.get_runtime_context().get_node_id())
    active.mkdir(parents=True, exist_ok=True)
    return evaluate(replace(ctx, active_dir=active), job)


def kill_on_node(active_dir: Path, keys: list[str]) -> list[int]:
    """Kill the process groups of ``keys`` recorded on this node; returns the pgids."""
    node = ray.get_runtime_context().get_node_id()
    return kill_active(node_active_dir(active_dir, node), keys)


class RayExecutor(Executor):
    def __init__(
        self,
        ctx: RunContext,
        *,
        workers: int,
        settings: RaySection | None = None,
        on_retry: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.ctx = ctx
        self.workers = workers
        self.settings = settings or RaySection()
        """The run's ``[ray]`` section, whose defaults are the only ones."""
        self.on_retry = on_retry
        self._queue: deque[tuple[Job, int]] = deque()  # (job, retries so far)
        self._running: dict[Any, tuple[Job, int]] = {}  # ObjectRef -> (job, retries)
        self._session: dict[str, Any] = {}  # while connected: ctx ref, remote functions
        self._capacity: tuple[float, int] = (0.0, 1)  # (when measured, slots)

    # -- connecting ---------------------------------------------------------------
    def _connect(self) -> dict[str, Any]:
        if self._session:
            return self._session
        owns = not ray.is_initialized()
        if owns:
            kwargs: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
            if self.settings.address is None:
                kwargs["include_dashboard"] = False
                if self.settings.object_store_mb is not None:
                    kwargs["object_store_memory"] = self.settings.object_store_mb * _MB
            else:
                kwargs["address"] = self.settings.address
            ray.init(**kwargs)
        # SPREAD: candidates are heavy and alike, so they go round the nodes rather
        # than filling the driver's node first (Ray's default keeps work local).
        options: dict[str, Any] = {
            "num_cpus": self.settings.cpus_per_candidate,
            "max_retries": 0,
            "scheduling_strategy": "SPREAD",
        }
        if self.settings.memory_mb_per_candidate is not None:
            options["memory"] = self.settings.memory_mb_per_candidate * _MB
        self._session = {
            "owns": owns,
            "ctx": ray.put(self.ctx),  # once per connection, not once per job
            "run": ray.remote(run_on_node).options(**options),
            "kill": ray.remote(kill_on_node),
        }
        self._capacity = (0.0, 1)
        return self._session

    def capacity(self) -> int:
        """How many jobs may run at once: ``workers``, and what the cluster's live nodes hold."""
        measured, slots = self._capacity
        if time.monotonic() - measured < _CAPACITY_TTL_S:
            return slots
        self._connect()
        total = ray.cluster_resources()  # type: ignore[no-untyped-call]
        fits = total.get("CPU", 0.0) / self.settings.cpus_per_candidate
        if self.settings.memory_mb_per_candidate is not None:
            fits = min(
                fits, total.get("memory", 0.0) / (self.settings.memory_mb_per_candidate * _MB)
            )
        # At least one: a cluster that is (re)starting nodes queues the job until one is up.
        slots = max(1, min(self.workers, int(fits + 1e-9)))
        self._capacity = (time.monotonic(), slots)
        return slots

    # -- the executor contract ----------------------------------------------------
    def submit(self, job: Job) -> None:
        self._queue.append((job, 0))
        self._dispatch()

    def _dispatch(self) -> None:
        while self._queue and len(self._running) < self.capacity():
            job, retries = self._queue.popleft()
            session = self._connect()
            self._running[session["run"].remote(session["ctx"], job)] = (job, retries)

    def poll(self, timeout: float) -> list[tuple[Job, Evaluation]]:
        self._dispatch()
        if not self._running:
            return []
        ready, _ = ray.wait(list(self._running), num_returns=1, timeout=timeout)
        if ready:  # and whatever else finished meanwhile, without waiting
            ready, _ = ray.wait(list(self._running), num_returns=len(self._running), timeout=0)
        out: list[tuple[Job, Evaluation]] = []
        for ref in ready:
            job, retries = self._running.pop(ref)
            evaluation = self._result(ref, job, retries)
            if evaluation is not None:
                out.append((job, evaluation))
        self._dispatch()
        return out

    def _result(self, ref: Any, job: Job, retries: int) -> Evaluation | None:
        """The job's evaluation, or None when it was handed to Ray again."""
        try:
            result = ray.get(ref)
        except LOST as exc:
            reason = _first_line(exc)
            if retries < self.settings.max_retries:
                self._record_retry(job, retries + 1, reason)
                self._queue.appendleft((job, retries + 1))
                return None
            return Evaluation(
                ok=False, failure=f"worker node lost, retried {retries} times: {reason}"
            )
        except RayTaskError as exc:  # the trusted worker code raised: as the local executor
            return Evaluation(ok=False, failure=f"worker error: {exc.cause!r}")
        except RayError as exc:
            return Evaluation(ok=False, failure=f"worker error: {_first_line(exc)}")
        if not isinstance(result, Evaluation):
            return Evaluation(ok=False, failure=f"worker error: got {type(result).__name__}")
        return result

    def _record_retry(self, job: Job, retry: int, reason: str) -> None:
        _log.warning(
            "candidate %s (%s): worker or node lost, retry %d of %d: %s",
            job.candidate_id, job.key, retry, self.settings.max_retries, reason,
        )  # fmt: skip
        if self.on_retry is not None:
            self.on_retry({
                "candidate": job.candidate_id, "key": job.key, "purpose": job.purpose,
                "retry": retry, "max_retries": self.settings.max_retries, "reason": reason,
            })  # fmt: skip

    def in_flight(self) -> int:
        return len(self._queue) + len(self._running)

    def shutdown(self, *, kill: bool) -> None:
        self._queue.clear()
        if not self._session:
            self._running.clear()
            return
        refs = list(self._running)
        if kill:
            self._kill_candidates([job.key for job, _ in self._running.values()])
            for ref in refs:  # and the workers: a job may not have started its candidate yet
                ray.cancel(ref, force=True)
        elif refs:
            ray.wait(refs, num_returns=len(refs))
        self._running.clear()
        if self._session["owns"]:
            ray.shutdown()
        self._session = {}

    def _kill_candidates(self, keys: list[str]) -> None:
        kill_active(self.ctx.active_dir)  # nothing there unless a local job wrote it
        if not keys:
            return
        strategies = [
            NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
            for node in ray.nodes()  # type: ignore[no-untyped-call]
            if node.get("Alive")
        ]
        refs = [
            self._session["kill"]
            .options(num_cpus=0, max_retries=0, scheduling_strategy=s)
            .remote(self.ctx.active_dir, keys)
            for s in strategies
        ]
        if refs:
            ray.wait(refs, num_returns=len(refs), timeout=10)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]
