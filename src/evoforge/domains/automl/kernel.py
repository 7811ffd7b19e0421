"""The compiled interpreter (numba): one function runs every program.

Why numba and not vectorised NumPy: a NumPy interpreter pays a Python call and an
array allocation per instruction per example (about a microsecond), so the
demo's 12,000 instruction executions per algorithm cost milliseconds even when
batched over the 10 tasks (``bench/automl_speed.py`` measures both). Here one
function is compiled once and cached on disk; a program is integer data it
dispatches on, so nothing is compiled per program and an instruction costs
nanoseconds.

Shape of the code, chosen by measurement (``bench/automl_speed.py``):

- the hot functions allocate nothing and run without numba's reference counting
  (``_nrt=False``), which otherwise costs ~70 ns per instruction for the memory
  views they touch;
- :func:`_run_task` is a small state machine (setup, then predict/learn per
  training example, then predict per validation example) with the scalar and
  vector dispatch written inline in its loop: a call per instruction or per
  component costs more than the work;
- only tiny helpers are inlined by numba (``inline="always"``); inlining the
  large dispatch that way made compilation 2x slower for no speed; matrix
  operations, costly anyway, go through one ordinary call.

The dispatch lives in this one file because numba's disk cache only notices
edits to the file that defines the cached function. The tiny inlined helpers are
in :mod:`evoforge.domains.automl.kernel_primitives`, whose digest is recorded
here (``PRIMITIVES_SHA256``, checked by the tests), so editing them edits this
file too and the cache is rebuilt. Op codes are persistent (see
:mod:`evoforge.domains.automl.ops`), so they may be frozen into the cache.
Compiled code is invisible to coverage, hence the ``no cover`` pragmas.

Semantics follow the NumPy templates in :mod:`evoforge.domains.automl.ops`;
division by zero and domain errors give inf/NaN as in NumPy
(``error_model="numpy"``). Random operations draw from numba's copy of NumPy's
legacy Mersenne Twister, which :class:`numpy.random.RandomState` reproduces bit
for bit, so an emitted module replays the same stream.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from evoforge.domains.automl.kernel_primitives import (
    _JIT,
    _NO_RC,
    _copy_matrix,
    _elementwise,
    _fill_random,
    _index,
    _load,
    _moments,
    _norm,
)
from evoforge.domains.automl.ops import Op

# The digest of kernel_primitives.py: numba would keep serving a stale compiled kernel
# after an edit there, so the tests require this line to change with it.
PRIMITIVES_SHA256 = "0aacb152f1c60e5b28abe03f8a9223a1f0500973e2856c4d983edf3c50e4b9e4"
DISCARDED = -1
# Phases of one task's execution.
_SETUP, _TRAIN_PREDICT, _LEARN, _VALID_PREDICT = 0, 1, 2, 3


@njit(**_NO_RC)
def _step_matrix(op, a, b, o, row, s, v, m, tv, tm):  # type: ignore[no-untyped-def]  # pragma: no cover
    d = v.shape[1]
    dd = d * d
    if op == Op.MATRIX_CONST_SET:
        m[o, _index(row[0], d), _index(row[1], d)] = row[2]
    elif Op.MATRIX_SUM <= op <= Op.MATRIX_RECIPROCAL:
        for i in range(d):
            for j in range(d):
                m[o, i, j] = _elementwise(op - Op.MATRIX_SUM, m[a, i, j], m[b, i, j])
    elif op == Op.SCALAR_MATRIX_PRODUCT:
        x0 = s[a]
        for i in range(d):
            for j in range(d):
                m[o, i, j] = x0 * m[b, i, j]
    elif op == Op.MATRIX_VECTOR_PRODUCT:
        for i in range(d):
            acc = 0.0
            for j in range(d):
                acc += m[a, i, j] * v[b, j]
            tv[i] = acc
        for i in range(d):
            v[o, i] = tv[i]
    elif op == Op.MATRIX_MATRIX_PRODUCT:
        for i in range(d):
            for j in range(d):
                acc = 0.0
                for k in range(d):
                    acc += m[a, i, k] * m[b, k, j]
                tm[i, j] = acc
        _copy_matrix(tm, m, o)
    elif op == Op.MATRIX_TRANSPOSE:
        for i in range(d):
            for j in range(d):
                tm[i, j] = m[a, j, i]
        _copy_matrix(tm, m, o)
    elif op == Op.MATRIX_NORM:
        s[o] = _norm(m[a].reshape(dd))
    elif op == Op.MATRIX_MEAN or op == Op.MATRIX_ST_DEV:
        s[o] = _moments(m[a].reshape(dd), op == Op.MATRIX_ST_DEV)
    elif op == Op.MATRIX_ROW_MEAN or op == Op.MATRIX_ROW_ST_DEV:
        for i in range(d):
            v[o, i] = _moments(m[a, i], op == Op.MATRIX_ROW_ST_DEV)
    elif op == Op.MATRIX_ROW_NORM:
        for i in range(d):
            v[o, i] = _norm(m[a, i])
    elif op == Op.MATRIX_COLUMN_NORM:
        for j in range(d):
            acc = 0.0
            for i in range(d):
                acc += m[a, i, j] * m[a, i, j]
            v[o, j] = np.sqrt(acc)
    elif op == Op.VECTOR_COLUMN_BROADCAST or op == Op.VECTOR_ROW_BROADCAST:
        for i in range(d):
            for j in range(d):
                m[o, i, j] = v[a, i] if op == Op.VECTOR_COLUMN_BROADCAST else v[a, j]
    elif op == Op.MATRIX_GAUSSIAN_SET or op == Op.MATRIX_UNIFORM_SET:
        _fill_random(m[o].reshape(dd), op == Op.MATRIX_GAUSSIAN_SET, row[0], row[1])


@njit(**_NO_RC)
def _run_task(  # type: ignore[no-untyped-def]  # pragma: no cover
    code,
    data,
    p_lo,
    p_hi,
    l_hi,
    tx,
    ty,
    vx,
    vy,
    n_train,
    n_valid,
    epochs,
    classify,
    max_abs_error,
    s,
    v,
    m,
    tv,
    tm,
    preds,
):
    """Run one task on memory ``s``, ``v``, ``m``; returns (ok, validation loss sum).

    Instructions ``[0, p_lo)`` are setup, ``[p_lo, p_hi)`` predict, ``[p_hi, l_hi)``
    learn. ``preds`` receives the predictions made, in order, up to its length.
    """
    n_rec = preds.shape[0]
    d = v.shape[1]
    phase, r, hi = _SETUP, 0, p_lo
    j, epoch, n_done, loss = 0, 0, 0, 0.0
    while True:
        if r < hi:
            op, a, b, o = code[r, 0], code[r, 1], code[r, 2], code[r, 3]
            if op == Op.NO_OP:
                pass
            elif op == Op.SCALAR_CONST_SET:
                s[o] = data[r, 0]
            elif Op.SCALAR_SUM <= op <= Op.SCALAR_RECIPROCAL:
                s[o] = _elementwise(op - Op.SCALAR_SUM, s[a], s[b])
            elif op == Op.VECTOR_INNER_PRODUCT:
                acc = 0.0
                for k in range(d):
                    acc += v[a, k] * v[b, k]
                s[o] = acc
            elif Op.VECTOR_SUM <= op <= Op.VECTOR_RECIPROCAL:
                for k in range(d):
                    v[o, k] = _elementwise(op - Op.VECTOR_SUM, v[a, k], v[b, k])
            elif op == Op.SCALAR_VECTOR_PRODUCT:
                x0 = s[a]
                for k in range(d):
                    v[o, k] = x0 * v[b, k]
            elif Op.SCALAR_SIN <= op <= Op.SCALAR_LOG:
                x0 = s[a]
                if op == Op.SCALAR_SIN:
                    s[o] = np.sin(x0)
                elif op == Op.SCALAR_COS:
                    s[o] = np.cos(x0)
                elif op == Op.SCALAR_TAN:
                    s[o] = np.tan(x0)
                elif op == Op.SCALAR_ARCSIN:
                    s[o] = np.arcsin(x0)
                elif op == Op.SCALAR_ARCCOS:
                    s[o] = np.arccos(x0)
                elif op == Op.SCALAR_ARCTAN:
                    s[o] = np.arctan(x0)
                elif op == Op.SCALAR_EXP:
                    s[o] = np.exp(x0)
                else:
                    s[o] = np.log(x0)
            elif op == Op.SCALAR_GAUSSIAN_SET:
                s[o] = np.random.normal(data[r, 0], data[r, 1])
            elif op == Op.SCALAR_UNIFORM_SET:
                s[o] = np.random.uniform(data[r, 0], data[r, 1])
            elif op == Op.VECTOR_CONST_SET:
                v[o, _index(data[r, 0], d)] = data[r, 1]
            elif op == Op.SCALAR_BROADCAST:
                x0 = s[a]
                for k in range(d):
                    v[o, k] = x0
            elif op == Op.VECTOR_NORM:
                s[o] = _norm(v[a])
            elif op == Op.VECTOR_MEAN or op == Op.VECTOR_ST_DEV:
                s[o] = _moments(v[a], op == Op.VECTOR_ST_DEV)
            elif op == Op.VECTOR_OUTER_PRODUCT:
                for i in range(d):
                    for q in range(d):  # not j: j is the example index
                        m[o, i, q] = v[a, i] * v[b, q]
            elif op == Op.VECTOR_GAUSSIAN_SET or op == Op.VECTOR_UNIFORM_SET:
                _fill_random(v[o], op == Op.VECTOR_GAUSSIAN_SET, data[r, 0], data[r, 1])
            else:
                _step_matrix(op, a, b, o, data[r], s, v, m, tv, tm)
            r += 1
            continue
        if phase in (_SETUP, _LEARN):
            if phase == _LEARN:
                j += 1
                if j == n_train:
                    j, epoch = 0, epoch + 1
            if epoch < epochs:
                _load(v, tx, j)
                s[0] = 0.0
                phase, r, hi = _TRAIN_PREDICT, p_lo, p_hi
            else:
                _load(v, vx, 0)
                s[0] = 0.0
                phase, r, hi = _VALID_PREDICT, p_lo, p_hi
        elif phase == _TRAIN_PREDICT:
            if classify:
                s[1] = 1.0 / (1.0 + np.exp(-s[1]))
            if n_done < n_rec:
                preds[n_done] = s[1]
            n_done += 1
            if not abs(ty[j] - s[1]) <= max_abs_error:
                return False, loss
            _load(v, tx, j)
            s[0] = ty[j]
            phase, r, hi = _LEARN, p_hi, l_hi
        else:
            if n_done < n_rec:
                preds[n_done] = s[1]
            n_done += 1
            if classify:
                prob = 1.0 / (1.0 + np.exp(-s[1]))
                if prob != prob:
                    return False, loss
                if (vy[j] > 0.5) != (prob > 0.5):
                    loss += 1.0
            else:
                err = vy[j] - s[1]
                if not abs(err) <= max_abs_error:
                    return False, loss
                loss += err * err
            j += 1
            if j == n_valid:
                return True, loss
            _load(v, vx, j)
            s[0] = 0.0
            r = p_lo


@njit(**_JIT)
def run_tasks(  # type: ignore[no-untyped-def]  # pragma: no cover
    code,
    data,
    n_setup,
    n_predict,
    n_learn,
    train_x,
    train_y,
    valid_x,
    valid_y,
    seeds,
    t_lo,
    t_hi,
    n_train,
    n_valid,
    epochs,
    classify,
    use_rng,
    max_abs_error,
    abort_first,
    fitness,
    preds,
    s,
    v,
    m,
    wipe,
):
    """Score tasks ``[t_lo, t_hi)`` into ``fitness``; returns the count of degenerate ones.

    ``s`` (S,), ``v`` (V, d), ``m`` (M, d, d) are the memory, zeroed before each
    task when ``wipe`` (the caller allocates them, so that this one compiled
    signature also serves tools that run instructions on a memory they fill).

    Needs ``n_train``, ``n_valid``, ``epochs`` >= 1. Returns ``DISCARDED`` (-1)
    without running further tasks when ``abort_first`` and task ``t_lo`` is
    degenerate. ``preds`` has one row per task run (zero columns for none); row
    ``t - t_lo`` receives task t's predictions in execution order (NaN where none
    was made).
    """
    d = train_x.shape[2]
    tv = np.zeros(d)
    tm = np.zeros((d, d))
    p_hi = n_setup + n_predict
    n_bad = 0
    for t in range(t_lo, t_hi):
        row = t - t_lo
        if wipe:
            s[:] = 0.0
            v[:] = 0.0
            m[:] = 0.0
        if use_rng:
            np.random.seed(seeds[t])
        rec = preds[row]
        rec[:] = np.nan
        ok, loss = _run_task(
            code,
            data,
            n_setup,
            p_hi,
            p_hi + n_learn,
            train_x[t],
            train_y[t],
            valid_x[t],
            valid_y[t],
            n_train,
            n_valid,
            epochs,
            classify,
            max_abs_error,
            s,
            v,
            m,
            tv,
            tm,
            rec,
        )
        if not ok:
            fitness[row] = 0.0
            n_bad += 1
            if abort_first and t == t_lo:
                return DISCARDED
        elif classify:
            fitness[row] = 1.0 - loss / n_valid
        else:
            fitness[row] = 1.0 - 2.0 / np.pi * np.arctan(np.sqrt(loss / n_valid))
    return n_bad
