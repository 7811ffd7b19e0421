"""Dead-code removal and the emitted standalone module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from evoforge.domains.automl.interpreter import Interpreter
from evoforge.domains.automl.program import (
    Memory,
    linear_regression_sgd,
)
from evoforge.domains.automl.render import render_module
from evoforge.domains.automl.tasks import TaskSpec, TaskSuite, make_tasks

from automl_helpers import MEMORY, with_dead_code


def _run_module(source: str, suite: TaskSuite, tmp_path: Path) -> float:
    module, tasks = tmp_path / "algorithm.py", tmp_path / "tasks.npz"
    module.write_text(source)
    suite.save(tasks)
    out = subprocess.run(
        [sys.executable, str(module), str(tasks)], capture_output=True, text=True, check=True
    )
    key, value = out.stdout.strip().split(": ")
    assert key == "fitness"
    return float(value)


def test_module_is_readable_and_pruned() -> None:
    source = render_module(
        with_dead_code(), memory=MEMORY, n_features=4, notes={"fitness_search": 0.5}
    )
    assert "fitness_search: 0.5" in source
    assert "def setup(s, v, m, rng):" in source and "def learn(s, v, m, rng):" in source
    assert "s[1] = np.dot(v[0], v[1])" in source
    assert "m[1] = m[0].T.copy()" not in source and "s[4] = 3.0" not in source
    compile(source, "algorithm.py", "exec")


def test_module_reproduces_the_score_standalone(tmp_path: Path) -> None:
    suite = make_tasks(TaskSpec(n_tasks=3, seed=21))
    program = with_dead_code()
    recorded = Interpreter(suite, MEMORY).fitness(program)
    source = render_module(program, memory=MEMORY, n_features=4)
    assert _run_module(source, suite, tmp_path) == pytest.approx(recorded, abs=1e-9)


def test_module_reproduces_a_classification_score(tmp_path: Path) -> None:
    suite = make_tasks(TaskSpec(kind="digits", n_tasks=2, n_features=8, n_train=60, n_valid=40))
    program = linear_regression_sgd(0.5)  # on probabilities: logistic regression by SGD
    recorded = Interpreter(suite, Memory()).fitness(program)
    assert recorded > 0.8
    source = render_module(program, memory=Memory(), n_features=8)
    assert _run_module(source, suite, tmp_path) == pytest.approx(recorded, abs=1e-9)
