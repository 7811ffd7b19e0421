"""One island: aging evolution or random search, restarts, refreshes, targets, its worker."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import replace
from multiprocessing import Pipe
from typing import cast

import pytest

from evoforge.domains.automl.config import SearchConfig
from evoforge.domains.automl.island import Island, IslandReport, island_worker
from evoforge.domains.automl.mutate import Mutator
from evoforge.domains.automl.program import Program, linear_regression_sgd
from evoforge.domains.automl.tasks import TaskSpec

from automl_helpers import SMALL

TINY = SearchConfig(
    search_tasks=TaskSpec(n_tasks=2, n_train=20, n_valid=10, seed=4),
    population=6,
    tournament=3,
    seed=3,
)


class _MutatorSpy:
    """Records the parents an island mutates, and mutates them as the real mutator does."""

    def __init__(self, real: Mutator) -> None:
        self.real = real
        self.parents: list[Program] = []

    def mutate(self, parent: Program, rng: random.Random) -> tuple[Program, str]:
        self.parents.append(parent)
        return self.real.mutate(parent, rng)


def _programs(n: int) -> list[Program]:
    return [linear_regression_sgd(0.01 * (i + 1)) for i in range(n)]


def test_islands_restart_on_new_tasks() -> None:
    config = replace(SMALL, restart_every=500)
    island = Island.create(config, 0, time.time())
    island.run(600)
    assert island.restarts == 1 and island.since_restart == 100
    assert island.evaluator.counts.candidates == 600 and len(island.programs) == 50
    assert island.evaluator.interpreter.suite.spec.seed != config.search_tasks.seed
    with pytest.raises(ValueError, match="refresh intervals"):
        replace(SMALL, restart_every=10)


def test_islands_refresh_tasks_and_rescore_the_population() -> None:
    config = replace(SMALL, refresh_tasks_every=300)
    island = Island.create(config, 0, time.time())
    island.run(300)
    old = list(island.fitnesses)
    island.run(1)
    assert island.task_sets == 1 and len(island.programs) == 50
    assert island.evaluator.counts.candidates == 300 + 50 + 1 + 1  # members and best re-scored
    assert island.best is not None  # the bar is measured on the new tasks too
    assert island.best_fitness == pytest.approx(island.evaluator.interpreter.fitness(island.best))
    assert island.fitnesses[:-1] != old[:-1] or island.fitnesses[1:] != old[1:]
    expected = [island.evaluator.interpreter.fitness(p) for p in island.programs[:5]]
    assert island.fitnesses[:5] == pytest.approx(expected)


def test_a_search_resumed_from_elites_breeds_from_them() -> None:
    # The population of a resumed search fills with the elites' mutants, not with
    # random programs among which the elites, the oldest, die first and leave nothing.
    from evoforge.domains.automl.program import linear_regression_sgd

    elites = tuple(linear_regression_sgd(lr) for lr in (0.05, 0.1, 0.2))
    resumed = Island.create(replace(SMALL, start=elites, seed=2), 0, time.time())
    fresh = Island.create(replace(SMALL, seed=2), 0, time.time())
    for island in (resumed, fresh):
        island.run(SMALL.population + len(elites))  # filled, then every elite aged out
    assert sum(f > 0.5 for f in resumed.fitnesses) >= 5  # the elites' line lives on
    assert max(resumed.fitnesses) >= resumed.best_fitness - 1e-12
    assert max(fresh.fitnesses) < 0.5  # a random start is far below them


def test_new_members_replace_the_oldest() -> None:
    island = Island.create(replace(TINY, population=3, tournament=2), 0, time.time())
    p = _programs(5)
    island.accept([(p[i], i / 10) for i in range(5)])
    assert island.programs == [p[3], p[4], p[2]]
    assert island.fitnesses == [0.3, 0.4, 0.2]


def test_top_gives_distinct_members_best_first() -> None:
    island = Island.create(replace(TINY, population=4, tournament=2), 0, time.time())
    a, b, c = _programs(3)
    island.accept([(a, 0.5), (b, 0.9), (a, 0.5), (c, 0.1)])
    assert island.top(2) == [(b, 0.9), (a, 0.5)]
    assert island.top(10) == [(b, 0.9), (a, 0.5), (c, 0.1)]


def test_the_population_fills_with_random_programs_then_breeds_mutants() -> None:
    island = Island.create(TINY, 0, time.time())
    spy = _MutatorSpy(island.mutator)
    island.mutator = cast(Mutator, spy)
    island.run(TINY.population)
    assert spy.parents == []
    members = list(island.programs)
    island.run(4)
    assert len(spy.parents) == 4 and spy.parents[0] in members


def test_random_search_never_mutates() -> None:
    island = Island.create(replace(TINY, strategy="random"), 0, time.time())
    spy = _MutatorSpy(island.mutator)
    island.mutator = cast(Mutator, spy)
    report = island.run(3 * TINY.population)
    assert report.counts.candidates == 3 * TINY.population and spy.parents == []


def test_an_island_is_reproducible_from_its_seed_and_index() -> None:
    first, again = Island.create(TINY, 0, 0.0), Island.create(TINY, 0, 0.0)
    other = Island.create(TINY, 1, 0.0)
    for island in (first, again, other):
        island.run(20)
    assert first.programs == again.programs and first.fitnesses == again.fitnesses
    assert first.programs != other.programs


def test_without_select_tasks_the_first_hit_solves_and_ends_the_round() -> None:
    island = Island.create(replace(TINY, target_fitness=0.0), 0, time.time())
    report = island.run(50)
    assert report.solved is not None and report.solved.select_fitness is None
    assert report.counts.candidates == 1 and report.counts.select_checks == 0


def test_a_hit_the_select_tasks_reject_is_never_checked_again() -> None:
    config = replace(
        TINY, target_fitness=0.4, select_tasks=TaskSpec(n_tasks=2, n_train=20, n_valid=10)
    )
    island = Island.create(config, 0, time.time())
    assert island.select is not None
    island.evaluator.score = lambda program: 0.5  # type: ignore[method-assign]
    island.select.fitness = lambda program: 0.1  # type: ignore[method-assign]
    report = island.run(5)
    assert report.solved is None and report.counts.select_checks == 1
    assert len(report.improvements) == 1 and report.best_fitness == 0.5


def test_reports_send_emigrants_between_islands_and_elites_at_the_end() -> None:
    island = Island.create(replace(TINY, islands=2, migrants=2, elites=3), 0, time.time())
    first = island.run(10)
    assert first.improvements and first.emigrants == island.top(2) and first.elites == []
    final = island.report(final=True)
    assert final.improvements == [] and final.elites == island.top(3)
    alone = Island.create(TINY, 0, time.time()).run(10)
    assert alone.emigrants == []


def test_the_worker_runs_rounds_with_migrants_until_told_to_stop() -> None:
    ours, theirs = Pipe()
    worker = threading.Thread(target=island_worker, args=(TINY, 0, time.time(), theirs))
    worker.start()
    migrant = linear_regression_sgd(0.2)
    ours.send(("run", 4, [(migrant, 0.99)]))
    report = ours.recv()
    assert isinstance(report, IslandReport) and report.counts.candidates == 4
    ours.send(("stop",))
    final = ours.recv()
    worker.join(timeout=5)
    assert not worker.is_alive()
    assert final.elites[0] == (migrant, 0.99) and final.counts.candidates == 4
