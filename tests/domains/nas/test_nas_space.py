"""Every move in the architecture space gives a description the builder accepts."""

from __future__ import annotations

import random
from typing import Any

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from evoforge.domains.nas.cell import EDGES, OPS, build, problem
from evoforge.domains.nas.space import MUTATIONS, crossover, mutate, random_arch

archs = st.fixed_dictionaries({
    "conv": st.sampled_from(["1d", "2d"]),
    "stem": st.integers(4, 256),
    "stages": st.lists(st.tuples(st.integers(1, 5), st.integers(4, 256)).map(list),
                       min_size=1, max_size=4),
    "cell": st.lists(st.sampled_from(OPS), min_size=len(EDGES), max_size=len(EDGES)),
})  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(archs, st.integers(0, 2**32 - 1))
def test_chains_of_mutations_and_crossovers_stay_valid(arch: dict[str, Any], seed: int) -> None:
    assert problem(arch) == ""
    rng = random.Random(seed)
    current = arch
    for _ in range(6):
        child, name = mutate(current, rng)
        assert name in MUTATIONS and child != current
        assert problem(child) == "", (name, child)
        current = crossover(child, random_arch(rng, conv=arch["conv"]), rng)
        assert problem(current) == "", current
    assert problem(arch) == ""  # the parent is never changed in place


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["1d", "2d"]))
def test_random_and_mutated_architectures_build_and_run(seed: int, conv: str) -> None:
    rng = random.Random(seed)
    arch = random_arch(rng, conv=conv)
    for a in (arch, mutate(arch, rng)[0]):
        model = build(a, in_channels=1, n_classes=10).eval()
        x = torch.randn(2, 1, 40) if conv == "1d" else torch.randn(2, 1, 16, 16)
        with torch.no_grad():
            assert model(x).shape == (2, 10)


def test_each_mutation_changes_what_its_name_says() -> None:
    rng = random.Random(3)
    arch: dict[str, Any] = {
        "conv": "1d",
        "stem": 16,
        "stages": [[2, 16], [1, 32]],
        "cell": ["skip"] * 6,
    }
    seen: dict[str, dict[str, Any]] = {}
    for _ in range(200):
        child, name = mutate(arch, rng)
        seen[name] = child
    assert set(seen) == set(MUTATIONS)
    assert sum(a != b for a, b in zip(seen["edge"]["cell"], arch["cell"], strict=True)) == 1
    assert sum(c for c, _ in seen["add_cell"]["stages"]) == 4
    assert sum(c for c, _ in seen["remove_cell"]["stages"]) == 2
    assert len(seen["add_stage"]["stages"]) == 3 and len(seen["remove_stage"]["stages"]) == 1
    assert seen["stem"]["stem"] in (12, 24) and seen["stem"]["stages"] == arch["stages"]
