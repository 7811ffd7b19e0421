"""The program encoding, its memory and search space, and random programs."""

from __future__ import annotations

import json
import pickle
import random

import numpy as np
import pytest

from evoforge.domains.automl.ops import DEMO_OPS, Data, Kind, Op
from evoforge.domains.automl.program import (
    Component,
    Instruction,
    Memory,
    Program,
    SearchSpace,
    linear_regression_sgd,
    random_address,
    random_data,
    random_instruction,
    random_program,
)


def test_random_programs_follow_the_space() -> None:
    program = random_program(SearchSpace.full(), random.Random(5))
    assert program.sizes == (0, 0, 0)
    demo = random_program(SearchSpace.demo(), random.Random(5))
    assert demo.sizes == (10, 2, 8)
    assert demo.code[:, 1:].max() < 4


def test_programs_are_immutable_values() -> None:
    a, b = linear_regression_sgd(0.1), linear_regression_sgd(0.1)
    assert a == b and hash(a) == hash(b) and a != linear_regression_sgd(0.2)
    with pytest.raises(ValueError):
        a.code[0, 0] = 5
    restored = pickle.loads(pickle.dumps(a))
    assert restored == a and not restored.code.flags.writeable
    assert Program.from_json(a.to_json()) == a
    with pytest.raises(ValueError, match="bad program shapes"):
        Program(np.zeros((2, 4), np.int32), np.zeros((2, 3)), (1, 0, 0))


def test_memory_needs_room_for_label_prediction_and_features() -> None:
    for bad in ({"scalars": 1}, {"vectors": 1}, {"matrices": 0}):
        with pytest.raises(ValueError, match="memory needs"):
            Memory(**bad)
    memory = Memory(scalars=5, vectors=4, matrices=2)
    assert [memory.size(k) for k in Kind] == [5, 4, 2]
    assert [memory.first_out(k) for k in Kind] == [1, 1, 0]


def test_component_sizes_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="component sizes"):
        Component(DEMO_OPS, init_size=5, min_size=1, max_size=3)
    with pytest.raises(ValueError, match="component sizes"):
        Component(DEMO_OPS, init_size=1, min_size=2, max_size=3)


def test_components_are_stored_back_to_back() -> None:
    program = linear_regression_sgd(0.1)
    assert program.sizes == (1, 1, 4)
    assert [program.bounds(c) for c in range(3)] == [(0, 1), (1, 2), (2, 6)]
    learn = program.instructions(2)
    assert learn[0] == Instruction(Op.SCALAR_DIFF, 0, 1, 3)
    assert [program.instruction(row) for row in range(2, 6)] == learn
    assert program.instructions(0) == [Instruction(Op.SCALAR_CONST_SET, out=2, c0=0.1)]


def test_the_same_rows_in_other_components_are_another_program() -> None:
    row = Instruction(Op.SCALAR_CONST_SET, out=1, c0=0.5)
    in_setup, in_predict = Program.build(setup=[row]), Program.build(predict=[row])
    assert in_setup.code.tobytes() == in_predict.code.tobytes()
    assert in_setup != in_predict and in_setup.key() != in_predict.key()


def test_a_program_knows_whether_it_draws_random_numbers() -> None:
    assert not linear_regression_sgd().uses_random
    assert not Program.build().uses_random
    gaussian = Instruction(Op.VECTOR_GAUSSIAN_SET, out=1, c0=0.0, c1=0.1)
    assert Program.build(learn=[gaussian]).uses_random


def test_the_json_form_survives_a_json_round_trip() -> None:
    program = Program.build(
        setup=[Instruction(Op.VECTOR_UNIFORM_SET, out=2, c0=-0.3, c1=0.7)],
        predict=[Instruction(Op.VECTOR_INNER_PRODUCT, 0, 2, 1)],
    )
    restored = Program.from_json(json.loads(json.dumps(program.to_json())))
    assert restored == program and restored.uses_random


def test_random_addresses_never_write_the_label_or_the_features() -> None:
    memory = Memory(scalars=4, vectors=3, matrices=2)
    rng = random.Random(0)
    for kind in Kind:
        outs = {random_address(kind, memory, rng, out=True) for _ in range(300)}
        ins = {random_address(kind, memory, rng, out=False) for _ in range(300)}
        assert outs == set(range(memory.first_out(kind), memory.size(kind)))
        assert ins == set(range(memory.size(kind)))
    assert random_address(None, memory, rng, out=True) == 0


def test_random_instructions_fill_only_the_fields_their_op_uses() -> None:
    rng = random.Random(3)
    assert random_instruction(Op.NO_OP, Memory(), rng) == Instruction(Op.NO_OP)
    const = random_instruction(Op.SCALAR_CONST_SET, Memory(), rng)
    assert const.in1 == const.in2 == 0 and const.out >= 1
    assert -1.0 <= const.c0 <= 1.0 and const.c1 == const.c2 == 0.0


def test_random_uniform_bounds_are_ordered() -> None:
    for seed in range(100):
        low, high, unused = random_data(Data.UNIFORM, random.Random(seed))
        assert -1.0 <= low <= high <= 1.0 and unused == 0.0
    assert random_data(Data.NONE, random.Random(0)) == (0.0, 0.0, 0.0)


def test_random_programs_use_only_each_components_ops() -> None:
    space = SearchSpace(
        setup=Component(("SCALAR_CONST_SET",), 3, 3, 3),
        predict=Component(("VECTOR_INNER_PRODUCT",), 1, 1, 1),
        learn=Component(("SCALAR_DIFF", "VECTOR_SUM"), 6, 6, 6),
    )
    program = random_program(space, random.Random(9))
    assert {i.op for i in program.instructions(0)} == {Op.SCALAR_CONST_SET}
    assert {i.op for i in program.instructions(1)} == {Op.VECTOR_INNER_PRODUCT}
    assert {i.op for i in program.instructions(2)} <= {Op.SCALAR_DIFF, Op.VECTOR_SUM}
