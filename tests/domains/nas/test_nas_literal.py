"""The architecture literal in the program: found in an evolve block, written back in place."""

from __future__ import annotations

import pytest

from evoforge.domains.nas.literal import ArchError, find_arch, render, with_arch
from evoforge.proposers.sites import find_sites

PROGRAM = """import nas_cell
ARCH = {"conv": "2d", "stem": 8, "stages": [[1, 8]], "cell": ["skip"] * 6}  # the frame's: ignored
# EVOLVE-BLOCK-START
LR = 0.1  # evolve: log[1e-4, 1]
ARCH = {"conv": "1d", "stem": 16,
        "stages": [[1, 16]], "cell": ["conv3", "none", "skip", "none", "none", "conv1"]}
EPOCHS = 3
# EVOLVE-BLOCK-END
model = nas_cell.build(ARCH, in_channels=1, n_classes=10)
"""


def test_the_literal_in_the_block_is_read_and_replaced_and_nothing_else_changes() -> None:
    found = find_arch({"train.py": PROGRAM})
    assert found.arch["conv"] == "1d" and (found.first, found.last) == (4, 5)
    new = {**found.arch, "stem": 24}
    out = with_arch({"train.py": PROGRAM}, found, new)["train.py"]
    assert find_arch({"train.py": out}).arch == new
    before, after = PROGRAM.splitlines(), out.splitlines()
    assert before[:4] == after[:4] and before[-3:] == after[-3:]  # LR, EPOCHS, the frame kept
    assert render(new) in out
    # the rendered literal is a `fixed` line: the mutator finds no number of it to move
    assert [s.name for s in find_sites({"train.py": out})] == ["LR", "EPOCHS"]


@pytest.mark.parametrize(
    ("program", "why"),
    [
        ("ARCH = {}\n", "no `ARCH = {...}`"),
        ("# EVOLVE-BLOCK-START\nARCH = dict(conv='1d')\n# EVOLVE-BLOCK-END\n", "must be a literal"),
        ("# EVOLVE-BLOCK-START\nARCH = {'conv': '1d'}\n# EVOLVE-BLOCK-END\n", "keys must be"),
        ("# EVOLVE-BLOCK-START\nARCH = {\n", "never closed"),
    ],
)
def test_a_missing_or_bad_literal_is_refused_with_why(program: str, why: str) -> None:
    with pytest.raises(ArchError, match=why):
        find_arch({"p.py": program})
