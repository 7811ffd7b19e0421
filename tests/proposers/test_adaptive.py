import random

import pytest

from evoforge.candidate import Candidate, Status
from evoforge.config import Direction
from evoforge.proposers._base import Feedback, Parent
from evoforge.proposers.adaptive import AdaptiveMutator
from evoforge.proposers.mutate import Mutator

PROGRAM = {
    "p.py": "# EVOLVE-BLOCK-START\nX = 1.0  # evolve: float[0, 10]\nF = True  # evolve: bool\n# EVOLVE-BLOCK-END\n"
}
FEEDBACK = Feedback(objective="s", direction=Direction.MAXIMIZE)


def _cand(cid: int, score: float | None, op: str = "step") -> Candidate:
    status = Status.SUCCEEDED if score is not None else Status.FAILED
    metrics = {} if score is None else {"s": score}
    return Candidate(id=cid, code_hash="h", operator=op, status=status, metrics=metrics)


def test_bandit_mutator_learns_persists_and_falls_back() -> None:
    mutator = AdaptiveMutator(Mutator())
    parent = Parent(_cand(1, 0.5), PROGRAM)
    proposal = mutator.propose([parent], FEEDBACK, random.Random(0))
    assert proposal.files != PROGRAM and proposal.operator != "crossover"
    mutator.tell(_cand(2, 0.9, "flip"), [_cand(1, 0.5)], FEEDBACK)
    mutator.tell(_cand(3, None, "step"), [_cand(1, 0.5)], FEEDBACK)
    state = mutator.state()
    assert state == {"bandit": {"flip": {"tries": 1, "wins": 1, "gain": pytest.approx(0.4)},
                                "step": {"tries": 1, "wins": 0, "gain": 0.0}}}  # fmt: skip
    resumed = AdaptiveMutator(Mutator())
    resumed.load_state(state)
    assert resumed.state() == state
    # "list" fits no site of this program: the configured mutator takes over.
    only_list = AdaptiveMutator(Mutator())
    only_list.bandit.load_state({"list": {"tries": 1000, "wins": 1000, "gain": 1.0}})
    assert only_list.propose([parent], FEEDBACK, random.Random(1)).files != PROGRAM
