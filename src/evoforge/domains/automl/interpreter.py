"""Run encoded programs on task suites and score them.

Evaluation of one program on one task (as in the paper): wipe the memory, seed
the random stream with the task's seed, run ``setup`` once; for each epoch and
training example, write the features to ``v[0]`` and 0 to ``s[0]``, run
``predict``, then (classification) replace ``s[1]`` by ``sigmoid(s[1])``, write
the features and the label to ``v[0]``/``s[0]`` and run ``learn``; finally run
``predict`` over the validation examples.

Fitness of a task, in [0, 1]:

- regression: ``1 - (2/pi) * arctan(RMSE)`` over validation examples (the
  paper's squash; 0.9999 means RMSE <= 1.57e-4, a near-exact fit);
- classification: validation accuracy of ``sigmoid(s[1]) > 0.5``;
- 0 when the task is degenerate: a training error ``|label - prediction|`` or a
  validation error above ``max_abs_error`` (100, the paper's value) or NaN, or
  a NaN probability. Training stops at the first such error, so runaway
  algorithms cost little.

The fitness of a program on a suite is the mean over its tasks.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from evoforge.domains.automl.kernel import DISCARDED, run_tasks
from evoforge.domains.automl.program import Memory, Program
from evoforge.domains.automl.tasks import TaskSuite

MAX_ABS_ERROR = 100.0


class Interpreter:
    """Runs programs on one task suite with one memory layout.

    Stateless between calls (each run starts from wiped memory and the tasks'
    seeds), so one instance may score any number of programs, in any order.
    """

    def __init__(self, suite: TaskSuite, memory: Memory, *, max_abs_error: float = MAX_ABS_ERROR):
        self.suite = suite
        self.memory = memory
        self.max_abs_error = max_abs_error

    def task_fitness(
        self, program: Program, lo: int = 0, hi: int | None = None
    ) -> NDArray[np.float64]:
        """Fitness of each task in ``[lo, hi)`` (default: all)."""
        hi = self.suite.n_tasks if hi is None else hi
        out = np.zeros(hi - lo)
        self._run_all(program, lo, hi, False, out)
        return out

    def screen(self, program: Program, hi: int) -> NDArray[np.float64] | None:
        """Fitness of tasks ``[0, hi)``, or None, with nothing more run, when task 0 is
        degenerate."""
        out = np.zeros(hi)
        return None if self._run_all(program, 0, hi, True, out) == DISCARDED else out

    def fitness(self, program: Program) -> float:
        """Mean task fitness over the whole suite."""
        return float(self.task_fitness(program).mean())

    def predictions(
        self, program: Program, n_train: int, n_valid: int, task: int = 0
    ) -> NDArray[np.float64]:
        """Predictions on the first ``n_train`` training steps then ``n_valid`` validation
        examples of one task (one epoch; NaN after a degenerate stop)."""
        n_train = min(n_train, self.suite.spec.n_train)
        n_valid = min(n_valid, self.suite.spec.n_valid)
        preds = np.empty((1, n_train + n_valid))
        self._run(program, task, task + 1, n_train, n_valid, 1, False, np.zeros(1), preds)
        row: NDArray[np.float64] = preds[0]
        return row

    def _run_all(
        self, program: Program, lo: int, hi: int, abort_first: bool, out: NDArray[np.float64]
    ) -> int:
        spec = self.suite.spec
        return self._run(
            program,
            lo,
            hi,
            spec.n_train,
            spec.n_valid,
            spec.epochs,
            abort_first,
            out,
            np.empty((hi - lo, 0)),
        )

    def _run(
        self,
        program: Program,
        lo: int,
        hi: int,
        n_train: int,
        n_valid: int,
        epochs: int,
        abort_first: bool,
        out: NDArray[np.float64],
        preds: NDArray[np.float64],
    ) -> int:
        suite, memory = self.suite, self.memory
        d = suite.n_features
        setup, predict, learn = program.sizes
        n_bad = run_tasks(
            program.code, program.data, setup, predict, learn,
            suite.train_x, suite.train_y, suite.valid_x, suite.valid_y, suite.seeds,
            lo, hi, n_train, n_valid, epochs, suite.spec.classify, program.uses_random,
            self.max_abs_error, abort_first, out, preds, np.zeros(memory.scalars),
            np.zeros((memory.vectors, d)), np.zeros((memory.matrices, d, d)), True,
        )  # fmt: skip
        return int(n_bad)


def execute(
    program: Program,
    s: NDArray[np.float64],
    v: NDArray[np.float64],
    m: NDArray[np.float64],
    *,
    seed: int = 0,
) -> None:
    """Run every instruction of ``program`` once, in order, on the memory ``s`` (S,),
    ``v`` (V, d), ``m`` (M, d, d) in place; random operations start from ``seed``.

    For tests and tools that inspect memory. ``s[0]`` and ``v[0]`` keep their values
    (instructions cannot write them).
    """
    label, features = float(s[0]), v[0].copy()
    x = np.ascontiguousarray(features.reshape(1, 1, -1))
    y = np.full((1, 1), label)
    seeds = np.array([seed], dtype=np.int64)
    run_tasks(
        program.code, program.data, program.code.shape[0], 0, 0, x, y, x, y, seeds,
        0, 1, 1, 1, 1, False, program.uses_random, np.inf,
        False, np.zeros(1), np.empty((1, 0)), s, v, m, False,
    )  # fmt: skip
    s[0], v[0] = label, features
