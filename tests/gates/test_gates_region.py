"""The evolve-region gate: only code inside the evolve blocks may change, and it must parse."""

from __future__ import annotations

from evoforge.gates import AllowAll, EvolveRegionGate, check_all

SEED = {"a.py": "import os\n# EVOLVE-BLOCK-START\nX = 1\n# EVOLVE-BLOCK-END\nprint(X)\n"}


def test_inside_edit_passes_and_outside_edit_is_refused_with_all_reasons() -> None:
    gate = EvolveRegionGate()
    assert gate.check({"a.py": SEED["a.py"].replace("X = 1", "X = 2")}, seed=SEED).ok
    bad = {"a.py": SEED["a.py"].replace("print(X)", "print(X")}
    decision = check_all([AllowAll(), gate], bad, seed=SEED)
    assert not decision.ok
    assert any("outside the evolve blocks" in r for r in decision.reasons)
    assert any("syntax error" in r for r in decision.reasons)


def test_a_child_that_adds_or_removes_a_file_is_refused() -> None:
    gate = EvolveRegionGate()
    added = gate.check({**SEED, "b.py": "print(1)\n"}, seed=SEED)
    assert added.reasons == ("files added: b.py",)
    assert gate.check({}, seed=SEED).reasons == ("files removed: a.py",)


def test_a_block_that_does_not_parse_is_refused_with_its_line() -> None:
    child = {"a.py": SEED["a.py"].replace("X = 1", "X = (")}
    (reason,) = EvolveRegionGate().check(child, seed=SEED).reasons
    assert reason.startswith("a.py:3: syntax error")
