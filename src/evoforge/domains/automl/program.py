"""Integer-encoded algorithms and the space they are drawn from.

An algorithm is three component functions over one memory of scalars ``s``,
vectors ``v`` and matrices ``m``: ``setup`` runs once, then for each training
example ``predict`` then ``learn``, then ``predict`` alone over validation
examples. Reserved addresses: ``s[0]`` holds the label (zero during predict),
``s[1]`` the prediction, ``v[0]`` the features; ``s[0]`` and ``v[0]`` are never
written by an instruction.

A :class:`Program` stores the three components back to back in two read-only
arrays, ``code`` (``op, in1, in2, out`` as int32) and ``data`` (three floats), so
the interpreter runs it with no per-program compilation and a mutation is a
cheap array edit. Programs are immutable values: equal encodings compare equal.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from evoforge.domains.automl.ops import ALL_OPS, DEMO_OPS, OPS, Data, Kind, Op

COMPONENTS: tuple[str, str, str] = ("setup", "predict", "learn")
LABEL, PREDICTION, FEATURES = 0, 1, 0


@dataclass(frozen=True)
class Memory:
    """How many addresses of each kind an algorithm may use."""

    scalars: int = 4
    vectors: int = 3
    matrices: int = 1

    def __post_init__(self) -> None:
        if self.scalars < 2 or self.vectors < 2 or self.matrices < 1:
            raise ValueError("memory needs >= 2 scalars, >= 2 vectors and >= 1 matrix")

    def size(self, kind: Kind) -> int:
        return (self.scalars, self.vectors, self.matrices)[kind]

    def first_out(self, kind: Kind) -> int:
        """Lowest writable address of ``kind`` (label and features are read-only)."""
        return 0 if kind is Kind.MATRIX else 1


@dataclass(frozen=True)
class Component:
    """Allowed operations and size limits of one component function."""

    ops: tuple[str, ...]
    init_size: int
    min_size: int
    max_size: int

    def __post_init__(self) -> None:
        if not 0 <= self.min_size <= self.init_size <= self.max_size:
            raise ValueError("component sizes need 0 <= min <= init <= max")


@dataclass(frozen=True)
class SearchSpace:
    """Memory and the three components' operation sets and sizes."""

    memory: Memory = field(default_factory=Memory)
    setup: Component = Component(DEMO_OPS, 10, 10, 10)
    predict: Component = Component(DEMO_OPS, 2, 2, 2)
    learn: Component = Component(DEMO_OPS, 8, 8, 8)

    @property
    def components(self) -> tuple[Component, Component, Component]:
        return (self.setup, self.predict, self.learn)

    @classmethod
    def demo(cls) -> SearchSpace:
        """The paper's linear-regression demo: 6 ops, fixed sizes 10/2/8, memory 4/3/1."""
        return cls()

    @classmethod
    def full(cls, memory: Memory | None = None) -> SearchSpace:
        """All 64 operations, variable sizes starting empty (paper section 4.2 style)."""
        return cls(
            memory=memory or Memory(scalars=8, vectors=6, matrices=3),
            setup=Component(ALL_OPS, 0, 0, 21),
            predict=Component(ALL_OPS, 0, 0, 21),
            learn=Component(ALL_OPS, 0, 0, 45),
        )


class Instruction(NamedTuple):
    """One decoded instruction; unused fields are zero."""

    op: Op
    in1: int = 0
    in2: int = 0
    out: int = 0
    c0: float = 0.0
    c1: float = 0.0
    c2: float = 0.0


_RANDOM_OPS = np.array([OPS[op].random for op in Op])


def _readonly(array: NDArray[np.generic]) -> None:
    array.flags.writeable = False


