"""Gate contracts: pre-run decisions and check_all, post-run flags on what a scored child shows."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from evoforge.candidate import Candidate, Files, Status
from evoforge.config import TaskSection
from evoforge.gates import (
    ALLOW,
    AllowAll,
    Decision,
    PostRunGate,
    PreRunGate,
    Scored,
    check_all,
)
from evoforge.gates.detectors import GamingDetectors, MetricChecks

SEED: Files = {"a.py": "X = 1\n"}


class Refuses(PreRunGate):
    def __init__(self, *reasons: str) -> None:
        self.reasons = reasons
        self.seen: list[tuple[Files, Files]] = []

    def check(self, child: Files, *, seed: Files) -> Decision:
        self.seen.append((child, seed))
        return Decision(self.reasons)


def test_a_decision_is_ok_exactly_when_it_has_no_reasons() -> None:
    assert Decision().ok and ALLOW.ok
    assert not Decision(("too long",)).ok


def test_the_do_nothing_gate_allows_anything() -> None:
    assert AllowAll().check({"a.py": "import socket\n"}, seed=SEED) == ALLOW


def test_check_all_asks_every_gate_and_keeps_their_reasons_in_gate_order() -> None:
    first, second = Refuses("a: one", "a: two"), Refuses("b: three")
    child = {"a.py": "X = 2\n"}
    decision = check_all([first, AllowAll(), second], child, seed=SEED)
    assert decision.reasons == ("a: one", "a: two", "b: three")
    assert first.seen == second.seen == [(child, SEED)]


def test_no_gates_allow_the_child() -> None:
    assert check_all([], {"a.py": ""}, seed=SEED).ok


def test_a_gate_must_implement_check() -> None:
    class Nothing(PreRunGate):
        pass

    with pytest.raises(TypeError, match="check"):
        Nothing()  # type: ignore[abstract]


def _candidate(cid: int, score: float, *, wall_s: float = 0.0) -> Candidate:
    return Candidate(
        id=cid, code_hash="h", status=Status.SUCCEEDED, metrics={"s": score},
        heldout={"test": score / 2}, wall_s=wall_s,
    )  # fmt: skip


def test_a_scored_child_shows_its_metrics_time_parent_and_recent_gains() -> None:
    parent = _candidate(1, 0.5)
    gains: Sequence[float] = [0.1, 0.2]
    scored = Scored.of(_candidate(2, 0.8, wall_s=3.5), parent, gains)
    assert (dict(scored.metrics), dict(scored.heldout), scored.wall_s) == (
        {"s": 0.8},
        {"test": 0.4},
        3.5,
    )
    assert scored.parent is parent and scored.recent_gains == (0.1, 0.2)


def test_a_child_scored_in_the_worker_has_no_parent_or_history() -> None:
    scored = Scored({"s": 1.0})
    assert (scored.parent, tuple(scored.recent_gains), dict(scored.heldout)) == (None, (), {})


def test_the_worker_checks_and_the_gaming_detectors_are_post_run_gates() -> None:
    gates = [MetricChecks({"s": (0.0, 1.0)}), GamingDetectors(TaskSection(objective="s"))]
    assert all(isinstance(g, PostRunGate) for g in gates)
    assert gates[0].check(Scored({"s": 2.0})) == ("out_of_bounds:s",)
    assert gates[1].check(Scored({"s": 2.0})) == ()  # no parent: nothing to compare with
