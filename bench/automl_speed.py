"""Algorithms evaluated per second per core, on the AutoML-Zero demo's task size.

Rates are per CPU-second of this process (``time.process_time``), which is
what a dedicated core delivers even when the machine is shared; the load
average is printed beside them.

Demo size: 10 tasks x (100 training + 100 validation examples), 4 features,
programs of 10/2/8 instructions (setup/predict/learn), so a full evaluation runs
12,000 predict/learn instructions. Three figures, one pinned core each:

1. search throughput: regularized evolution on the demo (``SearchConfig.demo``
   without a target), candidates per second with the functional-equivalence cache
   on and off;
2. interpreter throughput: full evaluations per second of fixed programs (the
   hand-written SGD algorithm, and random demo programs, many of which stop
   early as degenerate);
3. the road not taken: the same evaluation with a NumPy interpreter vectorised
   across the 10 tasks (demo operations only), to show why the kernel is numba.

The paper: 2,000-10,000 algorithms per second per core (C++).

    .venv/bin/python bench/automl_speed.py --candidates 100000
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable

import numpy as np

from evoforge.domains.automl import (
    Interpreter,
    Memory,
    Op,
    Program,
    SearchConfig,
    SearchSpace,
    TaskSpec,
    TaskSuite,
    linear_regression_sgd,
    make_tasks,
    random_program,
    run_search,
)


def search_rate(candidates: int, cache: bool) -> tuple[float, float, float]:
    """Candidates and full evaluations per CPU-second, and the cache hit rate."""
    config = SearchConfig.demo(
        0, target_fitness=None, select_tasks=None, unseen_tasks=None,
        max_candidates=candidates, cache=cache,
    )  # fmt: skip
    start = time.process_time()
    result = run_search(config)
    cpu = time.process_time() - start
    counts = result.counts
    return counts.candidates / cpu, counts.evaluated / cpu, counts.cache_hits / counts.candidates


def per_second(fn: Callable[[Program], object], programs: list[Program], seconds: float) -> float:
    fn(programs[0])
    done, start = 0, time.process_time()
    while time.process_time() - start < seconds:
        fn(programs[done % len(programs)])
        done += 1
    return done / (time.process_time() - start)


def numpy_fitness(program: Program, suite: TaskSuite) -> float:
    """A NumPy interpreter batched over tasks (demo ops only): scalars (T, S), vectors
    (T, V, d). Each instruction is one vectorised NumPy call for all tasks."""
    t, d = suite.n_tasks, suite.n_features
    s, v = np.zeros((t, 4)), np.zeros((t, 3, d))
    ok = np.ones(t, dtype=bool)

    def run(lo: int, hi: int) -> None:
        for (op, a, b, o), (c0, _, _) in zip(program.code[lo:hi], program.data[lo:hi], strict=True):
            if op == Op.SCALAR_CONST_SET:
                s[:, o] = c0
            elif op == Op.VECTOR_INNER_PRODUCT:
                s[:, o] = np.einsum("ti,ti->t", v[:, a], v[:, b])
            elif op == Op.SCALAR_DIFF:
                s[:, o] = s[:, a] - s[:, b]
            elif op == Op.SCALAR_PRODUCT:
                s[:, o] = s[:, a] * s[:, b]
            elif op == Op.SCALAR_VECTOR_PRODUCT:
                v[:, o] = s[:, a, None] * v[:, b]
            elif op == Op.VECTOR_SUM:
                v[:, o] = v[:, a] + v[:, b]

    n_setup, n_predict, _ = program.sizes
    p_hi = n_setup + n_predict
    with np.errstate(all="ignore"):
        run(0, n_setup)
        for j in range(suite.spec.n_train):
            v[:, 0], s[:, 0] = suite.train_x[:, j], 0.0
            run(n_setup, p_hi)
            ok &= np.abs(suite.train_y[:, j] - s[:, 1]) <= 100.0
            v[:, 0], s[:, 0] = suite.train_x[:, j], suite.train_y[:, j]
            run(p_hi, program.code.shape[0])
        loss = np.zeros(t)
        for j in range(suite.spec.n_valid):
            v[:, 0], s[:, 0] = suite.valid_x[:, j], 0.0
            run(n_setup, p_hi)
            loss += (suite.valid_y[:, j] - s[:, 1]) ** 2
    fitness = np.where(ok, 1 - 2 / np.pi * np.arctan(np.sqrt(loss / suite.spec.n_valid)), 0.0)
    return float(np.nan_to_num(fitness).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="per interpreter figure")
    parser.add_argument("--cpu", type=int, default=0, help="core to pin to (-1: no pinning)")
    args = parser.parse_args()
    if args.cpu >= 0:
        os.sched_setaffinity(0, {args.cpu})
    print(f"load_average: {os.getloadavg()[0]:.1f}")

    suite = make_tasks(TaskSpec())
    interpreter = Interpreter(suite, Memory())
    rng = random.Random(0)
    randoms = [random_program(SearchSpace.demo(), rng) for _ in range(1000)]
    sgd = [linear_regression_sgd(0.1)]
    padded = linear_regression_sgd(0.1)  # SGD padded to the demo's 10/2/8 sizes
    sgd_demo = Program.build(
        padded.instructions(0) * 10,
        padded.instructions(1) * 2,
        padded.instructions(2) * 2,
    )
    print(f"interpreter_sgd_per_s: {per_second(interpreter.fitness, sgd, args.seconds):.0f}")
    rate = per_second(interpreter.fitness, [sgd_demo], args.seconds)
    print(f"interpreter_sgd_demo_size_per_s: {rate:.0f}")
    print(f"interpreter_random_per_s: {per_second(interpreter.fitness, randoms, args.seconds):.0f}")
    fn = lambda p: numpy_fitness(p, suite)  # noqa: E731
    assert abs(fn(sgd[0]) - interpreter.fitness(sgd[0])) < 1e-9
    print(f"numpy_vectorised_sgd_demo_size_per_s: {per_second(fn, [sgd_demo], args.seconds):.1f}")
    print(f"numpy_vectorised_random_per_s: {per_second(fn, randoms, args.seconds):.1f}")

    for cache in (True, False):
        candidates, evaluations, hits = search_rate(args.candidates, cache)
        label = "on" if cache else "off"
        print(f"search_cache_{label}_candidates_per_s: {candidates:.0f}")
        print(f"search_cache_{label}_full_evaluations_per_s: {evaluations:.0f}")
        print(f"search_cache_{label}_hit_rate: {hits:.2f}")
    print(f"load_average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
