"""Dead-code removal: which instructions can affect a prediction, and pruning."""

from __future__ import annotations

import random

from evoforge.domains.automl.interpreter import Interpreter
from evoforge.domains.automl.liveness import live_masks, prune
from evoforge.domains.automl.ops import Op
from evoforge.domains.automl.program import (
    Component,
    Instruction,
    Program,
    SearchSpace,
    linear_regression_sgd,
    random_program,
)
from evoforge.domains.automl.tasks import TaskSpec, make_tasks

from automl_helpers import MEMORY, with_dead_code


def test_liveness_finds_dead_instructions() -> None:
    setup, predict, learn = live_masks(with_dead_code())
    assert setup == [False, True, True]
    assert predict == [False, True]
    # The dead uniform draw is kept: a live random op needs the stream unchanged.
    assert learn == [True, True, True, True, True, False]


def test_liveness_follows_values_across_components() -> None:
    # s2 is set in learn and read by the next predict: live through the loop.
    program = Program.build(
        predict=[Instruction(Op.SCALAR_SUM, 2, 2, 1)],
        learn=[Instruction(Op.SCALAR_SUM, 0, 0, 2), Instruction(Op.SCALAR_SUM, 0, 0, 3)],
    )
    assert live_masks(program) == ([], [True], [True, False])


def test_pruning_never_changes_what_is_computed() -> None:
    space = SearchSpace(
        memory=MEMORY,
        setup=Component(SearchSpace.full().setup.ops, 6, 0, 6),
        predict=Component(SearchSpace.full().predict.ops, 6, 0, 6),
        learn=Component(SearchSpace.full().learn.ops, 8, 0, 8),
    )
    interpreter = Interpreter(make_tasks(TaskSpec(n_tasks=2, n_train=30, n_valid=20)), MEMORY)
    rng = random.Random(7)
    for _ in range(40):
        program = random_program(space, rng)
        pruned = prune(program)
        assert sum(pruned.sizes) <= sum(program.sizes)
        assert (
            interpreter.task_fitness(pruned).tolist() == interpreter.task_fitness(program).tolist()
        )


def test_pruning_drops_exactly_the_dead_instructions_in_order() -> None:
    program = with_dead_code()
    pruned = prune(program)
    assert pruned.sizes == (2, 1, 5)
    assert pruned.instructions(0) == program.instructions(0)[1:]
    assert pruned.instructions(2) == program.instructions(2)[:5]


def test_the_hand_written_solution_has_no_dead_code() -> None:
    program = linear_regression_sgd(0.1)
    assert prune(program) == program


def test_a_prediction_overwritten_by_the_next_predict_is_dead() -> None:
    program = Program.build(
        predict=[Instruction(Op.SCALAR_CONST_SET, out=1, c0=0.5)],
        learn=[Instruction(Op.SCALAR_CONST_SET, out=1, c0=2.0)],
    )
    assert live_masks(program) == ([], [True], [False])


def test_a_one_element_write_keeps_the_write_before_it_alive() -> None:
    program = Program.build(
        setup=[
            Instruction(Op.VECTOR_SUM, 0, 0, 1),
            Instruction(Op.VECTOR_CONST_SET, out=1, c0=0.0, c1=1.0),
        ],
        predict=[Instruction(Op.VECTOR_INNER_PRODUCT, 0, 1, 1)],
    )
    assert live_masks(program)[0] == [True, True]


def test_dead_random_draws_go_when_no_live_instruction_draws() -> None:
    program = Program.build(
        setup=[Instruction(Op.SCALAR_UNIFORM_SET, out=3, c0=0.0, c1=1.0)],
        predict=[Instruction(Op.NO_OP), Instruction(Op.SCALAR_CONST_SET, out=1, c0=1.0)],
    )
    assert live_masks(program) == ([False], [False, True], [])
    assert prune(program).sizes == (0, 1, 0)
