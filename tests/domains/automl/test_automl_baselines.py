"""Baselines on the same tasks as evolved algorithms: digits classifiers, regressors."""

from __future__ import annotations

import numpy as np
import pytest

from evoforge.domains.automl.baselines import baseline_accuracy, baseline_scores, baselines
from evoforge.domains.automl.tasks import TaskSpec, make_tasks


def test_baselines_classify_projected_digits() -> None:
    suite = make_tasks(TaskSpec(kind="digits", n_tasks=2, n_features=16, n_train=150, n_valid=60))
    scores = baselines(suite)
    assert set(scores) == {"logistic_regression", "neural_network"}
    assert all(0.85 <= score <= 1.0 for score in scores.values())
    assert len(baseline_accuracy(suite, "logistic_regression")) == 2


def test_accuracy_needs_a_classification_suite() -> None:
    with pytest.raises(ValueError, match="classification"):
        baseline_accuracy(make_tasks(TaskSpec(n_tasks=1)), "logistic_regression")


def test_regression_baselines_score_with_the_interpreters_fitness() -> None:
    from evoforge.domains.automl.interpreter import Interpreter
    from evoforge.domains.automl.program import Memory, Program

    linear = make_tasks(TaskSpec(kind="linear", n_tasks=3))
    teacher = make_tasks(TaskSpec(kind="nonlinear", n_tasks=3, n_train=200))
    # Noise-free linear labels: least squares fits them exactly (fitness 1).
    assert baselines(linear)["linear_regression"] == pytest.approx(1.0, abs=1e-9)
    scores = baselines(teacher)
    assert set(scores) == {"linear_regression", "neural_network"}
    assert 0.2 < scores["linear_regression"] < 0.99  # a ReLU teacher is not linear
    # The same squash as the interpreter: a model that predicts 0 scores as the empty program.
    empty = Interpreter(teacher, Memory()).task_fitness(Program.build())
    rmse = [float(np.sqrt(np.mean(y**2))) for y in teacher.valid_y]
    assert empty == pytest.approx([1 - 2 / np.pi * np.arctan(r) for r in rmse])


def test_a_baseline_of_the_other_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="regression baselines"):
        baseline_scores(make_tasks(TaskSpec(n_tasks=1)), "logistic_regression")
