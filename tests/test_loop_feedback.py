"""What a proposer is shown of the run: its parents with their code and the feedback
beside them, never a held-out or gate metric nor a flag built from one."""

from __future__ import annotations

from typing import Any

from evoforge.archive import MemoryArchive
from evoforge.candidate import Candidate, Flag, Status
from evoforge.config import Direction
from evoforge.loop_feedback import as_parent, for_proposer, proposer_feedback
from evoforge.proposers._base import Feedback

SEED = {"p.py": "X = 0\n"}
HIDDEN = {"test": 0.5, "gate_acc": 0.9}


def record(
    archive: MemoryArchive, x: int, status: Status = Status.SUCCEEDED, **fields: Any
) -> Candidate:
    """A candidate for the program ``X = x``, finished in id order, with hidden metrics."""
    h = archive.put_code({"p.py": f"X = {x}\n"})
    metrics = {"score": float(x)} if status == Status.SUCCEEDED else {}
    finished = float(archive.size() + 1)
    c = Candidate(
        id=0, code_hash=h, status=status, metrics=metrics, heldout=HIDDEN,
        finished_at=finished, **fields,
    )  # fmt: skip
    return archive.add(c)


def shown(feedback: Feedback) -> list[Candidate]:
    parents = [p for p in (feedback.best, *feedback.inspirations) if p is not None]
    return [p.candidate for p in parents] + list(feedback.recent_failures)


def test_a_proposer_sees_no_hidden_metric_and_no_flag_built_from_one() -> None:
    flags = (Flag.JUMP.value, Flag.HELDOUT_DROP.on("gate_acc"), "unknown:score")
    c = Candidate(
        id=4, code_hash="h", metrics={"score": 1.0}, heldout=HIDDEN, flags=flags, note="n"
    )
    seen = for_proposer(c)
    assert seen.heldout == {} and seen.flags == ("jump",)
    assert (seen.id, seen.metrics, seen.note) == (4, {"score": 1.0}, "n")
    assert c.heldout == HIDDEN and c.flags == flags


def test_a_parent_comes_with_its_code_and_without_its_hidden_metrics() -> None:
    archive = MemoryArchive()
    c = record(archive, 3, flags=(Flag.HELDOUT_DROP.on("gate_acc"),))
    parent = as_parent(archive, c)
    assert parent.files == {"p.py": "X = 3\n"}
    assert parent.candidate.id == c.id and not parent.candidate.heldout
    assert not parent.candidate.flags


def test_without_context_a_proposer_sees_only_the_objective_and_the_seed() -> None:
    archive = MemoryArchive()
    for x in (1, 2):
        record(archive, x)
    fb = proposer_feedback(archive, objective="score", maximize=False, seed=SEED, context=False)
    assert fb == Feedback(objective="score", direction=Direction.MINIMIZE, seed=SEED)


def test_with_context_a_proposer_sees_the_best_others_and_recent_failures() -> None:
    archive = MemoryArchive()
    flags = (Flag.JUMP.value, Flag.HELDOUT_DROP.on("gate_acc"))
    for x in (5, 1, 9, 7, 2, 3, 4):
        record(archive, x, flags=flags)
    for x in range(100, 105):
        record(archive, x, status=Status.FAILED, failure=f"boom {x}", flags=flags)
    record(archive, 50, status=Status.REJECTED)
    fb = proposer_feedback(archive, objective="score", maximize=True, seed=SEED, context=True)
    assert fb.direction == Direction.MAXIMIZE and fb.seed == SEED
    assert fb.best is not None and fb.best.files == {"p.py": "X = 9\n"}
    assert [p.candidate.score("score") for p in fb.inspirations] == [7.0, 5.0, 3.0, 4.0]
    assert [c.failure for c in fb.recent_failures] == ["boom 102", "boom 103", "boom 104"]
    assert len(shown(fb)) == 8
    assert all(not c.heldout and c.flags == ("jump",) for c in shown(fb))


def test_a_minimising_run_shows_the_lowest_score_as_the_best() -> None:
    archive = MemoryArchive()
    for x in (5, 1, 9):
        record(archive, x)
    fb = proposer_feedback(archive, objective="score", maximize=False, seed=SEED, context=True)
    assert fb.best is not None and fb.best.candidate.score("score") == 1.0
    assert [p.candidate.score("score") for p in fb.inspirations] == [5.0, 9.0]


def test_with_context_but_nothing_scored_there_is_no_best() -> None:
    archive = MemoryArchive()
    record(archive, 1, status=Status.FAILED, failure="exit code 1")
    fb = proposer_feedback(archive, objective="score", maximize=True, seed=SEED, context=True)
    assert fb.best is None and fb.inspirations == []
    assert [c.failure for c in fb.recent_failures] == ["exit code 1"]
    assert not fb.recent_failures[0].heldout
