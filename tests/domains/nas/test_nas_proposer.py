"""The architecture search proposer: random start, then one move of its parent."""

from __future__ import annotations

import random

import pytest

from evoforge.candidate import Candidate, Status
from evoforge.config import Direction
from evoforge.domains.nas.literal import find_arch
from evoforge.domains.nas.proposer import NASProposer
from evoforge.proposers._base import Feedback, Parent, ProposalError, ProposerExhausted

PROGRAM = """# EVOLVE-BLOCK-START
LR = 0.01  # evolve: log[1e-4, 0.1]
ARCH = {"conv": "1d", "stem": 16, "stages": [[1, 16]],
        "cell": ["conv3", "none", "none", "none", "skip", "none"]}
# EVOLVE-BLOCK-END
"""
FEEDBACK = Feedback(objective="acc", direction=Direction.MAXIMIZE, seed={"t.py": PROGRAM})


def parent(files: dict[str, str], id_: int = 1) -> Parent:
    return Parent(Candidate(id=id_, code_hash=str(id_), status=Status.SUCCEEDED), files)


def test_random_start_then_single_moves_that_keep_the_other_parameters() -> None:
    nas = NASProposer(random_start=3, crossover_rate=0.0)
    rng = random.Random(0)
    seed = {"t.py": PROGRAM}
    ops = [nas.propose([parent(seed)], FEEDBACK, rng).operator for _ in range(3)]
    assert ops == ["random"] * 3
    for _ in range(20):
        p = nas.propose([parent(seed)], FEEDBACK, rng)
        assert p.operator in ("edge", "add_cell", "remove_cell", "add_stage", "remove_stage",
                              "width", "stem")  # fmt: skip
        child = find_arch(p.files).arch
        assert child != find_arch(seed).arch and p.meta["arch"] == child
        assert "LR = 0.01  # evolve: log[1e-4, 0.1]" in p.files["t.py"]
    assert nas.state() == {"proposed": 23}
    again = NASProposer(random_start=3)
    again.load_state(nas.state())
    assert again.propose([parent(seed)], FEEDBACK, rng).operator != "random"


def test_crossover_mixes_two_parents_cells() -> None:
    other = PROGRAM.replace('"conv3", "none", "none", "none", "skip", "none"',
                            ", ".join(['"avgpool"'] * 6))  # fmt: skip
    nas = NASProposer(random_start=0, crossover_rate=1.0)
    rng = random.Random(1)
    seen = set()
    for _ in range(10):
        p = nas.propose([parent({"t.py": PROGRAM}), parent({"t.py": other}, 2)], FEEDBACK, rng)
        assert p.operator == "crossover"
        seen |= set(find_arch(p.files).arch["cell"])
    assert "avgpool" in seen and "conv3" in seen


def test_a_program_without_an_architecture_does_not_apply() -> None:
    nas = NASProposer()
    plain = {"t.py": "# EVOLVE-BLOCK-START\nX = 1\n# EVOLVE-BLOCK-END\n"}
    assert "no `ARCH = {...}`" in nas.applies(plain)
    assert nas.applies({"t.py": PROGRAM}) == ""
    with pytest.raises(ProposalError, match="ARCH"):
        nas.propose([parent(plain)], FEEDBACK, random.Random())
    no_arch = Feedback(objective="acc", direction=Direction.MAXIMIZE, seed=plain)
    with pytest.raises(ProposerExhausted, match="cannot work on this program: no `ARCH"):
        nas.propose([parent(plain)], no_arch, random.Random())  # the run ends at once
