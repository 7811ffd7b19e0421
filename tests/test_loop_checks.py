"""The loop's checks of the run's own inputs (the seed, the metric names the config
declares) and the words it finds for the seed's and the task's faults."""

from __future__ import annotations

import pytest

from evoforge.candidate import Candidate, Evaluation, Status
from evoforge.config import ConfigError
from evoforge.gates import ConstraintGate, EvolveRegionGate
from evoforge.loop_checks import (
    check_metric_names,
    check_seed,
    check_seed_metrics,
    seed_failure,
    seed_status,
    task_error_stop,
)

SEED = {"p.py": "# EVOLVE-BLOCK-START\nX = 0\n# EVOLVE-BLOCK-END\nprint(X)\n"}


def test_a_seed_within_the_constraints_passes() -> None:
    check_seed([EvolveRegionGate(), ConstraintGate()], SEED)


def test_a_seed_whose_block_holds_a_forbidden_call_is_the_runs_fault() -> None:
    seed = {"p.py": SEED["p.py"].replace("X = 0\n", "X = 0\nimport os\nos.system('ls')\n")}
    with pytest.raises(ConfigError) as info:
        check_seed([EvolveRegionGate(), ConstraintGate()], seed)
    assert str(info.value) == (
        "the seed's evolve block breaks the constraints: p.py:4: 'os.system' is forbidden "
        "(runs a shell command); fix the seed or [constraints]"
    )


def test_declared_metrics_the_task_returns_pass() -> None:
    check_metric_names({"[task] heldout": ["test"], "[task] gate": []}, ["score", "test"])


def test_a_mistyped_metric_name_suggests_the_returned_one_whatever_its_case() -> None:
    with pytest.raises(ConfigError) as info:
        check_metric_names({"[task] gate": ["Gate_Acc"]}, ["score", "gate_acc"])
    assert str(info.value) == (
        "[task] gate: 'Gate_Acc' (did you mean 'gate_acc'?) is not a metric the task returns "
        "(it returns: score, gate_acc); fix the name in evoforge.toml"
    )


def test_several_unknown_names_are_listed_together_without_a_far_fetched_guess() -> None:
    with pytest.raises(ConfigError) as info:
        check_metric_names(
            {"[task] heldout": ["tset", "zzz"], "[task] gate": ["qqq"]}, ["test", "test", "score"]
        )
    assert str(info.value) == (
        "[task] heldout: 'tset' (did you mean 'test'?), [task] heldout: 'zzz', "
        "[task] gate: 'qqq' are not metrics the task returns (it returns: test, score); "
        "fix the name in evoforge.toml"
    )


def test_a_task_that_returns_no_metric_is_said_to_return_nothing() -> None:
    with pytest.raises(ConfigError, match=r"\(it returns: nothing\)"):
        check_metric_names({"[task] objective": ["score"]}, [])


def test_the_seeds_metrics_are_checked_with_its_held_out_ones_and_the_objective() -> None:
    ev = Evaluation(ok=True, metrics={"score": 1.0}, heldout={"test": 0.5})
    check_seed_metrics("score", {"[task] heldout": ["test"]}, ev)
    with pytest.raises(ConfigError, match=r"^\[task\] objective: 'test' is not a metric"):
        check_seed_metrics("test", {}, Evaluation(ok=True, metrics={"score": 1.0}))
    with pytest.raises(ConfigError, match=r"^\[task\] objective: 'scor' \(did you mean"):
        check_seed_metrics("scor", {"[task] heldout": ["test"]}, ev)


def test_a_seed_the_task_never_scored_has_no_metric_names_to_check() -> None:
    check_seed_metrics("score", {"[task] heldout": ["test"]}, Evaluation(ok=False, failure="x"))


def test_a_non_finite_metric_of_the_seed_blames_the_tasks_score() -> None:
    ev = Evaluation(
        ok=False, metrics={"score": float("inf")}, heldout={"test": float("nan")},
        failure="non-finite", flags=("jump", "non_finite:score", "non_finite:test"),
    )  # fmt: skip
    assert seed_failure(ev, "stderr") == (
        "task.score returned a non-finite metric score=inf, test=nan for the seed "
        "(check the task's score, and the seed's outputs it reads)"
    )


def test_a_metric_of_the_seed_out_of_its_bounds_blames_the_task() -> None:
    ev = Evaluation(ok=False, failure="acc=2 is outside [0, 1]", flags=("out_of_bounds:acc",))
    assert seed_failure(ev, "ignored") == (
        "task.score returned an invalid metric for the seed: acc=2 is outside [0, 1]"
    )


def test_any_other_seed_failure_blames_the_program_with_the_end_of_its_stderr() -> None:
    stderr = "A" * 2000 + "Z" * 1500
    text = seed_failure(Evaluation(ok=False, failure="exit code 1"), stderr)
    assert text == "the seed program failed: exit code 1\n" + "Z" * 1500


def test_the_seeds_status_says_why_with_its_failure_when_it_has_one() -> None:
    assert seed_status(Candidate(id=1, code_hash="h", status=Status.PENDING)) == (
        "the seed is pending"
    )
    failed = Candidate(id=1, code_hash="h", status=Status.FAILED, failure="exit code 2")
    assert seed_status(failed) == "the seed is failed: exit code 2"


def test_a_task_error_on_the_seed_stops_at_once_and_otherwise_at_the_limit() -> None:
    assert task_error_stop("boom", seed=True, count=1, limit=3) == (
        "the task raised on the seed: boom"
    )
    assert task_error_stop("boom", seed=False, count=2, limit=3) is None
    assert task_error_stop("boom", seed=False, count=3, limit=3) == (
        "the task raised 3 times: boom"
    )
