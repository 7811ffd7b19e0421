"""Baselines on projected digits tasks."""

from __future__ import annotations

import pytest

from evoforge.domains.automl.baselines import baseline_accuracy, baselines
from evoforge.domains.automl.tasks import TaskSpec, make_tasks


def test_baselines_classify_projected_digits() -> None:
    suite = make_tasks(TaskSpec(kind="digits", n_tasks=2, n_features=16, n_train=150, n_valid=60))
    scores = baselines(suite)
    assert set(scores) == {"logistic_regression", "neural_network"}
    assert all(0.85 <= score <= 1.0 for score in scores.values())
    assert len(baseline_accuracy(suite, "logistic_regression")) == 2


def test_baselines_need_a_classification_suite() -> None:
    with pytest.raises(ValueError, match="classification"):
        baselines(make_tasks(TaskSpec(n_tasks=1)))
