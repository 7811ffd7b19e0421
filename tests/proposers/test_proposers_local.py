"""The portfolio's local moves (proposers/local.py): the step width follows the 1/5 success rule."""

from __future__ import annotations

import random

from evoforge.candidate import Candidate, Status, code_hash
from evoforge.proposers import Mutator, Parent
from evoforge.proposers.local import MAX_SIGMA, MIN_SIGMA, LocalSearch

from proposer_helpers import FEEDBACK, PARENT_RECORD, SEED


def told(local: LocalSearch, score: float | None, status: Status = Status.SUCCEEDED) -> float:
    p = local.propose([Parent(PARENT_RECORD, SEED)], FEEDBACK, random.Random(0))
    child = Candidate(9, code_hash(p.files), parent_ids=(1,), status=status,
                      metrics={} if score is None else {"score": score})  # fmt: skip
    local.tell(child, [PARENT_RECORD], FEEDBACK)
    return float(p.meta["sigma"])


def test_the_step_widens_after_a_win_narrows_after_a_miss_and_stays_in_bounds() -> None:
    mutator = Mutator(sigma=0.5)
    local = LocalSearch(mutator, mutator)
    assert told(local, 1.0) == 0.5 and mutator.sigma == 0.5  # the width the child was made with
    assert local.sigma == 0.75
    told(local, -1.0)
    assert abs(local.sigma - 0.75 * 1.5**-0.25) < 1e-12
    for _ in range(4):  # four misses undo one win: the width settles at one win in five
        told(local, -1.0)
    told(local, 1.0)
    assert abs(local.sigma - 0.75 * 1.5**-0.25) < 1e-9
    for _ in range(40):
        told(local, 1.0)
    assert local.sigma == MAX_SIGMA
    for _ in range(200):
        told(local, -1.0)
    assert local.sigma == MIN_SIGMA


def test_children_that_never_ran_leave_the_width_and_the_state_keeps_it() -> None:
    mutator = Mutator(sigma=0.4)
    local = LocalSearch(mutator, mutator)
    told(local, None, Status.DUPLICATE)
    told(local, None, Status.REJECTED)
    assert local.sigma == 0.4
    told(local, None, Status.FAILED)  # ran and failed: a miss
    assert local.sigma < 0.4
    again = LocalSearch(Mutator(), Mutator())
    again.load_state(local.state())
    assert again.sigma == local.sigma
    again.load_state({"sigma": "wide"})
    assert again.sigma == local.sigma  # a malformed width is not trusted
