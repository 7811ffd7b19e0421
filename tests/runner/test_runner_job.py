"""A candidate's job and its run's context: keys unique among jobs in flight, values that travel."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path

import pytest

from evoforge.runner import Job, RunContext
from evoforge.sandbox import Limits


def test_a_first_evaluation_is_keyed_by_its_attempt() -> None:
    assert Job(3, {"p.py": "x"}, attempt=2, seed=5).key == "c3-a2"


def test_a_confirmation_is_keyed_by_its_seed_so_reruns_of_one_candidate_differ() -> None:
    first = Job(3, {}, attempt=1, seed=7919, purpose="confirm")
    second = Job(3, {}, attempt=1, seed=15838, purpose="confirm")
    assert (first.key, second.key) == ("c3-s7919", "c3-s15838")
    assert first.key != Job(3, {}, attempt=1, seed=7919).key


def test_a_job_is_a_first_evaluation_unless_told_otherwise() -> None:
    assert Job(1, {}, attempt=1, seed=0).purpose == "candidate"


def test_a_job_cannot_be_changed_once_made() -> None:
    job = Job(1, {}, attempt=1, seed=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.seed = 2  # type: ignore[misc]


def test_the_run_context_survives_pickling_for_a_worker(tmp_path: Path) -> None:
    ctx = RunContext(
        experiment=tmp_path / "exp",
        task_module="task.py",
        task_object="task",
        command=("python", "program.py"),
        limits=Limits(wall_seconds=5, memory_mb=256),
        heldout=("test_acc",),
        scratch_root=tmp_path / "scratch",
        active_dir=tmp_path / "active",
        task_hashes={"task.py": "ab" * 32},
    )
    back = pickle.loads(pickle.dumps(ctx))
    assert back == ctx
    assert back.limits.memory_mb == 256 and back.task_hashes == {"task.py": "ab" * 32}
    assert (back.sandbox_layers, back.allow_weak, back.threads) == ("auto", False, 1)
