"""The gaming detectors on hand-made candidates."""

from __future__ import annotations

from evoforge.candidate import Candidate, Status
from evoforge.config import TaskSection
from evoforge.gates import Scored
from evoforge.gates.detectors import GamingDetectors, visible_flags


def cand(score: float, **heldout: float) -> Candidate:
    return Candidate(
        id=0, code_hash="h", status=Status.SUCCEEDED, metrics={"acc": score}, heldout=heldout
    )


def test_heldout_drop_looks_at_gate_metrics_only() -> None:
    detectors = GamingDetectors(TaskSection(objective="acc", gate=["gate_acc"]))
    parent = cand(0.5, gate_acc=0.5, test_acc=0.5)
    flags = detectors.check(Scored.of(cand(0.7, gate_acc=0.3, test_acc=0.1), parent))
    assert flags == ("heldout_drop:gate_acc",)  # the test metric fell too: never looked at
    assert visible_flags(flags) == ()  # and a proposer never sees it
    assert (
        GamingDetectors(TaskSection(objective="acc")).check(
            Scored.of(cand(0.7, gate_acc=0.3, test_acc=0.1), parent)
        )
        == ()
    )
