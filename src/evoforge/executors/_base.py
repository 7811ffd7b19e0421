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
from collections.abc import Iterable
from pathlib import Path

from evoforge.candidate import Evaluation
from evoforge.runner import Job


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


def kill_active(active_dir: Path, keys: Iterable[str] | None = None) -> list[int]:
    """Kill the candidate process groups recorded in ``active_dir`` (only those of ``keys``,
    when given: the pid files are named by ``Job.key``); returns the pgids."""
    if keys is None:
        if not active_dir.is_dir():
            return []
        files = list(active_dir.iterdir())
    else:
        files = [active_dir / key for key in keys]
    killed: list[int] = []
    for entry in files:
        try:
            pgid = int(entry.read_text().strip() or "0")
        except (OSError, ValueError):
            continue
        if pgid > 1:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
            killed.append(pgid)
    return killed
