"""Every operation of the compiled interpreter against its NumPy reference."""

from __future__ import annotations

import random

import numpy as np
import pytest

from evoforge.domains.automl.interpreter import execute
from evoforge.domains.automl.ops import ALL_OPS, DEMO_OPS, OPS, Data, Op, parse_ops
from evoforge.domains.automl.program import Instruction, Memory, Program, random_instruction
from evoforge.domains.automl.render import render_instruction

MEMORY = Memory(scalars=5, vectors=4, matrices=3)
D = 4


def _memory(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    gen = np.random.default_rng(seed)
    # Mostly inside (-1, 1) so arcsin/arccos/log see both valid and invalid inputs.
    s = gen.uniform(-1.2, 1.2, MEMORY.scalars)
    v = gen.uniform(-1.2, 1.2, (MEMORY.vectors, D))
    m = gen.uniform(-1.2, 1.2, (MEMORY.matrices, D, D))
    s[2], v[2, 1], m[1, 0, 0] = 0.0, 0.0, 0.0  # zeros: division, heaviside, reciprocal
    return s, v, m


def _reference(
    instr: Instruction, memory: tuple[np.ndarray, ...], seed: int
) -> tuple[np.ndarray, ...]:
    s, v, m = (x.copy() for x in memory)
    scope = {"np": np, "rng": np.random.RandomState(seed), "s": s, "v": v, "m": m}
    with np.errstate(all="ignore"):
        exec(render_instruction(instr, D), scope)
    return s, v, m


@pytest.mark.parametrize("op", [op for op in Op if op is not Op.NO_OP], ids=lambda op: op.name)
def test_operation_matches_numpy_reference(op: Op) -> None:
    rng = random.Random(int(op))
    for trial in range(6):
        instr = random_instruction(op, MEMORY, rng)
        memory = _memory(trial)
        expected = _reference(instr, memory, seed=trial)
        s, v, m = (x.copy() for x in memory)
        execute(Program.build([instr]), s, v, m, seed=trial)
        for got, want in zip((s, v, m), expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, equal_nan=True)


def test_references_have_the_intended_semantics() -> None:
    s = np.array([0.0, 0.0, 0.0, -0.0, np.nan])
    v = np.array([[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 0.0, 2.0], [0.0] * 4, [0.0] * 4])
    m = np.zeros((3, D, D))
    m[0] = np.arange(16.0).reshape(4, 4)
    program = Program.build(
        [
            Instruction(Op.SCALAR_HEAVISIDE, 3, 0, 1),  # heaviside(-0.0) = 1
            Instruction(Op.SCALAR_MIN, 4, 1, 2),  # min(nan, 1) = nan
            Instruction(Op.VECTOR_INNER_PRODUCT, 0, 1, 3),  # 0.5 - 2 + 0 + 8
            Instruction(Op.MATRIX_VECTOR_PRODUCT, 0, 0, 2),  # m0 @ v0
            Instruction(Op.MATRIX_TRANSPOSE, 0, 0, 1),
            Instruction(Op.VECTOR_CONST_SET, out=3, c0=0.99, c1=7.0),  # last element
            Instruction(Op.MATRIX_ROW_ST_DEV, 0, 0, 1),  # overwrites v1
        ]
    )
    execute(program, s, v, m)
    assert s[1] == 1.0 and np.isnan(s[2]) and s[3] == 6.5
    np.testing.assert_array_equal(v[2], m[0] @ np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(m[1], m[0].T)
    assert v[3, 3] == 7.0
    np.testing.assert_allclose(v[1], np.full(4, np.std([0.0, 1.0, 2.0, 3.0])))


def test_instructions_never_write_label_or_features() -> None:
    rng = random.Random(0)
    for op in Op:
        info = OPS[op]
        for _ in range(20):
            instr = random_instruction(op, MEMORY, rng)
            if info.out is not None and info.out.name in ("SCALAR", "VECTOR"):
                assert instr.out >= 1
            if info.in1 is not None:
                assert 0 <= instr.in1 < MEMORY.size(info.in1)


def test_operation_sets() -> None:
    assert len(ALL_OPS) == 64
    assert set(parse_ops(DEMO_OPS)) <= set(Op)
    assert OPS[Op.MATRIX_GAUSSIAN_SET].random and OPS[Op.VECTOR_CONST_SET].partial_write
    assert OPS[Op.SCALAR_CONST_SET].data is Data.CONST
    with pytest.raises(ValueError, match="unknown operations: NOPE"):
        parse_ops(("NOPE",))
