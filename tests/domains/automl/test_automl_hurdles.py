"""Hurdles: candidates behind the rolling percentile stop early with a lower bound."""

from __future__ import annotations

import pytest

from evoforge.domains.automl.evaluator import Evaluator
from evoforge.domains.automl.hurdles import Hurdle, HurdleConfig
from evoforge.domains.automl.interpreter import Interpreter
from evoforge.domains.automl.program import Memory, linear_regression_sgd
from evoforge.domains.automl.tasks import TaskSpec, make_tasks


def test_hurdle_warms_up_then_applies_the_percentile() -> None:
    hurdle = Hurdle(HurdleConfig(percentile=50.0, window=10, warmup=4, refresh=1))
    assert all(hurdle.passes(x) for x in (0.1, 0.2, 0.3, 0.4))  # warming up: all pass
    assert hurdle.threshold == pytest.approx(0.25)
    assert not hurdle.passes(0.2)
    assert hurdle.passes(0.9)


def test_hurdle_threshold_follows_a_rolling_window() -> None:
    hurdle = Hurdle(HurdleConfig(percentile=50.0, window=3, warmup=3, refresh=1))
    for x in (0.1, 0.1, 0.1, 0.9, 0.9, 0.9):
        hurdle.passes(x)
    assert hurdle.threshold == pytest.approx(0.9)


def test_hurdle_config_is_validated() -> None:
    with pytest.raises(ValueError):
        HurdleConfig(percentile=120.0)
    with pytest.raises(ValueError):
        HurdleConfig(tasks=0)


def test_stopped_candidates_get_a_lower_bound_and_good_ones_finish() -> None:
    interpreter = Interpreter(make_tasks(TaskSpec(n_tasks=6, seed=5)), Memory())
    hurdle = Hurdle(HurdleConfig(tasks=2, percentile=50.0, warmup=1, refresh=1))
    evaluator = Evaluator(interpreter, hurdle=hurdle)
    good, weak = linear_regression_sgd(0.2), linear_regression_sgd(0.01)
    assert evaluator.score(good) == pytest.approx(interpreter.fitness(good))
    weak_score = evaluator.score(weak)
    assert evaluator.counts.hurdle_stops == 1 and evaluator.counts.evaluated == 2
    partial = interpreter.task_fitness(weak, 0, 2)
    assert weak_score == pytest.approx(partial.sum() / 6)
    assert weak_score < interpreter.fitness(weak)
    assert evaluator.score(good) == pytest.approx(interpreter.fitness(good))
    assert evaluator.counts.hurdle_stops == 1
