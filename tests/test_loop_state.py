"""What bounds the loop and what it counts: Stats, Streak, Budget.verdict and Draws."""

from __future__ import annotations

from typing import Any

import pytest

from evoforge.archive import MemoryArchive
from evoforge.candidate import Candidate, Status
from evoforge.config import BudgetSection
from evoforge.loop_state import Budget, Draws, Stats, Streak, TaskError


def budget(**section: Any) -> Budget:
    """The budget of a ``[budget]`` section, for a first session that began at 0."""
    return Budget.of(BudgetSection(**section), now=0.0)


def streak(n: int, why: str = "no code in the answer") -> Streak:
    s = Streak()
    for _ in range(n):
        s.missed(why)
    return s


@pytest.mark.parametrize(
    ("status", "counted"),
    [
        (Status.SUCCEEDED, {"evaluated": 2, "succeeded": 2}),
        (Status.FAILED, {"evaluated": 2, "failed": 2}),
        (Status.REJECTED, {"rejected": 2}),
        (Status.DUPLICATE, {"duplicates": 2}),
        (Status.PENDING, {}),
        (Status.RUNNING, {}),
    ],
)
def test_stats_count_each_outcome_and_only_runs_as_evaluated(
    status: Status, counted: dict[str, int]
) -> None:
    stats = Stats(budget=10)
    stats.count(status, 2)
    figures = ("evaluated", "succeeded", "failed", "rejected", "duplicates")
    assert {k: getattr(stats, k) for k in figures} == {k: counted.get(k, 0) for k in figures}


def test_stats_resume_with_the_records_time_and_champion_of_the_archive() -> None:
    archive = MemoryArchive()
    h = archive.put_code({"p.py": "x"})
    for status in (Status.SUCCEEDED, Status.SUCCEEDED, Status.FAILED, Status.REJECTED):
        archive.add(
            Candidate(id=0, code_hash=h, status=status, metrics={"score": 1.5}, heldout={"t": 2})
        )
    archive.move_champion(2, action="promote", reason="better")
    archive.set_meta("elapsed_s", 90.0)
    stats = Stats.of_archive(archive, budget=20, objective="score", now=1000.0)
    assert (stats.evaluated, stats.succeeded, stats.failed, stats.rejected) == (3, 2, 1, 1)
    assert (stats.champion_id, stats.best, stats.best_heldout) == (2, 1.5, {"t": 2})
    assert (stats.started_at, stats.elapsed_before, stats.budget) == (1000.0, 90.0, 20)


def test_stats_follow_the_champion_only_when_it_moves() -> None:
    stats = Stats(budget=None)
    first = Candidate(id=3, code_hash="h", metrics={"score": 2.0}, heldout={"t": 1.0})
    stats.follow(first, "score")
    assert (stats.champion_id, stats.best, stats.best_heldout) == (3, 2.0, {"t": 1.0})
    stats.best_heldout = {}
    stats.follow(first, "score")
    stats.follow(None, "score")
    assert stats.best_heldout == {} and stats.champion_id == 3
    stats.follow(Candidate(id=5, code_hash="h2", metrics={"other": 1.0}), "score")
    assert stats.champion_id == 5 and stats.best is None and stats.best_heldout == {}


def test_the_rate_counts_the_time_of_earlier_driver_sessions() -> None:
    stats = Stats(budget=40, evaluated=30, started_at=1000.0, elapsed_before=540.0)
    assert stats.per_minute(1060.0) == pytest.approx(3.0)
    assert Stats(budget=1, evaluated=0, started_at=5.0).per_minute(5.0) == 0.0


def test_a_streak_counts_reasons_alike_once_candidate_numbers_are_dropped() -> None:
    s = Streak()
    s.missed("same code as #12")
    s.missed("same code as #7")
    s.missed("x" * 500)
    assert s.n == 3
    assert s.reasons == {"same code as #N": 2, "x" * 300: 1}


def test_a_streak_of_one_reason_says_every_proposal_failed_so() -> None:
    assert streak(4).summary() == (
        "4 proposals in a row made nothing to run, every one: no code in the answer"
    )


