"""Programs and a fake proposer shared by the proposer tests (a plain module: a conftest.py here would
shadow tests/conftest.py, which tests elsewhere import by name)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from evoforge.candidate import Candidate, Status, code_hash
from evoforge.config import Direction
from evoforge.proposers import (
    Feedback,
    Parent,
    Proposal,
    ProposalError,
    Proposer,
    ProposerExhausted,
)
from evoforge.proposers._base import ProposerBusy

SEED = {"p.py": "# EVOLVE-BLOCK-START\nX = 1  # evolve: int[0, 100]\n# EVOLVE-BLOCK-END\n"}
FEEDBACK = Feedback(objective="score", direction=Direction.MAXIMIZE, seed=SEED)
PARENT_RECORD = Candidate(1, code_hash(SEED), status=Status.SUCCEEDED, metrics={"score": 0.0})
PARENT = Parent(PARENT_RECORD, SEED)


class Fixed(Proposer):
    """Always the same child (``X = x``); records what it is told and what it restored.
    ``fails`` names the ProposalError or ProposerBusy class it raises instead of proposing."""

    def __init__(
        self,
        name: str,
        x: int = 2,
        *,
        exhausted: bool = False,
        fails: type[ProposalError | ProposerBusy] | None = None,
    ) -> None:
        self.name = name
        self.x = x
        self.exhausted = exhausted
        self.fails = fails
        self.told: list[Candidate] = []
        self.restored: Mapping[str, Any] = {}

    @property
    def operators(self) -> tuple[str, ...]:
        return ("set",)

    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        if self.exhausted:
            raise ProposerExhausted(f"{self.name} spent its budget")
        if self.fails is not None and issubclass(self.fails, ProposerBusy):
            raise self.fails(f"{self.name} is cooling down", retry_after=3.0)
        if self.fails is not None:
            raise self.fails(f"{self.name} wrote nothing usable")
        return Proposal({"p.py": SEED["p.py"].replace("X = 1", f"X = {self.x}")}, "set")

    def tell(self, child: Candidate, parents: Sequence[Candidate], feedback: Feedback) -> None:
        self.told.append(child)

    def state(self) -> Mapping[str, Any]:
        return {"told": len(self.told)}

    def load_state(self, state: Mapping[str, Any]) -> None:
        self.restored = state


TRAIN = '''"""A toy training script."""
import math

SCALE = 3  # frame: never changes


# EVOLVE-BLOCK-START
MODEL = "linear"       # evolve: choice["linear", "mlp", "cnn"]
HIDDEN = [32]          # evolve: ints[8, 512] len[1, 4]
LR = 0.001             # evolve: log[1e-5, 1.0]
EPOCHS = 3             # evolve: int[1, 200]
MOMENTUM = 0.9         # evolve: float[0.0, 0.99]
USE_BN = False         # evolve: bool
SEED = 0               # evolve: fixed
DROPOUT = 0.1
OFFSET = -3


def build(width):
    """A docstring with 7 numbers: not a site."""
    name = f"net{width * 2}"
    layers = [("linear", width, 32)]
    return layers[0], dict(lr=0.01, shuffle=True, betas=(0.9, 0.999), name=name)
# EVOLVE-BLOCK-END


def main():
    print(f"{SCALE * 2}", math.pi, build(4))
'''

MODEL = """def net():
    # EVOLVE-BLOCK-START
    width = 64  # evolve: int[8, 256]
    return [width, 10]
    # EVOLVE-BLOCK-END


N = 5
"""
