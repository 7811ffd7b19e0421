"""The records the loop writes: a child from its parents, the outcome of an evaluation,
a proposal's meta with its prompt and answer as blobs, and an attempt not charged."""

from __future__ import annotations

import pytest

from evoforge.archive import MemoryArchive
from evoforge.candidate import Candidate, Evaluation, RunResult, Status
from evoforge.loop_records import child_of, not_charged, outcome, store_meta


def test_a_child_descends_from_its_parents_one_generation_below_the_latest() -> None:
    parents = [
        Candidate(id=3, code_hash="a", generation=2),
        Candidate(id=8, code_hash="b", generation=5),
    ]
    child = child_of(parents, code_hash="c", island=1, proposer="llm", operator="diff")
    assert (child.id, child.code_hash, child.parent_ids) == (0, "c", (3, 8))
    assert (child.generation, child.island, child.proposer, child.operator) == (6, 1, "llm", "diff")
    assert child.status == Status.PENDING


def test_an_evaluation_with_its_run_sets_the_records_outcome() -> None:
    run = RunResult(
        exit_code=0, wall_s=1.5, cpu_s=1.25, max_rss_kb=2048, stdout_tail="out", stderr_tail="err"
    )
    ev = Evaluation(
        ok=True, metrics={"score": 1.0}, heldout={"test": 0.5}, run=run, flags=("jump",)
    )
    assert outcome(ev) == {
        "status": Status.SUCCEEDED,
        "metrics": {"score": 1.0},
        "heldout": {"test": 0.5},
        "failure": "",
        "flags": ("jump",),
        "wall_s": 1.5,
        "cpu_s": 1.25,
        "max_rss_kb": 2048,
        "exit_code": 0,
        "stdout_tail": "out",
        "stderr_tail": "err",
    }


def test_a_failure_without_a_run_records_no_process_figures() -> None:
    fields = outcome(Evaluation(ok=False, failure="task raised"))
    assert fields["status"] == Status.FAILED and fields["failure"] == "task raised"
    assert (fields["wall_s"], fields["cpu_s"], fields["max_rss_kb"]) == (0.0, 0.0, 0)
    assert fields["exit_code"] is None and fields["stdout_tail"] == fields["stderr_tail"] == ""


def test_a_proposals_prompt_and_answer_are_kept_as_blobs_beside_its_other_meta() -> None:
    archive = MemoryArchive()
    extra = store_meta(archive, {"prompt": "P" * 100, "response": 42, "model": "m", "tokens": 5})
    assert set(extra) == {"prompt_blob", "response_blob", "model", "tokens"}
    assert archive.get_blob(extra["prompt_blob"]) == "P" * 100
    assert archive.get_blob(extra["response_blob"]) == "42"
    assert (extra["model"], extra["tokens"]) == ("m", 5)
    assert store_meta(archive, {"model": "m"}) == {"model": "m"}


@pytest.mark.parametrize(("attempts", "left"), [(2, 1), (0, 0)])
def test_an_attempt_the_run_broke_is_not_charged_to_the_candidate(attempts: int, left: int) -> None:
    archive = MemoryArchive()
    h = archive.put_code({"p.py": "x"})
    c = archive.add(Candidate(id=0, code_hash=h, status=Status.RUNNING, attempts=attempts))
    back = not_charged(archive, c.id, failure="the task raised (not charged)")
    assert (back.status, back.attempts, back.failure) == (
        Status.PENDING, left, "the task raised (not charged)"
    )  # fmt: skip
    assert archive.get(c.id) == back