def test_a_streak_names_its_three_most_frequent_reasons_first() -> None:
    s = Streak()
    for why, n in (("a", 1), ("b", 3), ("c", 2), ("d", 4)):
        for _ in range(n):
            s.missed(why)
    assert s.summary() == "10 proposals in a row made nothing to run: d (4); b (3); c (2)"


def test_a_cleared_streak_starts_again() -> None:
    s = streak(3)
    s.clear()
    s.missed("new")
    assert s.n == 1 and s.reasons == {"new": 1}


def test_the_budget_of_a_section_counts_the_time_earlier_sessions_took() -> None:
    section = BudgetSection(candidates=5, wall_minutes=2, cpu_hours=1)
    b = Budget.of(section, now=1000.0, spent_s=30.0)
    assert (b.candidates, b.deadline, b.cpu_seconds) == (5, 1090.0, 3600.0)
    assert b.max_consecutive_rejections == section.max_consecutive_rejections
    unbounded = Budget.of(BudgetSection(candidates=5), now=1000.0)
    assert (unbounded.deadline, unbounded.cpu_seconds) == (None, None)


def test_the_budget_lets_a_candidate_start_while_no_bound_is_reached() -> None:
    b = budget(candidates=5, wall_minutes=2, cpu_hours=1, max_consecutive_rejections=3)
    assert b.verdict(started=4, now=119.0, cpu_s=3599.0, streak=streak(2)) is None
    walls_only = budget(candidates=None, wall_minutes=2)
    assert walls_only.verdict(started=10**6, now=0.0, cpu_s=1e9, streak=Streak()) is None


def test_the_budgets_reasons_come_in_a_fixed_order() -> None:
    b = budget(candidates=5, wall_minutes=2, cpu_hours=1, max_consecutive_rejections=3)
    spent: dict[str, Any] = {
        "started": 5, "now": 120.0, "cpu_s": 3600.0, "streak": streak(3), "exhausted": "no tokens"
    }  # fmt: skip
    within: dict[str, Any] = {
        "started": 4, "now": 119.0, "cpu_s": 3599.0, "streak": streak(2), "exhausted": ""
    }  # fmt: skip
    order = []
    for bound in ("cpu_s", "exhausted", "streak", "started", "now"):
        order.append(b.verdict(**spent))
        spent[bound] = within[bound]
    assert order == [
        "CPU budget spent",
        "proposer exhausted: no tokens",
        "proposer exhausted: 3 proposals in a row made nothing to run, every one: "
        "no code in the answer",
        "finished",
        "wall budget spent",
    ]
    assert b.verdict(**spent) is None


def test_draws_are_the_same_for_the_same_run_seed_purpose_and_size() -> None:
    def first(draws: Draws, seed: int, purpose: str, size: int) -> list[float]:
        rng = draws.rng(seed, purpose, size)
        return [rng.random() for _ in range(3)]

    assert first(Draws(), 7, "parents", 4) == first(Draws(), 7, "parents", 4)
    assert first(Draws(), 7, "parents", 4) != first(Draws(), 8, "parents", 4)
    assert first(Draws(), 7, "parents", 4) != first(Draws(), 7, "propose", 4)
    assert first(Draws(), 7, "parents", 4) != first(Draws(), 7, "parents", 5)


def test_a_retry_at_the_same_size_draws_anew_and_a_new_size_starts_over() -> None:
    draws = Draws()
    draws.next_try(4)
    once = draws.rng(0, "p", 4).random()
    assert once == Draws().rng(0, "p", 4).random()
    draws.next_try(4)
    again = draws.rng(0, "p", 4).random()
    assert again != once
    assert draws.rng(0, "p", 5).random() == Draws().rng(0, "p", 5).random()
    draws.next_try(5)
    assert draws.tries == 0
    assert draws.rng(0, "p", 5).random() == Draws().rng(0, "p", 5).random()


def test_a_task_error_keeps_the_traceback_beside_its_message() -> None:
    err = TaskError("the task raised 3 times: boom", traceback="Traceback ...")
    assert str(err) == "the task raised 3 times: boom" and err.traceback == "Traceback ..."
    assert TaskError("x").traceback == ""
