"""Scoring a candidate during search: counts, cache, discards and hurdles, in that order."""

from __future__ import annotations

from dataclasses import fields

import pytest

from evoforge.domains.automl.cache import FunctionalCache
from evoforge.domains.automl.evaluator import Counts, Evaluator
from evoforge.domains.automl.hurdles import Hurdle, HurdleConfig
from evoforge.domains.automl.interpreter import Interpreter
from evoforge.domains.automl.ops import Op
from evoforge.domains.automl.program import Instruction, Memory, Program, linear_regression_sgd
from evoforge.domains.automl.tasks import TaskSpec, make_tasks

RUNAWAY = Program.build(predict=[Instruction(Op.SCALAR_CONST_SET, out=1, c0=1e3)])


@pytest.fixture(scope="module")
def interpreter() -> Interpreter:
    return Interpreter(make_tasks(TaskSpec(n_tasks=3, seed=11)), Memory())


def test_without_cache_everything_is_evaluated(interpreter: Interpreter) -> None:
    evaluator = Evaluator(interpreter, cache=None)
    for _ in range(3):
        evaluator.score(linear_regression_sgd(0.1))
    assert evaluator.counts.evaluated == 3 and evaluator.counts.cache_hits == 0


def test_counts_add_every_field() -> None:
    total = Counts(*range(1, 7))
    total.add(Counts(*range(10, 70, 10)))
    assert total == Counts(11, 22, 33, 44, 55, 66)
    assert list(total.as_dict()) == [f.name for f in fields(Counts)]
    assert total.as_dict()["hurdle_stops"] == 44


def test_fitness_is_the_mean_over_the_search_tasks(interpreter: Interpreter) -> None:
    evaluator = Evaluator(interpreter)
    program = linear_regression_sgd(0.05)
    assert evaluator.score(program) == pytest.approx(interpreter.task_fitness(program).mean())
    assert evaluator.counts == Counts(candidates=1, evaluated=1)


def test_a_degenerate_first_task_discards_the_candidate(interpreter: Interpreter) -> None:
    evaluator = Evaluator(interpreter, cache=FunctionalCache(10))
    assert evaluator.score(RUNAWAY) == 0.0
    assert evaluator.counts.discarded == 1 and evaluator.counts.evaluated == 1
    assert evaluator.score(RUNAWAY) == 0.0
    assert evaluator.counts.cache_hits == 1 and evaluator.counts.discarded == 1


def test_a_hurdle_as_long_as_the_suite_is_not_applied(interpreter: Interpreter) -> None:
    hurdle = Hurdle(HurdleConfig(tasks=3, percentile=50.0, warmup=1, refresh=1))
    evaluator = Evaluator(interpreter, hurdle=hurdle)
    good, weak = linear_regression_sgd(0.2), linear_regression_sgd(0.01)
    evaluator.score(good)
    assert evaluator.score(weak) == pytest.approx(interpreter.fitness(weak))
    assert evaluator.counts.hurdle_stops == 0 and hurdle.threshold is None
