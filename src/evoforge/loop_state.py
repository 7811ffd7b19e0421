"""What bounds the loop and what it counts: its budget, its running figures, who watches them."""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from evoforge.archive import Archive
from evoforge.candidate import Candidate, Status
from evoforge.config import BudgetSection

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
    stopped: int = 0
    """Stopped at a low fidelity rung (``[fidelity]``): evaluated, never compared."""
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

    @classmethod
    def of_archive(
        cls, archive: Archive, *, budget: int | None, objective: str, now: float
    ) -> Stats:
        """The figures a run resumes with: its records, its earlier sessions' time, its champion."""
        elapsed = float(archive.get_meta("elapsed_s", 0.0) or 0.0)
        stats = cls(budget=budget, started_at=now, elapsed_before=elapsed)
        for status, n in archive.counts().items():
            stats.count(status, n)
        stats.follow(archive.champion(), objective)
        return stats

    def count(self, status: Status, n: int = 1) -> None:
        """``n`` more records that ended ``status``: the one place outcomes are counted."""
        if status.was_evaluated():
            self.evaluated += n
        if status == Status.SUCCEEDED:
            self.succeeded += n
        elif status == Status.FAILED:
            self.failed += n
        elif status == Status.REJECTED:
            self.rejected += n
        elif status == Status.DUPLICATE:
            self.duplicates += n
        elif status == Status.STOPPED:
            self.stopped += n

    def follow(self, champ: Candidate | None, objective: str) -> None:
        """The champion's figures, when it moved."""
        if champ is not None and champ.id != self.champion_id:
            self.best = champ.score(objective)
            self.best_heldout = dict(champ.heldout)
            self.champion_id = champ.id

    def per_minute(self, now: float) -> float:
        """Candidates evaluated per minute over every session of the run."""
        minutes = max((now - self.started_at + self.elapsed_before) / 60.0, 1e-9)
        return self.evaluated / minutes


class Observer(Protocol):
    def update(self, stats: Stats, finished: Candidate | None) -> None: ...


@dataclass
class Streak:
    """The proposals in a row that made nothing to run, and why (a candidate run ends it)."""

    n: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def missed(self, why: str) -> None:
        self.n += 1
        self.reasons[re.sub(r"#\d+", "#N", why)[:300]] += 1

    def clear(self) -> None:
        self.n = 0
        self.reasons.clear()

    def summary(self) -> str:
        """Why the proposals made nothing to run, most frequent first."""
        common = self.reasons.most_common(3)
        if len(common) == 1:
            return f"{self.n} proposals in a row made nothing to run, every one: {common[0][0]}"
        listed = "; ".join(f"{why} ({count})" for why, count in common)
        return f"{self.n} proposals in a row made nothing to run: {listed}"


@dataclass(frozen=True)
class Budget:
    """What a run may spend; :meth:`of` makes it from ``[budget]``, whose defaults are
    the only ones."""

    candidates: int | None
    deadline: float | None  # absolute time.time(); None = no wall budget
    max_consecutive_rejections: int
    cpu_seconds: float | None = None

    @classmethod
    def of(cls, section: BudgetSection, *, now: float, spent_s: float = 0.0) -> Budget:
        """The budget from ``now``, when earlier sessions of the run took ``spent_s``."""
        wall, cpu = section.wall_minutes, section.cpu_hours
        return cls(
            candidates=section.candidates,
            deadline=None if wall is None else now + wall * 60 - spent_s,
            max_consecutive_rejections=section.max_consecutive_rejections,
            cpu_seconds=None if cpu is None else cpu * 3600,
        )

    def verdict(
        self, *, started: int, now: float, cpu_s: float, streak: Streak, exhausted: str = ""
    ) -> str | None:
        """Why no other candidate may start (and so why the run ends), or None while one
        may; ``started`` counts the candidates evaluated and those in flight, and
        ``exhausted`` is what a proposer said when it had nothing left."""
        if self.cpu_seconds is not None and cpu_s >= self.cpu_seconds:
            return "CPU budget spent"
        if exhausted:
            return f"proposer exhausted: {exhausted}"
        if streak.n >= self.max_consecutive_rejections:
            return f"proposer exhausted: {streak.summary()}"
        if self.candidates is not None and started >= self.candidates:
            return "finished"
        if self.deadline is not None and now >= self.deadline:
            return "wall budget spent"
        return None


@dataclass
class Draws:
    """The random draws of a proposal: derived from the run seed, the archive's size and
    how often a proposal was tried at that size. Reproducible; a resumed run does not
    replay the choices it already made, and a failed proposal (which records nothing) is
    not retried with the very draws that made it fail."""

    size: int = -1
    tries: int = 0

    def next_try(self, size: int) -> None:
        """One more proposal, made while the archive holds ``size`` records."""
        self.size, self.tries = size, self.tries + 1 if size == self.size else 0

    def rng(self, run_seed: int, purpose: str, size: int) -> random.Random:
        tries = self.tries if self.size == size else 0
        return random.Random(f"{run_seed}:{purpose}:{size}" + (f":{tries}" if tries else ""))
