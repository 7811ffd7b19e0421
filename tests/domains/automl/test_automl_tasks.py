"""Generated task suites: shapes, determinism, splits, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evoforge.domains.automl.tasks import TaskSpec, TaskSuite, digit_pairs, make_tasks


def test_linear_tasks_are_exactly_linear_and_deterministic() -> None:
    suite = make_tasks(TaskSpec(n_tasks=3, n_features=4, n_train=50, n_valid=20, seed=1))
    assert suite.train_x.shape == (3, 50, 4) and suite.valid_y.shape == (3, 20)
    x = np.concatenate([suite.train_x[0], suite.valid_x[0]])
    y = np.concatenate([suite.train_y[0], suite.valid_y[0]])
    _, residual, *_ = np.linalg.lstsq(x, y, rcond=None)
    assert residual[0] < 1e-20
    again = make_tasks(TaskSpec(n_tasks=3, n_features=4, n_train=50, n_valid=20, seed=1))
    np.testing.assert_array_equal(suite.train_x, again.train_x)
    other = make_tasks(TaskSpec(n_tasks=3, n_features=4, n_train=50, n_valid=20, seed=2))
    assert not np.array_equal(suite.train_y, other.train_y)
    assert len(set(suite.seeds.tolist())) == 3


def test_nonlinear_tasks_come_from_a_relu_teacher() -> None:
    suite = make_tasks(TaskSpec(kind="nonlinear", n_tasks=2, n_train=200, n_valid=50))
    x, y = suite.train_x[0], suite.train_y[0]
    _, residual, *_ = np.linalg.lstsq(x, y, rcond=None)
    assert residual[0] > 1.0  # not linear
    assert np.all(np.isfinite(y))


def test_digit_pairs_split_search_and_unseen() -> None:
    search, unseen = set(digit_pairs("search")), set(digit_pairs("unseen"))
    assert len(search) == 36 and len(unseen) == 9 and not search & unseen
    suite = make_tasks(
        TaskSpec(kind="digits", n_tasks=3, n_features=16, n_train=200, n_valid=100, pairs="unseen")
    )
    assert suite.spec.classify
    assert set(np.unique(suite.train_y)) == {0.0, 1.0}
    np.testing.assert_allclose(suite.train_x.mean(axis=1), 0.0, atol=1e-9)
    np.testing.assert_allclose(suite.train_x.std(axis=1), 1.0, atol=1e-6)
    for name in suite.names:
        a, b = (int(c) for c in name.split()[1].split("-"))
        assert (a, b) in unseen


def test_digits_refuse_more_examples_than_a_pair_has() -> None:
    with pytest.raises(ValueError, match="examples"):
        make_tasks(TaskSpec(kind="digits", n_tasks=1, n_train=400, n_valid=100))


def test_specs_are_validated() -> None:
    with pytest.raises(ValueError, match="kind"):
        TaskSpec(kind="cifar")
    with pytest.raises(ValueError):
        TaskSpec(n_train=0)


def test_suites_round_trip_through_npz(tmp_path: Path) -> None:
    suite = make_tasks(TaskSpec(kind="digits", n_tasks=2, n_features=8, n_train=40, n_valid=30))
    suite.save(tmp_path / "tasks.npz")
    loaded = TaskSuite.load(tmp_path / "tasks.npz")
    assert loaded.spec == suite.spec and loaded.names == suite.names
    np.testing.assert_array_equal(loaded.valid_x, suite.valid_x)
    np.testing.assert_array_equal(loaded.seeds, suite.seeds)
