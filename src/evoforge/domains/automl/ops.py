"""The operation set: what one instruction of an evolved algorithm can do.

It follows the AutoML-Zero paper (Real et al., ICML 2020, table S1): arithmetic,
elementwise and linear-algebra operations over scalars, vectors and matrices,
reductions, trigonometric and exponential functions, constants and random
initialisers; no derivatives. Every operation reads at most two addresses and
writes one; constants and random parameters live in the instruction's data.

Semantics are NumPy's (``np.minimum`` propagates NaN, ``np.heaviside(x, 1.0)``,
population standard deviation, L2/Frobenius norms); the interpreter in
:mod:`evoforge.domains.automl.kernel` implements them and the tests check every
operation against the NumPy expression :mod:`evoforge.domains.automl.render`
emits, which is the ``template`` below.

Template fields: ``{o}``, ``{a}``, ``{b}`` the out/in1/in2 addresses, ``{c0}``..
``{c2}`` the data values, ``{i}``/``{j}`` element indices derived from the data,
``{d}`` the feature size.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType


class Kind(IntEnum):
    """An address space of the memory."""

    SCALAR = 0
    VECTOR = 1
    MATRIX = 2


class Data(IntEnum):
    """What an instruction's float data means."""

    NONE = 0
    CONST = 1  # c0: the value
    VECTOR_CONST = 2  # c0: index in [0, 1), c1: value
    MATRIX_CONST = 3  # c0, c1: row and column in [0, 1), c2: value
    GAUSSIAN = 4  # c0: mean, c1: standard deviation
    UNIFORM = 5  # c0: low, c1: high


class Op(IntEnum):
    """Operation codes; the integer is what an encoded program stores."""

    NO_OP = 0
    SCALAR_CONST_SET = 1
    SCALAR_SUM = 2
    SCALAR_DIFF = 3
    SCALAR_PRODUCT = 4
    SCALAR_DIVISION = 5
    SCALAR_MIN = 6
    SCALAR_MAX = 7
    SCALAR_ABS = 8
    SCALAR_HEAVISIDE = 9
    SCALAR_RECIPROCAL = 10
    SCALAR_SIN = 11
    SCALAR_COS = 12
    SCALAR_TAN = 13
    SCALAR_ARCSIN = 14
    SCALAR_ARCCOS = 15
    SCALAR_ARCTAN = 16
    SCALAR_EXP = 17
    SCALAR_LOG = 18
    SCALAR_GAUSSIAN_SET = 19
    SCALAR_UNIFORM_SET = 20
    VECTOR_CONST_SET = 21
    VECTOR_SUM = 22
    VECTOR_DIFF = 23
    VECTOR_PRODUCT = 24
    VECTOR_DIVISION = 25
    VECTOR_MIN = 26
    VECTOR_MAX = 27
    VECTOR_ABS = 28
    VECTOR_HEAVISIDE = 29
    VECTOR_RECIPROCAL = 30
    SCALAR_VECTOR_PRODUCT = 31
    SCALAR_BROADCAST = 32
    VECTOR_INNER_PRODUCT = 33
    VECTOR_NORM = 34
    VECTOR_MEAN = 35
    VECTOR_ST_DEV = 36
    VECTOR_OUTER_PRODUCT = 37
    VECTOR_GAUSSIAN_SET = 38
    VECTOR_UNIFORM_SET = 39
    MATRIX_CONST_SET = 40
    MATRIX_SUM = 41
    MATRIX_DIFF = 42
    MATRIX_PRODUCT = 43
    MATRIX_DIVISION = 44
    MATRIX_MIN = 45
    MATRIX_MAX = 46
    MATRIX_ABS = 47
    MATRIX_HEAVISIDE = 48
    MATRIX_RECIPROCAL = 49
    SCALAR_MATRIX_PRODUCT = 50
    MATRIX_VECTOR_PRODUCT = 51
    MATRIX_MATRIX_PRODUCT = 52
    MATRIX_TRANSPOSE = 53
    MATRIX_NORM = 54
    MATRIX_MEAN = 55
    MATRIX_ST_DEV = 56
    MATRIX_ROW_MEAN = 57
    MATRIX_ROW_ST_DEV = 58
    MATRIX_ROW_NORM = 59
    MATRIX_COLUMN_NORM = 60
    VECTOR_COLUMN_BROADCAST = 61
    VECTOR_ROW_BROADCAST = 62
    MATRIX_GAUSSIAN_SET = 63
    MATRIX_UNIFORM_SET = 64


