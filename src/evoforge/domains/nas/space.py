"""Moves in the architecture space of :mod:`.cell`: random descriptions, mutations
that change one thing, and crossover. Every move returns a description that
:func:`.cell.problem` accepts (a property test checks it), or None when it does not
apply (e.g. removing the only stage)."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from typing import Any

from evoforge.domains.nas.cell import EDGES, MAX_CELLS, MAX_STAGES, MAX_WIDTH, MIN_WIDTH, OPS

Arch = dict[str, Any]
WIDTHS = (4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)
"""The width ladder a mutation steps along (one rung up or down)."""


def random_arch(rng: random.Random, *, conv: str) -> Arch:
    """A random description: 1-3 stages of 1-3 cells, widths 8-64, uniform operations."""
    ladder = [w for w in WIDTHS if 8 <= w <= 64]
    width = rng.choice(ladder)
    stages = []
    for _ in range(rng.randint(1, 3)):
        stages.append([rng.randint(1, 3), width])
        width = min(64, _step(width, +1))
    return {"conv": conv, "stem": rng.choice(ladder), "stages": stages,
            "cell": [rng.choice(OPS) for _ in EDGES]}  # fmt: skip


def _step(width: int, direction: int) -> int:
    """The next rung of the ladder from ``width`` in ``direction`` (clamped)."""
    if direction > 0:
        return next((w for w in WIDTHS if w > width), min(width + 1, MAX_WIDTH))
    return next((w for w in reversed(WIDTHS) if w < width), max(width - 1, MIN_WIDTH))


def _edge(a: Arch, rng: random.Random) -> Arch | None:
    i = rng.randrange(len(EDGES))
    a["cell"][i] = rng.choice([op for op in OPS if op != a["cell"][i]])
    return a


def _add_cell(a: Arch, rng: random.Random) -> Arch | None:
    open_ = [s for s in a["stages"] if s[0] < MAX_CELLS]
    if not open_:
        return None
    rng.choice(open_)[0] += 1
    return a


def _remove_cell(a: Arch, rng: random.Random) -> Arch | None:
    several = [s for s in a["stages"] if s[0] > 1]
    if not several:
        return None
    rng.choice(several)[0] -= 1
    return a


def _add_stage(a: Arch, rng: random.Random) -> Arch | None:
    if len(a["stages"]) >= MAX_STAGES:
        return None
    a["stages"].append([1, min(MAX_WIDTH, _step(a["stages"][-1][1], +1))])
    return a


def _remove_stage(a: Arch, rng: random.Random) -> Arch | None:
    if len(a["stages"]) <= 1:
        return None
    a["stages"].pop(rng.randrange(len(a["stages"])))
    return a


def _width(a: Arch, rng: random.Random) -> Arch | None:
    stage = rng.choice(a["stages"])
    new = _step(stage[1], rng.choice((-1, 1)))
    if new == stage[1]:
        return None
    stage[1] = new
    return a


def _stem(a: Arch, rng: random.Random) -> Arch | None:
    new = _step(a["stem"], rng.choice((-1, 1)))
    if new == a["stem"]:
        return None
    a["stem"] = new
    return a


MUTATIONS: dict[str, Callable[[Arch, random.Random], Arch | None]] = {
    "edge": _edge, "add_cell": _add_cell, "remove_cell": _remove_cell,
    "add_stage": _add_stage, "remove_stage": _remove_stage, "width": _width, "stem": _stem,
}  # fmt: skip
WEIGHTS = {"edge": 3.0, "add_cell": 1.0, "remove_cell": 1.0, "add_stage": 0.5,
           "remove_stage": 0.5, "width": 1.5, "stem": 0.5}  # fmt: skip
"""How often each mutation is tried: an edge's operation most (the cell is most of the
space), a stage least (it changes the network the most)."""


def mutate(arch: Arch, rng: random.Random) -> tuple[Arch, str]:
    """A copy of ``arch`` with one mutation that applies, and the mutation's name."""
    names = list(MUTATIONS)
    while names:
        name = rng.choices(names, weights=[WEIGHTS[n] for n in names])[0]
        child = MUTATIONS[name](copy.deepcopy(arch), rng)
        if child is not None and child != arch:
            return child, name
        names.remove(name)
    raise ValueError("no mutation applies to this architecture")  # edge always does


def crossover(a: Arch, b: Arch, rng: random.Random) -> Arch:
    """Each edge's operation from either parent; the macro layout (stem, stages) from one."""
    macro = copy.deepcopy(rng.choice((a, b)))
    macro["cell"] = [rng.choice(pair) for pair in zip(a["cell"], b["cell"], strict=True)]
    return macro
