"""The kernel's inlined helpers, compiled alone: NumPy's semantics, index clamping, copies."""

from __future__ import annotations

import numpy as np
import pytest

from evoforge.domains.automl.kernel_primitives import (
    _copy_matrix,
    _elementwise,
    _fill_random,
    _index,
    _load,
    _moments,
    _norm,
)

X = np.array([0.5, -1.0, 2.0, 4.0])


def test_elementwise_operations_in_their_shared_order() -> None:
    # SUM, DIFF, PRODUCT, DIVISION, MIN, MAX, ABS, HEAVISIDE, RECIPROCAL
    got = [_elementwise(k, -3.0, 2.0) for k in range(9)]
    assert got == [-1.0, -5.0, -6.0, -1.5, -3.0, 2.0, 3.0, 0.0, -1 / 3]


def test_elementwise_edge_cases_follow_numpy() -> None:
    assert _elementwise(3, 1.0, 0.0) == np.inf  # error_model="numpy": no exception
    assert np.isnan(_elementwise(4, np.nan, 1.0)) and np.isnan(_elementwise(5, 1.0, np.nan))
    assert _elementwise(7, -0.0, 0.0) == 1.0 and np.isnan(_elementwise(7, np.nan, 0.0))
    assert _elementwise(8, 0.0, 0.0) == np.inf


@pytest.mark.parametrize(
    ("fraction", "index"), [(0.0, 0), (0.3, 1), (0.99, 3), (1.5, 3), (-0.2, 0)]
)
def test_index_scales_a_fraction_and_clamps_it(fraction: float, index: int) -> None:
    assert _index(fraction, 4) == index


def test_moments_and_norm_match_numpy() -> None:
    assert _moments(X, False) == pytest.approx(np.mean(X), rel=1e-15)
    assert _moments(X, True) == pytest.approx(np.std(X), rel=1e-15)
    assert _norm(X) == pytest.approx(np.linalg.norm(X), rel=1e-15)


def test_random_fills_write_every_entry_from_the_asked_distribution() -> None:
    z = np.full(200, np.nan)
    _fill_random(z, False, 2.0, 3.0)
    assert np.all((z >= 2.0) & (z < 3.0))
    _fill_random(z, True, 10.0, 0.1)
    assert 9.9 < z.mean() < 10.1


def test_copies_write_the_target_only() -> None:
    m = np.zeros((2, 2, 2))
    _copy_matrix(np.array([[1.0, 2.0], [3.0, 4.0]]), m, 1)
    np.testing.assert_array_equal(m, [np.zeros((2, 2)), [[1.0, 2.0], [3.0, 4.0]]])
    v = np.zeros((2, 2))
    _load(v, np.array([[1.0, 2.0], [5.0, 6.0]]), 1)
    np.testing.assert_array_equal(v, [[5.0, 6.0], [0.0, 0.0]])
