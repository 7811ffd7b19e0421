"""Running programs on task suites: fitness definitions, degenerate runs, recording."""

from __future__ import annotations

import numpy as np
import pytest

from evoforge.domains.automl.interpreter import Interpreter
from evoforge.domains.automl.ops import Op
from evoforge.domains.automl.program import Instruction, Memory, Program, linear_regression_sgd
from evoforge.domains.automl.tasks import TaskSpec, make_tasks


@pytest.fixture(scope="module")
def linear() -> Interpreter:
    return Interpreter(make_tasks(TaskSpec(n_tasks=4, seed=3)), Memory())


def test_sgd_learns_linear_tasks(linear: Interpreter) -> None:
    assert linear.fitness(linear_regression_sgd(0.2)) > 0.9999
    assert linear.fitness(linear_regression_sgd(0.01)) < 0.9


def test_regression_fitness_is_squashed_rmse(linear: Interpreter) -> None:
    # Predicting 0 everywhere: RMSE is the root mean square of the validation labels.
    zero = Program.build(predict=[Instruction(Op.SCALAR_CONST_SET, out=1, c0=0.0)])
    rmse = np.sqrt(np.mean(linear.suite.valid_y**2, axis=1))
    expected = 1 - 2 / np.pi * np.arctan(rmse)
    np.testing.assert_allclose(linear.task_fitness(zero), expected, rtol=1e-12)


def test_classification_fitness_is_accuracy() -> None:
    suite = make_tasks(TaskSpec(kind="digits", n_tasks=2, n_features=8, n_train=50, n_valid=40))
    interpreter = Interpreter(suite, Memory())
    # Logit = first feature: predicts class 1 when x0 > 0.
    first = Program.build(
        setup=[Instruction(Op.VECTOR_CONST_SET, out=1, c0=0.0, c1=1.0)],
        predict=[Instruction(Op.VECTOR_INNER_PRODUCT, 0, 1, 1)],
    )
    expected = np.mean((suite.valid_x[:, :, 0] > 0) == (suite.valid_y > 0.5), axis=1)
    np.testing.assert_allclose(interpreter.task_fitness(first), expected)


def test_runaway_program_is_degenerate(linear: Interpreter) -> None:
    # s1 = 1e3 everywhere: every training error exceeds max_abs_error (100).
    runaway = Program.build(predict=[Instruction(Op.SCALAR_CONST_SET, out=1, c0=1e3)])
    assert linear.screen(runaway, 2) is None
    np.testing.assert_array_equal(linear.task_fitness(runaway), np.zeros(4))
    infinite = Program.build(predict=[Instruction(Op.SCALAR_LOG, 2, 0, 1)])  # s1 = log(0)
    assert linear.fitness(infinite) == 0.0


def test_screen_returns_the_first_tasks(linear: Interpreter) -> None:
    program = linear_regression_sgd(0.1)
    screened = linear.screen(program, 2)
    assert screened is not None
    np.testing.assert_array_equal(screened, linear.task_fitness(program)[:2])


def test_predictions_record_training_then_validation(linear: Interpreter) -> None:
    program = linear_regression_sgd(0.1)
    preds = linear.predictions(program, n_train=3, n_valid=2)
    assert preds.shape == (5,)
    assert preds[0] == 0.0  # weights start at zero
    w = np.zeros(4)
    x, y = linear.suite.train_x[0], linear.suite.train_y[0]
    for i in range(3):
        assert preds[i] == pytest.approx(x[i] @ w, abs=1e-12)
        w += 0.1 * (y[i] - x[i] @ w) * x[i]
    assert preds[3] == pytest.approx(linear.suite.valid_x[0, 0] @ w, abs=1e-12)


def test_random_operations_are_reproducible(linear: Interpreter) -> None:
    noisy = Program.build(
        setup=[Instruction(Op.VECTOR_GAUSSIAN_SET, out=1, c0=0.0, c1=1.0)],
        predict=[
            Instruction(Op.VECTOR_INNER_PRODUCT, 0, 1, 1),
            Instruction(Op.SCALAR_UNIFORM_SET, out=2, c0=-0.1, c1=0.1),
            Instruction(Op.SCALAR_SUM, 1, 2, 1),
        ],
    )
    assert noisy.uses_random
    first = linear.task_fitness(noisy)
    np.testing.assert_array_equal(first, linear.task_fitness(noisy))
    assert len(set(first.tolist())) == 4  # each task has its own seed


def test_epochs_repeat_training() -> None:
    one = Interpreter(make_tasks(TaskSpec(n_tasks=2, n_train=20)), Memory())
    three = Interpreter(make_tasks(TaskSpec(n_tasks=2, n_train=20, epochs=3)), Memory())
    program = linear_regression_sgd(0.05)
    assert three.fitness(program) > one.fitness(program)
