"""Each mutation type, random programs, and the program encoding."""

from __future__ import annotations

import random

import pytest

from evoforge.domains.automl.mutate import MUTATIONS, Mutator, alter_data
from evoforge.domains.automl.ops import Op
from evoforge.domains.automl.program import (
    Component,
    Instruction,
    Memory,
    Program,
    SearchSpace,
    linear_regression_sgd,
    random_program,
)

SPACE = SearchSpace(
    memory=Memory(),
    setup=Component(("SCALAR_CONST_SET", "VECTOR_GAUSSIAN_SET"), 3, 1, 4),
    predict=Component(("VECTOR_INNER_PRODUCT", "SCALAR_SUM"), 2, 1, 3),
    learn=Component(("SCALAR_DIFF", "SCALAR_VECTOR_PRODUCT", "VECTOR_SUM"), 4, 2, 5),
)
MUTATOR = Mutator(SPACE, MUTATIONS, mutate_prob=1.0)


def _parent(seed: int = 0) -> Program:
    return random_program(SPACE, random.Random(seed))


def _other_components_equal(a: Program, b: Program, changed: int) -> None:
    for c in range(3):
        if c != changed:
            assert a.instructions(c) == b.instructions(c)


@pytest.mark.parametrize("component", [0, 1, 2])
def test_insert_adds_one_valid_instruction(component: int) -> None:
    parent = _parent()
    child = MUTATOR.apply("insert", parent, component, random.Random(1))
    assert child.sizes[component] == parent.sizes[component] + 1
    _other_components_equal(parent, child, component)
    allowed = {Op[name] for name in SPACE.components[component].ops}
    assert {i.op for i in child.instructions(component)} <= allowed


def test_insert_and_remove_respect_size_limits() -> None:
    rng = random.Random(2)
    program = _parent()
    for _ in range(10):
        program = MUTATOR.apply("insert", program, 2, rng)
    assert program.sizes[2] == SPACE.learn.max_size
    for _ in range(10):
        program = MUTATOR.apply("remove", program, 2, rng)
    assert program.sizes[2] == SPACE.learn.min_size


def test_remove_deletes_one_instruction_keeping_the_others_in_order() -> None:
    parent = _parent()
    child = MUTATOR.apply("remove", parent, 2, random.Random(3))
    before, after = parent.instructions(2), child.instructions(2)
    assert len(after) == len(before) - 1
    assert any(before[:i] + before[i + 1 :] == after for i in range(len(before)))


def test_randomize_component_redraws_one_whole_function() -> None:
    parent = _parent()
    child = MUTATOR.apply("randomize_component", parent, 2, random.Random(4))
    assert child.sizes == parent.sizes
    _other_components_equal(parent, child, 2)
    assert child.instructions(2) != parent.instructions(2)


def test_randomize_instruction_replaces_exactly_one() -> None:
    parent = _parent()
    for seed in range(20):
        child = MUTATOR.apply("randomize_instruction", parent, 2, random.Random(seed))
        diffs = sum(
            a != b for a, b in zip(parent.instructions(2), child.instructions(2), strict=True)
        )
        assert diffs <= 1
        _other_components_equal(parent, child, 2)


def test_alter_param_changes_one_argument_or_constant() -> None:
    parent = linear_regression_sgd(0.1)
    changed_fields: set[str] = set()
    for seed in range(60):
        rng = random.Random(seed)
        component = seed % 3
        child = MUTATOR.apply("alter_param", parent, component, rng)
        old, new = parent.instructions(component), child.instructions(component)
        pairs = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
        assert len(pairs) <= 1
        for a, b in pairs:
            assert a.op == b.op
            fields = [f for f in Instruction._fields if getattr(a, f) != getattr(b, f)]
            assert len(fields) == 1
            changed_fields.update(fields)
    assert {"in1", "in2", "out", "c0"} <= changed_fields


def test_alter_data_scales_or_flips_constants() -> None:
    const = Instruction(Op.SCALAR_CONST_SET, out=2, c0=0.5)
    values = [alter_data(const, random.Random(seed)).c0 for seed in range(200)]
    flipped = [v for v in values if v == -0.5]  # probability 0.1
    rescaled = [v for v in values if v > 0 and v != 0.5]  # times exp(N(0, 1))
    assert 5 <= len(flipped) <= 40
    assert len(rescaled) == len(values) - len(flipped)
    uniform = Instruction(Op.VECTOR_UNIFORM_SET, out=1, c0=-0.2, c1=0.3)
    for seed in range(50):
        altered = alter_data(uniform, random.Random(seed))
        assert altered.c0 <= altered.c1


def test_mutator_copies_when_not_mutating() -> None:
    parent = _parent()
    child, name = Mutator(SPACE, MUTATIONS, mutate_prob=0.0).mutate(parent, random.Random(0))
    assert child is parent and name == "identity"
    names = {MUTATOR.mutate(parent, random.Random(seed))[1] for seed in range(100)}
    assert names == set(MUTATIONS)


def test_mutator_rejects_unknown_mutations() -> None:
    with pytest.raises(ValueError, match="mutations"):
        Mutator(SPACE, ("teleport",))
