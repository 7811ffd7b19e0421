"""The compiled kernel's small helpers, which numba inlines into it, and its compile options.

Binary/unary operations shared by scalars, vectors and matrices, index clamping,
moments, norms, random fills, and loading an example's features. Each is
compiled into its caller (``inline="always"``) with no reference counting
(``_nrt=False``); why is in :mod:`evoforge.domains.automl.kernel`, which records
the digest of this file: numba's disk cache of the kernel would not notice an
edit here otherwise. Compiled code is invisible to coverage, hence the
``no cover`` pragmas.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

_JIT: dict[str, Any] = {"cache": True, "error_model": "numpy", "nogil": True}
_NO_RC: dict[str, Any] = {"_nrt": False, **_JIT}
_INLINE: dict[str, Any] = {"inline": "always", **_NO_RC}


@njit(**_INLINE)
def _elementwise(k, x, y):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Binary/unary op number ``k`` (SUM, DIFF, PRODUCT, DIVISION, MIN, MAX, ABS,
    HEAVISIDE, RECIPROCAL: the same order for scalars, vectors and matrices)."""
    if k == 0:
        return x + y
    if k == 1:
        return x - y
    if k == 2:
        return x * y
    if k == 3:
        return x / y
    if k == 4 or k == 5:
        if x != x or y != y:
            return np.nan
        return (x if x <= y else y) if k == 4 else (x if x >= y else y)
    if k == 6:
        return abs(x)
    if k == 7:
        if x < 0.0:
            return 0.0
        return 1.0 if x >= 0.0 else x  # NaN stays NaN, as in np.heaviside
    return 1.0 / x


@njit(**_INLINE)
def _index(fraction, size):  # type: ignore[no-untyped-def]  # pragma: no cover
    return min(max(int(fraction * size), 0), size - 1)


@njit(**_INLINE)
def _moments(x, std):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Mean, or population standard deviation when ``std``, of a 1-D array."""
    n = x.shape[0]
    acc = 0.0
    for k in range(n):
        acc += x[k]
    mean = acc / n
    if not std:
        return mean
    acc = 0.0
    for k in range(n):
        acc += (x[k] - mean) * (x[k] - mean)
    return np.sqrt(acc / n)


@njit(**_INLINE)
def _norm(x):  # type: ignore[no-untyped-def]  # pragma: no cover
    acc = 0.0
    for k in range(x.shape[0]):
        acc += x[k] * x[k]
    return np.sqrt(acc)


@njit(**_INLINE)
def _fill_random(z, gaussian, p0, p1):  # type: ignore[no-untyped-def]  # pragma: no cover
    for k in range(z.shape[0]):
        z[k] = np.random.normal(p0, p1) if gaussian else np.random.uniform(p0, p1)


@njit(**_INLINE)
def _copy_matrix(src, m, o):  # type: ignore[no-untyped-def]  # pragma: no cover
    for i in range(src.shape[0]):
        for j in range(src.shape[1]):
            m[o, i, j] = src[i, j]


@njit(**_INLINE)
def _load(v, x, j):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Write example ``j`` of ``x`` to the features vector ``v[0]``."""
    for q in range(v.shape[1]):
        v[0, q] = x[j, q]
