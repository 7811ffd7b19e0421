"""Small automl programs and search settings shared by the automl tests."""

from __future__ import annotations

from evoforge.domains.automl.config import SearchConfig
from evoforge.domains.automl.ops import Op
from evoforge.domains.automl.program import Instruction, Memory, Program
from evoforge.domains.automl.tasks import TaskSpec

MEMORY = Memory(scalars=5, vectors=4, matrices=2)


def with_dead_code() -> Program:
    return Program.build(
        setup=[
            Instruction(Op.SCALAR_CONST_SET, out=4, c0=3.0),  # dead: s4 never read
            Instruction(Op.VECTOR_GAUSSIAN_SET, out=1, c0=0.0, c1=0.1),  # live: initial weights
            Instruction(Op.SCALAR_CONST_SET, out=2, c0=0.15),
        ],
        predict=[
            Instruction(Op.MATRIX_TRANSPOSE, 0, 0, 1),  # dead: m1 never read
            Instruction(Op.VECTOR_INNER_PRODUCT, 0, 1, 1),
        ],
        learn=[
            Instruction(Op.SCALAR_DIFF, 0, 1, 3),
            Instruction(Op.SCALAR_PRODUCT, 3, 2, 3),
            Instruction(Op.SCALAR_UNIFORM_SET, out=4, c0=0.0, c1=1.0),  # dead, but draws
            Instruction(Op.SCALAR_VECTOR_PRODUCT, 3, 0, 2),
            Instruction(Op.VECTOR_SUM, 1, 2, 1),
            Instruction(Op.VECTOR_SUM, 3, 3, 3),  # dead
        ],
    )


SMALL = SearchConfig(
    search_tasks=TaskSpec(n_tasks=3, n_train=30, n_valid=20, seed=4),
    unseen_tasks=TaskSpec(n_tasks=5, n_train=100, n_valid=20, seed=99),
    population=50,
    tournament=5,
    round_size=250,
    max_candidates=1500,
    seed=1,
)
