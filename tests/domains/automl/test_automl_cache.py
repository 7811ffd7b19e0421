"""Functional-equivalence caching: equivalent programs hit, different ones miss."""

from __future__ import annotations

import numpy as np
import pytest

from evoforge.domains.automl.cache import FunctionalCache, fingerprint
from evoforge.domains.automl.evaluator import Evaluator
from evoforge.domains.automl.interpreter import Interpreter
from evoforge.domains.automl.ops import Op
from evoforge.domains.automl.program import Instruction, Memory, Program, linear_regression_sgd
from evoforge.domains.automl.tasks import TaskSpec, make_tasks


@pytest.fixture(scope="module")
def interpreter() -> Interpreter:
    return Interpreter(make_tasks(TaskSpec(n_tasks=3, seed=11)), Memory())


def _sgd_variant() -> Program:
    """Linear SGD written differently: a dead instruction and reordered independent steps."""
    return Program.build(
        setup=[
            Instruction(Op.SCALAR_CONST_SET, out=3, c0=0.7),  # dead: overwritten in learn
            Instruction(Op.SCALAR_CONST_SET, out=2, c0=0.1),
        ],
        predict=[Instruction(Op.VECTOR_INNER_PRODUCT, 1, 0, 1)],  # dot(v1, v0)
        learn=[
            Instruction(Op.SCALAR_DIFF, 0, 1, 3),
            Instruction(Op.SCALAR_PRODUCT, 2, 3, 3),  # s2 * s3, commuted
            Instruction(Op.SCALAR_VECTOR_PRODUCT, 3, 0, 2),
            Instruction(Op.VECTOR_SUM, 2, 1, 1),  # v2 + v1, commuted
        ],
    )


def _evaluator(interpreter: Interpreter) -> Evaluator:
    return Evaluator(interpreter, cache=FunctionalCache(100))


def test_equivalent_programs_hit(interpreter: Interpreter) -> None:
    evaluator = _evaluator(interpreter)
    first = evaluator.score(linear_regression_sgd(0.1))
    second = evaluator.score(_sgd_variant())
    assert second == first
    assert evaluator.counts.cache_hits == 1 and evaluator.counts.evaluated == 1


def test_different_programs_miss(interpreter: Interpreter) -> None:
    evaluator = _evaluator(interpreter)
    slow = evaluator.score(linear_regression_sgd(0.1))
    fast = evaluator.score(linear_regression_sgd(0.2))
    assert slow != fast
    assert evaluator.counts.cache_hits == 0 and evaluator.counts.evaluated == 2


def test_cached_fitness_equals_a_fresh_evaluation(interpreter: Interpreter) -> None:
    variant = _sgd_variant()
    assert _evaluator(interpreter).score(variant) == pytest.approx(interpreter.fitness(variant))


def test_fingerprint_canonicalises_rounding_sign_and_nan() -> None:
    a = np.array([1.0, 0.0, np.nan, 1e300])
    b = np.array([1.0 + 1e-15, -0.0, -np.nan, 1e300 * (1 + 1e-15)])
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a) != fingerprint(np.array([1.0001, 0.0, np.nan, 1e300]))


def test_cache_evicts_least_recently_used() -> None:
    cache = FunctionalCache(max_size=2)
    cache.put(b"a", 0.1)
    cache.put(b"b", 0.2)
    assert cache.get(b"a") == 0.1  # refreshes a
    cache.put(b"c", 0.3)
    assert cache.get(b"b") is None and cache.get(b"a") == 0.1 and len(cache) == 2
    with pytest.raises(ValueError):
        FunctionalCache(0)
