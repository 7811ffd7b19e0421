"""The search driver: budget, determinism, callbacks, islands, processes, targets."""

from __future__ import annotations

from dataclasses import replace

import pytest

from evoforge.domains.automl.hurdles import HurdleConfig
from evoforge.domains.automl.island import Improvement
from evoforge.domains.automl.search import Progress, evaluate, run_search
from evoforge.domains.automl.tasks import TaskSpec

from automl_helpers import SMALL


def test_budget_counts_and_determinism() -> None:
    first, second = run_search(SMALL), run_search(SMALL)
    counts = first.counts
    assert first.stop_reason == "budget" and counts.candidates == 1500
    assert counts.evaluated + counts.cache_hits == counts.candidates
    assert counts.discarded <= counts.evaluated
    assert first.best == second.best and first.counts == second.counts
    assert first.unseen_fitness is not None and 0.0 <= first.unseen_fitness <= 1.0
    assert first.fitness == max(f for _, f in first.elites)


def test_callbacks_report_improvements_and_progress() -> None:
    improvements: list[Improvement] = []
    progress: list[Progress] = []
    result = run_search(SMALL, on_improvement=improvements.append, on_progress=progress.append)
    fitnesses = [i.fitness for i in improvements]
    assert fitnesses == sorted(fitnesses) and len(set(fitnesses)) == len(fitnesses)
    assert improvements[-1].fitness == result.fitness
    assert len(progress) == 6 and progress[-1].counts.candidates == 1500
    assert progress[-1].best_fitness == result.fitness


def test_should_stop_ends_the_search_after_a_round() -> None:
    result = run_search(SMALL, should_stop=lambda: True)
    assert result.stop_reason == "stopped" and result.counts.candidates == 250


def test_evolution_beats_random_search_on_the_same_budget() -> None:
    evolved = run_search(replace(SMALL, max_candidates=3000))
    sampled = run_search(replace(SMALL, max_candidates=3000, strategy="random"))
    assert evolved.fitness > sampled.fitness


def test_islands_migrate_and_processes_match_in_process_runs() -> None:
    config = replace(SMALL, islands=2, max_candidates=1000, round_size=100, migrants=3)
    local = run_search(config)
    remote = run_search(replace(config, processes=True))
    assert local.counts.candidates == 1000
    assert remote.best == local.best and remote.counts == local.counts


def test_target_is_confirmed_on_select_tasks() -> None:
    config = replace(
        SMALL,
        select_tasks=TaskSpec(n_tasks=4, n_train=30, n_valid=20, seed=77),
        target_fitness=0.38,
        max_candidates=20000,
    )
    result = run_search(config)
    assert result.solved and result.stop_reason == "target"
    assert result.select_fitness is not None and result.select_fitness >= 0.38
    assert result.fitness >= 0.38 and result.counts.candidates < 20000
    assert result.counts.select_checks >= 1


def test_select_tasks_choose_the_champion_without_a_target() -> None:
    select = TaskSpec(n_tasks=4, n_train=30, n_valid=20, seed=77)
    result = run_search(replace(SMALL, select_tasks=select))
    assert not result.solved and result.select_fitness is not None
    for program, _ in result.elites:
        assert evaluate(program, select, result.config) <= result.select_fitness
    assert evaluate(result.best, select, result.config) == result.select_fitness


def test_hurdles_stop_candidates_during_search() -> None:
    config = replace(
        SMALL,
        search_tasks=replace(SMALL.search_tasks, n_tasks=6),
        hurdle=HurdleConfig(tasks=2, percentile=75.0, warmup=20),
        cache=False,
    )
    result = run_search(config)
    assert result.counts.hurdle_stops > 0
    assert result.counts.evaluated == result.counts.candidates


def test_with_refreshed_tasks_improvements_are_judged_on_the_select_tasks() -> None:
    # Islands score on task sets of their own, redrawn every 300 candidates: their
    # numbers do not compare, so the driver ranks improvements on the select tasks.
    from evoforge.domains.automl.interpreter import Interpreter
    from evoforge.domains.automl.tasks import make_tasks

    select = TaskSpec(n_tasks=4, n_train=30, n_valid=20, seed=77)
    config = replace(SMALL, refresh_tasks_every=300, select_tasks=select, islands=2)
    progress: list[Progress] = []
    result = run_search(config, on_progress=progress.append)
    judge = Interpreter(make_tasks(select), config.space.memory)
    on_select = [judge.fitness(i.program) for i in result.improvements]
    assert len(on_select) >= 2
    assert on_select == sorted(on_select) and len(set(on_select)) == len(on_select)
    assert progress[-1].best_fitness == pytest.approx(on_select[-1])
    assert result.select_fitness is not None and result.select_fitness >= on_select[-1] - 1e-12
