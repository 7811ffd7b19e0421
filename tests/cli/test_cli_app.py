"""The command line as a whole (``evoforge.cli.app``), as a user runs it: every command
registered with its help; errors at the start of a run and in trusted code end in one
``error:`` line and exit code 2. Real processes, real run folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_helpers import cli, error_line, failed_run, tiny
from experiment_helpers import set_config

COMMANDS = ["init", "run", "resume", "status", "best", "show", "diff", "stop"]


def test_every_command_has_help() -> None:
    top = cli("--help").stdout
    for name in COMMANDS:
        assert name in top
        assert "Usage" in cli(name, "--help").stdout


# -- errors at the start of a run and in trusted code --------------------------------


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'heldout = ["heldout_neg_mse"]',
            'heldout = ["helduot_neg_mse"]',
            "[task] heldout: 'helduot_neg_mse' (did you mean 'heldout_neg_mse'?) is not a metric the task returns",
        ),
        (
            'objective = "neg_mse"',
            'objective = "neg_MSE"',
            "[task] objective: 'neg_MSE' (did you mean 'neg_mse'?) is not a metric the task returns",
        ),
        (
            'heldout = ["heldout_neg_mse"]',
            'heldout = ["heldout_neg_mse"]\ngate = ["gaet_neg_mse"]',
            "[task] gate: 'gaet_neg_mse' (did you mean 'heldout_neg_mse'?) is not a metric the task returns",
        ),
    ],
    ids=["heldout", "objective", "gate"],
)
def test_a_metric_name_the_task_does_not_return_ends_the_run_with_the_names_it_returns(
    minimal_experiment: Path, old: str, new: str, message: str
) -> None:
    tiny(minimal_experiment)
    set_config(minimal_experiment, old, new)
    ran, status = failed_run(minimal_experiment)
    error = f"{message} (it returns: neg_mse, heldout_neg_mse); fix the name in evoforge.toml"
    assert error_line(ran) == f"error: {error}"
    assert "Traceback" not in ran.stderr
    assert status["state"] == f"failed: {error}"
    # Nothing was proposed, and no record holds the held-out metric as a search metric.
    assert status["seed_status"] == "pending" and status["candidates"] == "0/6"
    assert "seed_heldout_neg_mse" not in status


# Replaces the task's score: it raises for every program but the seed.
SCORE_RAISES_FOR_CHILDREN = """

_score = CurveTask.score


def _score_the_seed_only(self, workdir):
    if (workdir / "program.py").read_text() != (Path(__file__).parent / "program.py").read_text():
        raise KeyError("val_auc")
    return _score(self, workdir)


CurveTask.score = _score_the_seed_only
"""


def test_a_task_that_raises_stops_the_run_loudly_without_charging_candidates(
    minimal_experiment: Path,
) -> None:
    tiny(minimal_experiment)
    set_config(minimal_experiment, "workers = 2", "workers = 2\nmax_task_errors = 2")
    task = minimal_experiment / "task.py"
    task.write_text(task.read_text() + SCORE_RAISES_FOR_CHILDREN)
    line = task.read_text().splitlines().index('        raise KeyError("val_auc")') + 1
    ran, status = failed_run(minimal_experiment)
    error = f"the task raised 2 times: task.score raised KeyError: 'val_auc' (task.py:{line})"
    assert error_line(ran) == f"error: {error}"
    assert "Traceback (most recent call last)" in ran.stderr  # the task's, for its author
    progress = [ln for ln in ran.stderr.splitlines() if "] #" in ln and "seed" not in ln]
    assert progress and all(f"task.score raised KeyError: 'val_auc' (task.py:{line})" in ln
                            for ln in progress)  # fmt: skip
    assert status["state"] == f"stopped: {error}"
    assert status["candidates"] == "1/6" and status["failed"] == "0"  # only the seed counted
    assert int(status["pending"]) >= 2  # run again on resume
    audit = cli("audit", "show", status["run"]).stdout
    assert audit.count(" task_error ") == 2


def test_a_task_returning_nan_for_the_seed_is_blamed_on_the_task(
    minimal_experiment: Path,
) -> None:
    tiny(minimal_experiment)
    task = minimal_experiment / "task.py"
    nan = '{"neg_mse": float("nan"), "heldout_neg_mse": 0.0}'
    task.write_text(task.read_text() + f"\nCurveTask.score = lambda self, workdir: {nan}\n")
    ran, status = failed_run(minimal_experiment)
    assert error_line(ran).startswith(
        "error: task.score returned a non-finite metric neg_mse=nan for the seed"
    )
    assert "the seed program failed" not in ran.stderr
    assert status["state"].startswith("failed: task.score returned a non-finite metric")


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        (
            'module = "task.py"',
            'module = "task.py"\nobject = "tsak"',
            "task.py: defines no 'tsak' (the name in [task] object); "
            "task objects it defines: CurveTask, task",
        ),
        ("import json\n", "import json\ndef broken(:\n", "task.py:{line}: SyntaxError:"),
    ],
    ids=["mistyped object", "syntax error"],
)
def test_task_module_errors_are_one_line_naming_file_and_line(
    minimal_experiment: Path, old: str, new: str, error: str
) -> None:
    tiny(minimal_experiment)
    if old.startswith("module"):
        set_config(minimal_experiment, old, new)
    else:
        task = minimal_experiment / "task.py"
        task.write_text(task.read_text().replace(old, new, 1))
        error = error.format(line=task.read_text().splitlines().index("def broken(:") + 1)
    ran, status = failed_run(minimal_experiment)
    assert ran.stderr.startswith(f"error: {error}") and ran.stderr.count("\n") == 1, ran.stderr
    assert status["state"].startswith(f"failed: {error}")
