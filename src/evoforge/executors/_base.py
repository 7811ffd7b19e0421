"""The executor contract: where candidate jobs run.

The driver submits jobs and polls for finished ones; an executor never chooses
what to run and never writes the archive. ``poll`` returns each finished job
exactly once. ``shutdown(kill=True)`` must leave no candidate process alive:
it kills the process groups recorded in the run's ``active`` folder.
"""

from __future__ import annotations

import abc
import contextlib
import os
import signal
from pathlib import Path

from evoforge.candidate import Evaluation
from evoforge.executors.worker import Job


class Executor(abc.ABC):
    @abc.abstractmethod
    def submit(self, job: Job) -> None: ...

    @abc.abstractmethod
    def poll(self, timeout: float) -> list[tuple[Job, Evaluation]]:
        """Finished jobs, waiting up to ``timeout`` seconds for at least one."""

    @abc.abstractmethod
    def in_flight(self) -> int: ...

    def capacity(self) -> int:
        """How many jobs can run at once now (the loop never starts more)."""
        return 1 << 30

    @abc.abstractmethod
    def shutdown(self, *, kill: bool) -> None:
        """Stop; with ``kill`` every running candidate is killed first."""


def kill_active(active_dir: Path) -> list[int]:
    """Kill every candidate process group recorded in ``active_dir``; returns the pgids."""
    killed: list[int] = []
    if not active_dir.is_dir():
        return killed
    for entry in active_dir.iterdir():
        try:
            pgid = int(entry.read_text().strip() or "0")
        except (OSError, ValueError):
            continue
        if pgid > 1:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
            killed.append(pgid)
    return killed