@dataclass(frozen=True)
class OpInfo:
    """Signature of one operation: address kinds read and written, data, rendering."""

    op: Op
    in1: Kind | None
    in2: Kind | None
    out: Kind | None
    data: Data
    template: str

    @property
    def random(self) -> bool:
        """Whether executing it draws from the random stream."""
        return self.data in (Data.GAUSSIAN, Data.UNIFORM)

    @property
    def partial_write(self) -> bool:
        """Whether it writes one element and keeps the rest of its output."""
        return self.data in (Data.VECTOR_CONST, Data.MATRIX_CONST)


S, V, M = Kind.SCALAR, Kind.VECTOR, Kind.MATRIX
_GAUSS = "rng.normal({c0}, {c1}"
_UNIF = "rng.uniform({c0}, {c1}"

_TABLE: tuple[tuple[Op, Kind | None, Kind | None, Kind | None, Data, str], ...] = (
    (Op.NO_OP, None, None, None, Data.NONE, "pass"),
    (Op.SCALAR_CONST_SET, None, None, S, Data.CONST, "s[{o}] = {c0}"),
    (Op.SCALAR_SUM, S, S, S, Data.NONE, "s[{o}] = s[{a}] + s[{b}]"),
    (Op.SCALAR_DIFF, S, S, S, Data.NONE, "s[{o}] = s[{a}] - s[{b}]"),
    (Op.SCALAR_PRODUCT, S, S, S, Data.NONE, "s[{o}] = s[{a}] * s[{b}]"),
    (Op.SCALAR_DIVISION, S, S, S, Data.NONE, "s[{o}] = s[{a}] / s[{b}]"),
    (Op.SCALAR_MIN, S, S, S, Data.NONE, "s[{o}] = np.minimum(s[{a}], s[{b}])"),
    (Op.SCALAR_MAX, S, S, S, Data.NONE, "s[{o}] = np.maximum(s[{a}], s[{b}])"),
    (Op.SCALAR_ABS, S, None, S, Data.NONE, "s[{o}] = np.abs(s[{a}])"),
    (Op.SCALAR_HEAVISIDE, S, None, S, Data.NONE, "s[{o}] = np.heaviside(s[{a}], 1.0)"),
    (Op.SCALAR_RECIPROCAL, S, None, S, Data.NONE, "s[{o}] = 1.0 / s[{a}]"),
    (Op.SCALAR_SIN, S, None, S, Data.NONE, "s[{o}] = np.sin(s[{a}])"),
    (Op.SCALAR_COS, S, None, S, Data.NONE, "s[{o}] = np.cos(s[{a}])"),
    (Op.SCALAR_TAN, S, None, S, Data.NONE, "s[{o}] = np.tan(s[{a}])"),
    (Op.SCALAR_ARCSIN, S, None, S, Data.NONE, "s[{o}] = np.arcsin(s[{a}])"),
    (Op.SCALAR_ARCCOS, S, None, S, Data.NONE, "s[{o}] = np.arccos(s[{a}])"),
    (Op.SCALAR_ARCTAN, S, None, S, Data.NONE, "s[{o}] = np.arctan(s[{a}])"),
    (Op.SCALAR_EXP, S, None, S, Data.NONE, "s[{o}] = np.exp(s[{a}])"),
    (Op.SCALAR_LOG, S, None, S, Data.NONE, "s[{o}] = np.log(s[{a}])"),
    (Op.SCALAR_GAUSSIAN_SET, None, None, S, Data.GAUSSIAN, "s[{o}] = " + _GAUSS + ")"),
    (Op.SCALAR_UNIFORM_SET, None, None, S, Data.UNIFORM, "s[{o}] = " + _UNIF + ")"),
    (Op.VECTOR_CONST_SET, None, None, V, Data.VECTOR_CONST, "v[{o}, {i}] = {c1}"),
    (Op.VECTOR_SUM, V, V, V, Data.NONE, "v[{o}] = v[{a}] + v[{b}]"),
    (Op.VECTOR_DIFF, V, V, V, Data.NONE, "v[{o}] = v[{a}] - v[{b}]"),
    (Op.VECTOR_PRODUCT, V, V, V, Data.NONE, "v[{o}] = v[{a}] * v[{b}]"),
    (Op.VECTOR_DIVISION, V, V, V, Data.NONE, "v[{o}] = v[{a}] / v[{b}]"),
    (Op.VECTOR_MIN, V, V, V, Data.NONE, "v[{o}] = np.minimum(v[{a}], v[{b}])"),
    (Op.VECTOR_MAX, V, V, V, Data.NONE, "v[{o}] = np.maximum(v[{a}], v[{b}])"),
    (Op.VECTOR_ABS, V, None, V, Data.NONE, "v[{o}] = np.abs(v[{a}])"),
    (Op.VECTOR_HEAVISIDE, V, None, V, Data.NONE, "v[{o}] = np.heaviside(v[{a}], 1.0)"),
    (Op.VECTOR_RECIPROCAL, V, None, V, Data.NONE, "v[{o}] = 1.0 / v[{a}]"),
    (Op.SCALAR_VECTOR_PRODUCT, S, V, V, Data.NONE, "v[{o}] = s[{a}] * v[{b}]"),
    (Op.SCALAR_BROADCAST, S, None, V, Data.NONE, "v[{o}] = s[{a}]"),
    (Op.VECTOR_INNER_PRODUCT, V, V, S, Data.NONE, "s[{o}] = np.dot(v[{a}], v[{b}])"),
    (Op.VECTOR_NORM, V, None, S, Data.NONE, "s[{o}] = np.linalg.norm(v[{a}])"),
    (Op.VECTOR_MEAN, V, None, S, Data.NONE, "s[{o}] = np.mean(v[{a}])"),
    (Op.VECTOR_ST_DEV, V, None, S, Data.NONE, "s[{o}] = np.std(v[{a}])"),
    (Op.VECTOR_OUTER_PRODUCT, V, V, M, Data.NONE, "m[{o}] = np.outer(v[{a}], v[{b}])"),
    (Op.VECTOR_GAUSSIAN_SET, None, None, V, Data.GAUSSIAN, "v[{o}] = " + _GAUSS + ", {d})"),
    (Op.VECTOR_UNIFORM_SET, None, None, V, Data.UNIFORM, "v[{o}] = " + _UNIF + ", {d})"),
    (Op.MATRIX_CONST_SET, None, None, M, Data.MATRIX_CONST, "m[{o}, {i}, {j}] = {c2}"),
    (Op.MATRIX_SUM, M, M, M, Data.NONE, "m[{o}] = m[{a}] + m[{b}]"),
    (Op.MATRIX_DIFF, M, M, M, Data.NONE, "m[{o}] = m[{a}] - m[{b}]"),
    (Op.MATRIX_PRODUCT, M, M, M, Data.NONE, "m[{o}] = m[{a}] * m[{b}]"),
    (Op.MATRIX_DIVISION, M, M, M, Data.NONE, "m[{o}] = m[{a}] / m[{b}]"),
    (Op.MATRIX_MIN, M, M, M, Data.NONE, "m[{o}] = np.minimum(m[{a}], m[{b}])"),
    (Op.MATRIX_MAX, M, M, M, Data.NONE, "m[{o}] = np.maximum(m[{a}], m[{b}])"),
    (Op.MATRIX_ABS, M, None, M, Data.NONE, "m[{o}] = np.abs(m[{a}])"),
    (Op.MATRIX_HEAVISIDE, M, None, M, Data.NONE, "m[{o}] = np.heaviside(m[{a}], 1.0)"),
    (Op.MATRIX_RECIPROCAL, M, None, M, Data.NONE, "m[{o}] = 1.0 / m[{a}]"),
    (Op.SCALAR_MATRIX_PRODUCT, S, M, M, Data.NONE, "m[{o}] = s[{a}] * m[{b}]"),
    (Op.MATRIX_VECTOR_PRODUCT, M, V, V, Data.NONE, "v[{o}] = m[{a}] @ v[{b}]"),
    (Op.MATRIX_MATRIX_PRODUCT, M, M, M, Data.NONE, "m[{o}] = m[{a}] @ m[{b}]"),
    (Op.MATRIX_TRANSPOSE, M, None, M, Data.NONE, "m[{o}] = m[{a}].T.copy()"),
    (Op.MATRIX_NORM, M, None, S, Data.NONE, "s[{o}] = np.linalg.norm(m[{a}])"),
    (Op.MATRIX_MEAN, M, None, S, Data.NONE, "s[{o}] = np.mean(m[{a}])"),
    (Op.MATRIX_ST_DEV, M, None, S, Data.NONE, "s[{o}] = np.std(m[{a}])"),
    (Op.MATRIX_ROW_MEAN, M, None, V, Data.NONE, "v[{o}] = np.mean(m[{a}], axis=1)"),
    (Op.MATRIX_ROW_ST_DEV, M, None, V, Data.NONE, "v[{o}] = np.std(m[{a}], axis=1)"),
    (Op.MATRIX_ROW_NORM, M, None, V, Data.NONE, "v[{o}] = np.linalg.norm(m[{a}], axis=1)"),
    (Op.MATRIX_COLUMN_NORM, M, None, V, Data.NONE, "v[{o}] = np.linalg.norm(m[{a}], axis=0)"),
    (Op.VECTOR_COLUMN_BROADCAST, V, None, M, Data.NONE, "m[{o}] = v[{a}][:, np.newaxis]"),
    (Op.VECTOR_ROW_BROADCAST, V, None, M, Data.NONE, "m[{o}] = v[{a}][np.newaxis, :]"),
    (Op.MATRIX_GAUSSIAN_SET, None, None, M, Data.GAUSSIAN, "m[{o}] = " + _GAUSS + ", ({d}, {d}))"),
    (Op.MATRIX_UNIFORM_SET, None, None, M, Data.UNIFORM, "m[{o}] = " + _UNIF + ", ({d}, {d}))"),
)

OPS: MappingProxyType[Op, OpInfo] = MappingProxyType({row[0]: OpInfo(*row) for row in _TABLE})
"""Every operation's signature, keyed by code."""

ALL_OPS: tuple[str, ...] = tuple(op.name for op in Op if op is not Op.NO_OP)
"""The full operation set (64 operations)."""

DEMO_OPS: tuple[str, ...] = (
    "SCALAR_CONST_SET",
    "VECTOR_INNER_PRODUCT",
    "SCALAR_DIFF",
    "SCALAR_PRODUCT",
    "SCALAR_VECTOR_PRODUCT",
    "VECTOR_SUM",
)
"""The six operations of the paper's linear-regression demo (enough for SGD)."""


def parse_ops(names: tuple[str, ...]) -> tuple[Op, ...]:
    """Operation codes for ``names``; raises ValueError naming any unknown one."""
    unknown = [name for name in names if name not in Op.__members__]
    if unknown:
        raise ValueError(f"unknown operations: {', '.join(unknown)}")
    if not names:
        raise ValueError("an operation set needs at least one operation")
    return tuple(Op[name] for name in names)