class Program:
    """An immutable encoded algorithm: ``code`` (n, 4) int32, ``data`` (n, 3) float64."""

    __slots__ = ("_key", "code", "data", "sizes", "uses_random")

    def __init__(
        self, code: NDArray[np.int32], data: NDArray[np.float64], sizes: tuple[int, int, int]
    ) -> None:
        n = sum(sizes)
        if code.shape != (n, 4) or data.shape != (n, 3) or min(sizes) < 0:
            raise ValueError(f"bad program shapes {code.shape}, {data.shape} for sizes {sizes}")
        self.code = np.ascontiguousarray(code, dtype=np.int32)
        self.data = np.ascontiguousarray(data, dtype=np.float64)
        _readonly(self.code)
        _readonly(self.data)
        self.sizes = (int(sizes[0]), int(sizes[1]), int(sizes[2]))
        self._key: bytes | None = None
        self.uses_random = bool(_RANDOM_OPS[self.code[:, 0]].any()) if n else False
        """Whether running it draws from the random stream."""

    @classmethod
    def build(
        cls,
        setup: list[Instruction] | tuple[Instruction, ...] = (),
        predict: list[Instruction] | tuple[Instruction, ...] = (),
        learn: list[Instruction] | tuple[Instruction, ...] = (),
    ) -> Program:
        rows = [*setup, *predict, *learn]
        code = np.array([[int(r.op), r.in1, r.in2, r.out] for r in rows], dtype=np.int32)
        data = np.array([[r.c0, r.c1, r.c2] for r in rows], dtype=np.float64)
        return cls(code.reshape(-1, 4), data.reshape(-1, 3), (len(setup), len(predict), len(learn)))

    def bounds(self, component: int) -> tuple[int, int]:
        """Row range ``[lo, hi)`` of component 0 (setup), 1 (predict) or 2 (learn)."""
        lo = sum(self.sizes[:component])
        return lo, lo + self.sizes[component]

    def instruction(self, row: int) -> Instruction:
        """The instruction at absolute row ``row``."""
        c, d = self.code[row], self.data[row]
        return Instruction(
            Op(int(c[0])), int(c[1]), int(c[2]), int(c[3]), float(d[0]), float(d[1]), float(d[2])
        )

    def instructions(self, component: int) -> list[Instruction]:
        lo, hi = self.bounds(component)
        return [
            Instruction(Op(int(c[0])), int(c[1]), int(c[2]), int(c[3]), *map(float, d))
            for c, d in zip(self.code[lo:hi], self.data[lo:hi], strict=True)
        ]

    def key(self) -> bytes:
        """Bytes that identify the encoding (equal programs have equal keys)."""
        if self._key is None:
            self._key = bytes(self.sizes) + self.code.tobytes() + self.data.tobytes()
        return self._key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Program) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())

    def __repr__(self) -> str:
        return f"Program(sizes={self.sizes})"

    def __reduce__(self) -> tuple[type[Program], tuple[object, ...]]:
        return (Program, (self.code, self.data, self.sizes))

    def to_json(self) -> dict[str, list[list[float]] | list[int]]:
        """A JSON-safe form (for archives); :meth:`from_json` inverts it exactly."""
        return {
            "sizes": list(self.sizes),
            "code": self.code.tolist(),
            "data": self.data.tolist(),
        }

    @classmethod
    def from_json(cls, obj: dict[str, list[list[float]] | list[int]]) -> Program:
        sizes = [int(x) for x in obj["sizes"]]  # type: ignore[arg-type]
        code = np.array(obj["code"], dtype=np.int32).reshape(-1, 4)
        data = np.array(obj["data"], dtype=np.float64).reshape(-1, 3)
        return cls(code, data, (sizes[0], sizes[1], sizes[2]))


def random_data(kind: Data, rng: random.Random) -> tuple[float, float, float]:
    """Fresh data for an instruction (ranges as in the paper's code)."""
    if kind is Data.CONST:
        return (rng.uniform(-1.0, 1.0), 0.0, 0.0)
    if kind is Data.VECTOR_CONST:
        return (rng.random(), rng.uniform(-1.0, 1.0), 0.0)
    if kind is Data.MATRIX_CONST:
        return (rng.random(), rng.random(), rng.uniform(-1.0, 1.0))
    if kind is Data.GAUSSIAN:
        return (rng.uniform(-1.0, 1.0), rng.random(), 0.0)
    if kind is Data.UNIFORM:
        low, high = sorted((rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)))
        return (low, high, 0.0)
    return (0.0, 0.0, 0.0)


def random_address(kind: Kind | None, memory: Memory, rng: random.Random, *, out: bool) -> int:
    if kind is None:
        return 0
    lo = memory.first_out(kind) if out else 0
    # int(random() * n) rather than randrange: this runs for every mutation.
    return lo + int(rng.random() * (memory.size(kind) - lo))


def random_instruction(op: Op, memory: Memory, rng: random.Random) -> Instruction:
    """An instruction of ``op`` with random addresses and data."""
    info = OPS[op]
    if op is Op.NO_OP:
        return Instruction(op)
    return Instruction(
        op,
        random_address(info.in1, memory, rng, out=False),
        random_address(info.in2, memory, rng, out=False),
        random_address(info.out, memory, rng, out=True),
        *random_data(info.data, rng),
    )


def random_component(
    ops: tuple[Op, ...], size: int, memory: Memory, rng: random.Random
) -> list[Instruction]:
    return [random_instruction(rng.choice(ops), memory, rng) for _ in range(size)]


def random_program(space: SearchSpace, rng: random.Random) -> Program:
    """A program with each component at its initial size, filled at random."""
    parts = [
        random_component(tuple(Op[name] for name in c.ops), c.init_size, space.memory, rng)
        for c in space.components
    ]
    return Program.build(*parts)


def linear_regression_sgd(learning_rate: float = 0.1) -> Program:
    """The hand-written solution of the demo (linear model trained by SGD), for reference."""
    return Program.build(
        setup=[Instruction(Op.SCALAR_CONST_SET, out=2, c0=learning_rate)],
        predict=[Instruction(Op.VECTOR_INNER_PRODUCT, 0, 1, PREDICTION)],
        learn=[
            Instruction(Op.SCALAR_DIFF, LABEL, PREDICTION, 3),
            Instruction(Op.SCALAR_PRODUCT, 3, 2, 3),
            Instruction(Op.SCALAR_VECTOR_PRODUCT, 3, FEATURES, 2),
            Instruction(Op.VECTOR_SUM, 1, 2, 1),
        ],
    )
