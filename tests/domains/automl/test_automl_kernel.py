"""The compiled kernel: the order it runs components in, fitness, degenerate tasks, memory."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from evoforge.domains.automl import kernel_primitives
from evoforge.domains.automl.kernel import DISCARDED, PRIMITIVES_SHA256, run_tasks
from evoforge.domains.automl.ops import Op
from evoforge.domains.automl.program import Instruction, Program

N_TASKS, N_TRAIN, N_VALID, D = 3, 2, 2, 2
GEN = np.random.default_rng(0)
TRAIN_X = GEN.uniform(-1, 1, (N_TASKS, N_TRAIN, D))
TRAIN_Y = GEN.uniform(-1, 1, (N_TASKS, N_TRAIN))
VALID_X = GEN.uniform(-1, 1, (N_TASKS, N_VALID, D))
VALID_Y = GEN.uniform(-1, 1, (N_TASKS, N_VALID))
# Classification labels: tasks 0 and 1 hold both classes, task 2 only class 1.
LABELS = np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
COUNTING = Program.build(
    setup=[Instruction(Op.SCALAR_CONST_SET, out=5, c0=1.0)],
    predict=[Instruction(Op.SCALAR_SUM, 2, 6, 1)],  # predict the count of learn steps so far
    learn=[Instruction(Op.SCALAR_SUM, 2, 5, 2)],
)


def run(
    program: Program,
    *,
    valid_y: NDArray[np.float64] = VALID_Y,
    lo: int = 0,
    hi: int = N_TASKS,
    epochs: int = 1,
    classify: bool = False,
    abort_first: bool = False,
    n_preds: int = 0,
    s: NDArray[np.float64] | None = None,
    wipe: bool = True,
) -> tuple[int, NDArray[np.float64], NDArray[np.float64]]:
    """(return value, fitness, predictions) of tasks ``[lo, hi)``; fitness starts at 7."""
    setup, predict, learn = program.sizes
    fitness = np.full(hi - lo, 7.0)
    preds = np.empty((hi - lo, n_preds))
    memory = np.zeros(8) if s is None else s
    result = run_tasks(
        program.code, program.data, setup, predict, learn,
        TRAIN_X, LABELS if classify else TRAIN_Y, VALID_X, valid_y, np.arange(N_TASKS),
        lo, hi, N_TRAIN, N_VALID, epochs, classify, program.uses_random, 100.0,
        abort_first, fitness, preds, memory, np.zeros((4, D)), np.zeros((2, D, D)), wipe,
    )  # fmt: skip
    return int(result), fitness, preds


def test_setup_runs_once_then_predict_and_learn_alternate_then_validation() -> None:
    _, _, preds = run(COUNTING, hi=1, epochs=3, n_preds=3 * N_TRAIN + N_VALID + 2)
    np.testing.assert_array_equal(preds[0], [0, 1, 2, 3, 4, 5, 6, 6, np.nan, np.nan])


def test_regression_fitness_squashes_the_validation_rmse() -> None:
    n_bad, fitness, _ = run(Program.build())  # predicts 0 everywhere
    rmse = np.sqrt(np.mean(VALID_Y**2, axis=1))
    assert n_bad == 0
    np.testing.assert_allclose(fitness, 1 - 2 / np.pi * np.arctan(rmse), rtol=1e-12)


def test_classification_fitness_is_the_accuracy_of_the_sigmoid() -> None:
    always_one = Program.build(predict=[Instruction(Op.SCALAR_CONST_SET, out=1, c0=2.0)])
    _, fitness, _ = run(always_one, valid_y=LABELS, classify=True)
    np.testing.assert_array_equal(fitness, [0.5, 1.0, 1.0])


def test_degenerate_tasks_score_zero_and_are_counted() -> None:
    runaway = Program.build(predict=[Instruction(Op.SCALAR_CONST_SET, out=1, c0=1e3)])
    n_bad, fitness, _ = run(runaway)
    assert n_bad == N_TASKS
    np.testing.assert_array_equal(fitness, np.zeros(N_TASKS))
    result, fitness, _ = run(runaway, abort_first=True)
    assert result == DISCARDED
    np.testing.assert_array_equal(fitness, [0.0, 7.0, 7.0])  # nothing more was run


def test_a_task_range_fills_rows_from_its_first_task() -> None:
    _, whole, _ = run(Program.build())
    _, part, _ = run(Program.build(), lo=1, hi=3)
    np.testing.assert_array_equal(part, whole[1:])


def test_memory_is_wiped_before_each_task_unless_asked_not_to() -> None:
    s = np.zeros(8)
    run(COUNTING, s=s, wipe=False)
    assert s[2] == N_TASKS * N_TRAIN  # learn steps of every task, added up
    s[:] = 9.0
    run(COUNTING, s=s)
    assert s[2] == N_TRAIN and s[3] == 0.0


def test_random_operations_replay_numpys_legacy_stream_of_the_task_seed() -> None:
    noisy = Program.build(predict=[Instruction(Op.SCALAR_UNIFORM_SET, out=1, c0=0.0, c1=0.5)])
    _, _, preds = run(noisy, lo=2, n_preds=N_TRAIN + N_VALID)
    expected = np.random.RandomState(2).uniform(0.0, 0.5, N_TRAIN + N_VALID)
    np.testing.assert_array_equal(preds[0], expected)


def test_the_digest_of_the_inlined_helpers_is_recorded_in_the_kernel() -> None:
    # numba's cache of kernel.py ignores edits to kernel_primitives.py: an edit there
    # must come with a new digest here, which rebuilds the cache.
    source = Path(kernel_primitives.__file__).read_text(encoding="utf-8")
    assert hashlib.sha256(source.encode()).hexdigest() == PRIMITIVES_SHA256
