"""What bounds the loop and what it counts: its budget, its running figures, who watches them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from evoforge.candidate import Candidate

StopCheck = Callable[[], str | None]
"""Returns None to go on, "now" to kill in-flight candidates and stop, "drain" to finish them first."""


class SeedFailed(RuntimeError):
    """The seed program itself does not run or score: nothing can improve on it."""


class TaskError(RuntimeError):
    """The trusted task raised too often (once, for the seed): the run stopped,
    resumable, with no candidate charged for it. ``traceback`` is the last one."""

    def __init__(self, message: str, *, traceback: str = "") -> None:
        super().__init__(message)
        self.traceback = traceback


@dataclass
class Stats:
    budget: int | None
    evaluated: int = 0
    in_flight: int = 0
    succeeded: int = 0
    failed: int = 0
    rejected: int = 0
    duplicates: int = 0
    proposal_errors: int = 0
    task_errors: int = 0
    """Evaluations the task itself broke in this driver session (not charged to candidates)."""
    best: float | None = None
    best_heldout: dict[str, float] = field(default_factory=dict)
    cpu_s: float = 0.0
    confirmations: int = 0
    champion_id: int | None = None
    started_at: float = field(default_factory=time.time)
    elapsed_before: float = 0.0
    """Seconds earlier driver sessions of the run drove it: ``evaluated`` counts their
    candidates too, so the rate counts their time."""
    proposer_note: str = ""
    """The proposer's own progress line (e.g. an algorithm search's throughput)."""

    def per_minute(self, now: float) -> float:
        """Candidates evaluated per minute over every session of the run."""
        minutes = max((now - self.started_at + self.elapsed_before) / 60.0, 1e-9)
        return self.evaluated / minutes


class Observer(Protocol):
    def update(self, stats: Stats, finished: Candidate | None) -> None: ...


@dataclass(frozen=True)
class Budget:
    candidates: int | None
    deadline: float | None  # absolute time.time(); None = no wall budget
    max_consecutive_rejections: int = 200
    cpu_seconds: float | None = None
