"""Mutations of encoded programs (the paper's mutation types).

Each mutation picks one component function uniformly, then:

- ``insert``: a random instruction at a random position (if below the max size);
- ``remove``: the instruction at a random position (if above the min size);
- ``randomize_component``: every instruction of the component redrawn, same size;
- ``randomize_instruction``: one instruction replaced by a fresh random one;
- ``alter_param``: one argument of one instruction redrawn (an input or output
  address), or its constant changed: scaled by ``exp(N(0, 1))`` (sign flipped
  with probability 0.1), or an element index redrawn.

A mutation that cannot apply (insert at the max size, anything on an empty
component, altering a no-op) returns the parent unchanged, as in the paper's
code; the functional cache makes such children nearly free.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from evoforge.domains.automl.ops import OPS, Data, Op, parse_ops
from evoforge.domains.automl.program import (
    Instruction,
    Program,
    SearchSpace,
    random_address,
    random_instruction,
)

MUTATIONS: tuple[str, ...] = (
    "insert",
    "remove",
    "randomize_component",
    "randomize_instruction",
    "alter_param",
)
DEMO_MUTATIONS: tuple[str, ...] = ("alter_param", "randomize_instruction", "randomize_component")
"""The mutations of the paper's demo (fixed-size programs)."""
_SIGN_FLIP = 0.1


def _replace_rows(
    program: Program, component: int, lo: int, hi: int, rows: list[Instruction]
) -> Program:
    """``program`` with rows ``[lo, hi)`` (absolute) replaced by ``rows`` in ``component``."""
    if len(rows) == 1 and hi == lo + 1:  # the common case, kept cheap: copy and patch
        code, data = program.code.copy(), program.data.copy()
        r = rows[0]
        code[lo] = (int(r.op), r.in1, r.in2, r.out)
        data[lo] = (r.c0, r.c1, r.c2)
        return Program(code, data, program.sizes)
    new_code = np.array([(int(r.op), r.in1, r.in2, r.out) for r in rows], dtype=np.int32)
    new_data = np.array([(r.c0, r.c1, r.c2) for r in rows], dtype=np.float64)
    code = np.concatenate([program.code[:lo], new_code.reshape(-1, 4), program.code[hi:]])
    data = np.concatenate([program.data[:lo], new_data.reshape(-1, 3), program.data[hi:]])
    sizes = list(program.sizes)
    sizes[component] += len(rows) - (hi - lo)
    return Program(code, data, (sizes[0], sizes[1], sizes[2]))


def _log_scale_or_flip(value: float, rng: random.Random, *, flip: bool = True) -> float:
    if flip and rng.random() < _SIGN_FLIP:
        return -value
    return value * math.exp(rng.gauss(0.0, 1.0))


def alter_data(instr: Instruction, rng: random.Random) -> Instruction:
    """``instr`` with its constant changed (see module docstring)."""
    kind = OPS[instr.op].data
    c = [instr.c0, instr.c1, instr.c2]
    if kind is Data.CONST:
        c[0] = _log_scale_or_flip(c[0], rng)
    elif kind is Data.VECTOR_CONST:
        if rng.random() < 0.5:
            c[0] = rng.random()
        else:
            c[1] = _log_scale_or_flip(c[1], rng)
    elif kind is Data.MATRIX_CONST:
        pick = rng.randrange(3)
        c[pick] = rng.random() if pick < 2 else _log_scale_or_flip(c[2], rng)
    elif kind is Data.GAUSSIAN:
        if rng.random() < 0.5:
            c[0] = _log_scale_or_flip(c[0], rng)
        else:
            c[1] = _log_scale_or_flip(c[1], rng, flip=False)
    elif kind is Data.UNIFORM:
        pick = rng.randrange(2)
        c[pick] = _log_scale_or_flip(c[pick], rng)
        c[0], c[1] = min(c[0], c[1]), max(c[0], c[1])
    return instr._replace(c0=c[0], c1=c[1], c2=c[2])


def alter_param(instr: Instruction, space: SearchSpace, rng: random.Random) -> Instruction:
    """``instr`` with one input/output address redrawn or its data altered."""
    info = OPS[instr.op]
    if instr.op is Op.NO_OP:
        return instr
    if info.data is not Data.NONE:
        if rng.random() < 0.5:
            return instr._replace(out=random_address(info.out, space.memory, rng, out=True))
        return alter_data(instr, rng)
    slots = [i for i, k in enumerate((info.in1, info.in2, info.out)) if k is not None]
    slot = rng.choice(slots)
    if slot == 0:
        return instr._replace(in1=random_address(info.in1, space.memory, rng, out=False))
    if slot == 1:
        return instr._replace(in2=random_address(info.in2, space.memory, rng, out=False))
    return instr._replace(out=random_address(info.out, space.memory, rng, out=True))


@dataclass(frozen=True)
class Mutator:
    """Makes a child from a parent: with probability ``mutate_prob`` one mutation
    drawn uniformly from ``mutations``, otherwise an exact copy ("identity")."""

    space: SearchSpace
    mutations: tuple[str, ...] = DEMO_MUTATIONS
    mutate_prob: float = 0.9

    def __post_init__(self) -> None:
        unknown = set(self.mutations) - set(MUTATIONS)
        if unknown or not self.mutations:
            raise ValueError(f"mutations must be a non-empty subset of {MUTATIONS}")

    @cached_property
    def _ops(self) -> tuple[tuple[Op, ...], ...]:
        return tuple(parse_ops(c.ops) for c in self.space.components)

    def mutate(self, parent: Program, rng: random.Random) -> tuple[Program, str]:
        """The child and the name of the mutation applied."""
        if rng.random() >= self.mutate_prob:
            return parent, "identity"
        name = rng.choice(self.mutations)
        return self.apply(name, parent, rng.randrange(3), rng), name

    def apply(self, name: str, parent: Program, component: int, rng: random.Random) -> Program:
        """Mutation ``name`` on ``component`` (0 setup, 1 predict, 2 learn) of ``parent``."""
        spec = self.space.components[component]
        ops, memory = self._ops[component], self.space.memory
        lo, hi = parent.bounds(component)
        size = hi - lo
        if name == "insert":
            if size >= spec.max_size:
                return parent
            at = lo + rng.randrange(size + 1)
            return _replace_rows(
                parent, component, at, at, [random_instruction(rng.choice(ops), memory, rng)]
            )
        if size == 0:
            return parent
        if name == "remove":
            if size <= spec.min_size:
                return parent
            at = lo + rng.randrange(size)
            return _replace_rows(parent, component, at, at + 1, [])
        if name == "randomize_component":
            rows = [random_instruction(rng.choice(ops), memory, rng) for _ in range(size)]
            return _replace_rows(parent, component, lo, hi, rows)
        at = rng.randrange(size)
        if name == "randomize_instruction":
            new = random_instruction(rng.choice(ops), memory, rng)
        else:
            new = alter_param(parent.instruction(lo + at), self.space, rng)
        return _replace_rows(parent, component, lo + at, lo + at + 1, [new])
