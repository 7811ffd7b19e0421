"""The built-in mutator: each operator, its guarantees, determinism, crossover."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evoforge.candidate import Candidate, Files
from evoforge.config import Direction
from evoforge.operators import OPERATORS
from evoforge.program import frame_violations, syntax_errors
from evoforge.proposers import Feedback, Mutator, Parent, Proposal, ProposalError
from evoforge.proposers.mutate import crossover
from evoforge.proposers.sites import check_annotations, find_sites, set_values

from proposer_helpers import MODEL, TRAIN

FEEDBACK = Feedback(objective="score", direction=Direction.MAXIMIZE)


@pytest.fixture
def program() -> dict[str, str]:
    """Two files; one block at top level, one inside a function."""
    return {"train.py": TRAIN, "model.py": MODEL}


@pytest.fixture
def tiny() -> dict[str, str]:
    return {"p.py": "# EVOLVE-BLOCK-START\nX = 4\n# EVOLVE-BLOCK-END\nprint(X)\n"}


def parent(files: Files, id: int = 1) -> Parent:
    return Parent(Candidate(id=id, code_hash=str(id)), files)


def only(op: str) -> Mutator:
    return Mutator.from_rates({op: 1.0})


def values(files: Files) -> dict[str, Any]:
    return {s.name or s.key: s.value for s in find_sites(files)}


def changed(a: Files, b: Files) -> dict[str, tuple[object, object]]:
    va, vb = values(a), values(b)
    return {k: (va[k], vb[k]) for k in va if k in vb and va[k] != vb[k]}


def propose(m: Mutator, *files: Files, seed: int = 0) -> Proposal:
    return m.propose([parent(f, i + 1) for i, f in enumerate(files)], FEEDBACK, random.Random(seed))


def assert_valid(base: Files, child: Files) -> None:
    assert child != base
    assert syntax_errors(child) == []
    assert frame_violations(base, child) == []
    assert check_annotations(child) == []  # declared values still in range


# ---------------------------------------------------------------- operators


@pytest.mark.parametrize("seed", range(5))
def test_step_moves_one_number(program: dict[str, str], seed: int) -> None:
    p = propose(only("step"), program, seed=seed)
    assert p.operator == "step"
    assert_valid(program, p.files)
    ((name, (old, new)),) = changed(program, p.files).items()
    assert isinstance(old, int | float) and isinstance(new, int | float)
    assert p.note.startswith(name if ":" not in name else "")


def test_resample_draws_a_declared_parameter(program: dict[str, str]) -> None:
    declared = {"MODEL", "HIDDEN", "LR", "EPOCHS", "MOMENTUM", "USE_BN", "width"}
    for seed in range(10):
        p = propose(only("resample"), program, seed=seed)
        assert_valid(program, p.files)
        assert set(changed(program, p.files)) <= declared


def test_flip_negates_a_bool(program: dict[str, str]) -> None:
    p = propose(only("flip"), program, seed=3)
    diff = changed(program, p.files)
    assert len(diff) == 1 and next(iter(diff.values())) in ((False, True), (True, False))


def test_choice_switches_to_another_option(program: dict[str, str]) -> None:
    for seed in range(5):
        p = propose(only("choice"), program, seed=seed)
        assert changed(program, p.files)["MODEL"][1] in ("mlp", "cnn")
        assert p.note in ('MODEL: "linear" -> "mlp"', 'MODEL: "linear" -> "cnn"')


def test_list_operations_respect_length_and_range(program: Files) -> None:
    m, rng, files = only("list"), random.Random(0), program
    lengths = set()
    for i in range(200):
        child = m.propose([parent(files, i)], FEEDBACK, rng).files
        assert_valid(files, child)
        hidden = values(child)["HIDDEN"]
        assert isinstance(hidden, tuple) and 1 <= len(hidden) <= 4
        assert all(8 <= h <= 512 for h in hidden)
        lengths.add(len(hidden))
        files = child
    assert lengths == {1, 2, 3, 4}
    assert len(values(files)["train.py:23:56"]) == 2  # tuples keep length


def test_multi_changes_two_or_three_sites(program: dict[str, str]) -> None:
    counts = {
        len(changed(program, propose(only("multi"), program, seed=s).files)) for s in range(30)
    }
    assert counts <= {1, 2, 3} and {2, 3} <= counts  # 1 only when a change was a no-op


def test_mutation_rates_are_probabilities_and_round_trip() -> None:
    rates = Mutator().mutation_rates
    assert set(rates) == set(OPERATORS)
    assert math.isclose(sum(rates.values()), 1.0)
    assert math.isclose(rates["crossover"], 0.15) and math.isclose(rates["multi"], 0.85 * 0.2)
    again = Mutator.from_rates(rates).mutation_rates
    assert all(math.isclose(rates[op], again[op]) for op in OPERATORS)
    assert Mutator(operator_weights={"flip": 0.0}).mutation_rates["flip"] == 0.0


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"operator_weights": {"jump": 1.0}}, "unknown operator jump"),
        ({"operator_weights": {"step": -1.0}}, "finite and >= 0"),
        ({"crossover_rate": 1.5}, "crossover_rate must be in"),
    ],
)
def test_bad_rates_are_refused(kwargs: dict[str, Any], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        Mutator(**kwargs).mutation_rates  # noqa: B018


def test_operators_that_do_not_apply_drop_out(tiny: dict[str, str]) -> None:
    m = Mutator(operator_weights={"flip": 100.0, "choice": 100.0})
    ops = {m.propose([parent(tiny)], FEEDBACK, random.Random(s)).operator for s in range(30)}
    assert ops == {"step"}  # tiny has one free int: no bool, no choice, no second site


# ---------------------------------------------------------------- guarantees


def test_no_mutable_site_is_an_error() -> None:
    files = {"p.py": '# EVOLVE-BLOCK-START\nNAME = "x"\n# EVOLVE-BLOCK-END\n'}
    with pytest.raises(ProposalError, match="no mutable site in the program"):
        propose(Mutator(), files)


def test_sites_that_never_change_are_an_error() -> None:
    files = {"p.py": "# EVOLVE-BLOCK-START\nX = (0.0,)\n# EVOLVE-BLOCK-END\n"}
    with pytest.raises(ProposalError, match="no mutable site changes the program"):
        propose(Mutator(), files)


def test_bad_annotations_are_an_error(tiny: dict[str, str]) -> None:
    files = {"p.py": tiny["p.py"].replace("X = 4", "X = 4  # evolve: int[5, 1]")}
    with pytest.raises(ProposalError, match=r"p.py:2: int\[5, 1\]"):
        propose(Mutator(), files)


def test_same_seed_same_child(program: dict[str, str]) -> None:
    other = propose(only("step"), program, seed=99).files
    children = [propose(Mutator(), program, other, seed=7) for _ in range(2)]
    assert children[0] == children[1]
    assert len({propose(Mutator(), program, seed=s).files["train.py"] for s in range(10)}) > 5


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 4))
def test_random_mutations_parse_keep_the_frame_and_ranges(
    program: dict[str, str], seed: int, steps: int
) -> None:
    rng, files, m = random.Random(seed), program, Mutator()
    for i in range(steps):
        mate = propose(only("step"), program, seed=seed + i).files
        child = m.propose([parent(files), parent(mate, 2)], FEEDBACK, rng)
        assert child.operator in OPERATORS
        assert syntax_errors(child.files) == []
        assert frame_violations(program, child.files) == []
        assert child.files != files
        assert check_annotations(child.files) == []
        files = dict(child.files)


# ---------------------------------------------------------------- crossover


def test_crossover_mixes_values_of_same_structure_parents(program: dict[str, str]) -> None:
    a = set_values(program, {"MODEL": "mlp", "LR": 0.01, "EPOCHS": 50, "USE_BN": True})
    b = set_values(program, {"MODEL": "cnn", "LR": 0.2, "EPOCHS": 9, "USE_BN": False})
    va, vb = values(a), values(b)
    for seed in range(20):
        p = propose(only("crossover"), a, b, seed=seed)
        assert p.operator == "crossover" and p.note.startswith("with #2 (sites)")
        vc = values(p.files)
        assert all(vc[k] in (va[k], vb[k]) for k in va)
        assert vc != va and vc != vb
        assert_valid(a, p.files)


def test_crossover_of_different_structures_swaps_named_values_or_blocks(
    program: dict[str, str],
) -> None:
    a = set_values(program, {"LR": 0.01, "EPOCHS": 50, "width": 16})
    b = set_values(program, {"LR": 0.2, "EPOCHS": 9, "width": 128})
    b["train.py"] = b["train.py"].replace("OFFSET = -3\n", "OFFSET = -3\nEXTRA = 2\n")
    b["model.py"] = b["model.py"].replace("return [width, 10]", "return [width, 10, 1]")
    hows = set()
    for seed in range(30):
        child, note = crossover(a, b, random.Random(seed))
        assert child is not None and child not in (a, b)
        assert frame_violations(a, child) == [] and syntax_errors(child) == []
        hows.add(note.split(")")[0] + ")")
        if note.startswith("(blocks)"):
            assert sum(child[p] == b[p] for p in child) == 1  # one file from each parent
    assert hows == {"(names)", "(blocks)"}


def test_crossover_needs_a_difference(program: dict[str, str]) -> None:
    assert crossover(program, program, random.Random(0))[0] is None
    ops = {propose(Mutator(crossover_rate=0.9), program, seed=s).operator for s in range(20)}
    assert "crossover" not in ops  # one parent: crossover is never chosen


# ---------------------------------------------------------------- search


def test_a_greedy_climb_walks_a_weak_seed_to_a_strong_configuration() -> None:
    """Step sizes are sensible: 300 proposals climb a smooth landscape to near its optimum."""
    seed = {
        "t.py": (
            "# EVOLVE-BLOCK-START\n"
            'MODEL = "linear"  # evolve: choice["linear", "mlp", "cnn"]\n'
            "HIDDEN = [16]  # evolve: ints[8, 512] len[1, 3]\n"
            "LR = 0.00001  # evolve: log[1e-6, 1.0]\n"
            "EPOCHS = 1  # evolve: int[1, 200]\n"
            "# EVOLVE-BLOCK-END\n"
        )
    }

    def score(files: Files) -> float:
        v: dict[str, Any] = {s.name: s.value for s in find_sites(files)}
        lr, epochs, hidden = float(v["LR"]), float(v["EPOCHS"]), v["HIDDEN"]
        assert isinstance(hidden, tuple)
        return float(
            (v["MODEL"] == "mlp")
            - abs(math.log10(lr / 3e-3))
            - abs(math.log2(epochs / 40)) / 2
            - abs(math.log2(hidden[0] / 256)) / 4
            - abs(len(hidden) - 2) / 2
        )

    rng, best, m = random.Random(0), seed, Mutator()
    start = score(seed)
    for i in range(300):
        child = m.propose([parent(best, i)], FEEDBACK, rng).files
        if score(child) >= score(best):
            best = dict(child)
    v: dict[str, Any] = {s.name: s.value for s in find_sites(best)}
    assert start < -6 and score(best) > 0.5, v
    assert v["MODEL"] == "mlp" and 20 <= v["EPOCHS"] <= 80
