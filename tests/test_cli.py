"""The command line, as a user runs it: real processes, real run folders."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from evoforge.archive import SQLiteArchive
from evoforge.governance.audit import AuditLog
from evoforge.governance.rundir import RunDir

from experiment_helpers import set_config

EVOFORGE = [sys.executable, "-m", "evoforge.cli"]
COMMANDS = ["init", "run", "resume", "status", "best", "show", "diff", "stop"]


def cli(*args: str, cwd: Path | None = None, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*EVOFORGE, *args], capture_output=True, text=True, cwd=cwd, timeout=180)
    if ok:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def summary(text: str) -> dict[str, str]:
    return dict(
        line.split(": ", 1)
        for line in text.splitlines()
        if ": " in line and not line.startswith(" ")
    )


@pytest.fixture
def finished_run(minimal_experiment: Path) -> Path:
    set_config(minimal_experiment, "candidates = 40", "candidates = 12")
    set_config(minimal_experiment, "[proposer]", '[sandbox]\nlayers = "process"\n\n[proposer]')
    out = cli("run", str(minimal_experiment)).stdout
    return Path(summary(out)["run"])


def test_every_command_has_help() -> None:
    top = cli("--help").stdout
    for name in COMMANDS:
        assert name in top
        assert "Usage" in cli(name, "--help").stdout


def test_init_scaffolds_a_runnable_experiment(tmp_path: Path) -> None:
    out = cli("init", str(tmp_path / "new")).stdout
    assert "created" in out
    assert (tmp_path / "new" / "evoforge.toml").is_file()
    again = cli("init", str(tmp_path / "new"), ok=False)
    assert again.returncode == 2 and "not empty" in again.stderr
    bad = cli("init", str(tmp_path / "x"), "--template", "nope", ok=False)
    assert "no template 'nope'" in bad.stderr


def test_run_prints_a_greppable_summary(finished_run: Path) -> None:
    s = summary(cli("status", str(finished_run)).stdout)
    assert s["state"] == "finished"
    assert s["candidates"] == "12/12"
    assert float(s["champion_neg_mse"]) >= float(s["seed_neg_mse"])
    assert s["champion_heldout_neg_mse"].endswith("(held-out)")


def test_best_show_and_diff(finished_run: Path) -> None:
    best = cli("best", str(finished_run)).stdout
    assert "--- program.py ---" in best and "EVOLVE-BLOCK-START" in best
    champ = summary(best)["candidate"].lstrip("#")
    shown = cli("show", str(finished_run), champ).stdout
    assert summary(shown)["status"] == "succeeded"
    seed = cli("show", str(finished_run), "1").stdout
    assert summary(seed)["proposer"] == "seed/seed"
    d = cli("diff", str(finished_run), champ, "1").stdout
    assert d.startswith("--- a/program.py") or champ == "1"


def test_commands_find_the_newest_run_from_the_experiment_folder(finished_run: Path) -> None:
    exp = finished_run.parent.parent
    assert summary(cli("status", cwd=exp).stdout)["run"] == str(finished_run)
    assert summary(cli("show", "1", cwd=exp).stdout)["candidate"] == "#1"


def test_clear_errors_for_bad_input(finished_run: Path, tmp_path: Path) -> None:
    missing = cli("show", str(finished_run), "999", ok=False)
    assert missing.returncode == 2 and "no candidate 999" in missing.stderr
    assert "candidate id" in cli("show", str(finished_run), ok=False).stderr
    assert "not a run folder" in cli("status", str(tmp_path), ok=False).stderr
    assert "not an experiment folder" in cli("run", str(tmp_path / "nope"), ok=False).stderr


def test_stop_then_resume(minimal_experiment: Path) -> None:
    prog = minimal_experiment / "program.py"
    prog.write_text("import time\ntime.sleep(0.5)\n" + prog.read_text())
    set_config(minimal_experiment, "candidates = 40", "candidates = 10")
    set_config(minimal_experiment, "[proposer]", '[sandbox]\nlayers = "process"\n\n[proposer]')
    driver = subprocess.Popen(
        [*EVOFORGE, "run", str(minimal_experiment)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    runs = minimal_experiment / "runs"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (
        runs.is_dir() and any(runs.iterdir()) and any((next(runs.iterdir()) / "active").iterdir())
    ):
        time.sleep(0.05)
    run = next(runs.iterdir())
    stopped = summary(cli("stop", str(run)).stdout)
    assert stopped["state"] == "stopped"
    out, _ = driver.communicate(timeout=30)
    assert driver.returncode == 0
    assert summary(out)["state"] == "stopped"
    assert not list((run / "active").iterdir())  # no candidate left behind
    resumed = summary(cli("resume", str(run)).stdout)
    assert resumed["state"] == "finished" and resumed["candidates"] == "10/10"
    assert resumed["pending"] == "0"


HOSTILE = "\x1b[2J\x1b[Hchampion score: 0.99\r\u202e"
VISIBLE = "\\x1b[2J\\x1b[Hchampion score: 0.99\\r\\u202e"


def _no_terminal_controls(text: str) -> None:
    assert "\x1b" not in text and "\r" not in text and "\u202e" not in text


def _hostile_experiment(exp: Path, *, lines: str, candidates: int) -> None:
    prog = exp / "program.py"
    prog.write_text(lines + prog.read_text())
    set_config(exp, "candidates = 40", f"candidates = {candidates}")
    set_config(exp, "[proposer]", '[sandbox]\nlayers = "process"\n\n[proposer]')


def test_a_failing_seeds_output_reaches_the_terminal_escaped(minimal_experiment: Path) -> None:
    _hostile_experiment(
        minimal_experiment,
        lines=f"import sys\nprint({HOSTILE!a})\nsys.exit({HOSTILE!a} + '\\x1b[31m')\n",
        candidates=3,
    )
    ran = cli("run", str(minimal_experiment), ok=False)
    assert ran.returncode == 2 and "error: the seed program failed" in ran.stderr
    _no_terminal_controls(ran.stdout + ran.stderr)
    assert VISIBLE in ran.stderr
    shown = cli("show", str(minimal_experiment), "1").stdout
    _no_terminal_controls(shown)
    assert summary(shown)["failure"] == "exit code 1: \\u202e\\x1b[31m"  # its last line, after \r
    assert f"--- stdout (tail) ---\n{VISIBLE}" in shown
    assert f"--- stderr (tail) ---\n{VISIBLE}" in shown


def test_show_and_diff_print_a_candidates_output_and_code_escaped(
    minimal_experiment: Path,
) -> None:
    # A string literal in the diff's context lines (Python allows ESC and U+202E there, not
    # a raw \r); the output in every candidate's tails.
    prog = minimal_experiment / "program.py"
    banner = f'BANNER = "{HOSTILE.replace(chr(13), "")}"\n'
    prog.write_text(
        prog.read_text().replace("# EVOLVE-BLOCK-START\n", "# EVOLVE-BLOCK-START\n" + banner)
    )
    _hostile_experiment(minimal_experiment, lines=f"print({HOSTILE!a})\n", candidates=4)
    run = summary(cli("run", str(minimal_experiment)).stdout)["run"]
    shown = cli("show", run, "2").stdout
    _no_terminal_controls(shown)
    assert f"--- stdout (tail) ---\n{VISIBLE}" in shown
    diff = cli("diff", run, "2", "1").stdout
    _no_terminal_controls(diff)
    in_code = 'BANNER = "' + VISIBLE.replace("\\r", "") + '"\n'
    assert f" {in_code}" in diff and diff.startswith("--- a/program.py")
    code = cli("show", run, "2", "--code").stdout
    _no_terminal_controls(code)
    assert in_code in code


def _wait_for_status(run: Path, ready: Callable[[dict[str, str]], bool]) -> dict[str, str]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        s = summary(cli("status", str(run)).stdout)
        if ready(s):
            return s
        time.sleep(0.1)
    raise AssertionError(f"status never got there: {s}")


def _evaluated(s: dict[str, str]) -> int:
    return int(s["candidates"].split("/")[0])


def _assert_rate_over_elapsed(s: dict[str, str]) -> None:
    """candidates_per_minute is the candidates over elapsed_seconds (both as printed,
    rounded to 0.1 s and 0.01)."""
    elapsed, n = float(s["elapsed_seconds"]), _evaluated(s)
    low, high = n / ((elapsed + 0.05) / 60), n / (max(elapsed - 0.05, 1e-9) / 60)
    assert low - 0.005 <= float(s["candidates_per_minute"]) <= high + 0.005


def _start_driver(exp: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """`evoforge run EXP` in the background, and its run folder once it exists."""
    driver = subprocess.Popen([*EVOFORGE, "run", str(exp)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    runs = exp / "runs"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (runs.is_dir() and any(runs.iterdir())):
        time.sleep(0.05)
    return driver, next(runs.iterdir())


def test_status_while_running_counts_the_time_of_every_driver_session(
    minimal_experiment: Path,
) -> None:
    prog = minimal_experiment / "program.py"
    prog.write_text("import time\ntime.sleep(0.4)\n" + prog.read_text())
    set_config(minimal_experiment, "candidates = 40", "candidates = 6")
    set_config(minimal_experiment, "[proposer]", '[sandbox]\nlayers = "process"\n\n[proposer]')
    first, run = _start_driver(minimal_experiment)
    live = _wait_for_status(run, lambda s: s["state"] == "running" and _evaluated(s) >= 2)
    elapsed = float(live["elapsed_seconds"])
    assert elapsed > 0.0  # the time since the run began, not 0.0 until the session ends
    _assert_rate_over_elapsed(live)
    cli("stop", str(run))
    first.wait(timeout=30)
    stopped = summary(cli("status", str(run)).stdout)
    before, done_before = float(stopped["elapsed_seconds"]), _evaluated(stopped)
    assert before >= elapsed
    second = subprocess.Popen([*EVOFORGE, "resume", str(run)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    resumed = _wait_for_status(
        run, lambda s: s["state"] == "running" and _evaluated(s) > done_before
    )
    total = float(resumed["elapsed_seconds"])
    assert total > before  # earlier sessions plus this one, not frozen at the last save
    _assert_rate_over_elapsed(resumed)
    _, err = second.communicate(timeout=60)
    assert second.returncode == 0
    # The live lines of the resumed session count the earlier session's time too.
    rates = [float(line.rsplit("| ", 1)[1].removesuffix("/min")) for line in err.splitlines()
             if line.endswith("/min")]  # fmt: skip
    assert rates and rates[0] <= (done_before + 2) / (before / 60)


# -- errors at the start of a run and in trusted code --------------------------------


def _tiny(exp: Path, *, candidates: int = 6) -> None:
    """The template, small and quick: few candidates, the process sandbox."""
    set_config(exp, "candidates = 40", f"candidates = {candidates}")
    set_config(exp, "[proposer]", '[sandbox]\nlayers = "process"\n\n[proposer]')


def _failed_run(exp: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run the experiment, expecting an error; the run's status afterwards."""
    ran = cli("run", str(exp), ok=False)
    assert ran.returncode == 2, ran.stdout + ran.stderr
    (run,) = (exp / "runs").iterdir()
    return ran, summary(cli("status", str(run)).stdout)


def _error_line(ran: subprocess.CompletedProcess[str]) -> str:
    """The one error line, last on stderr (after any progress lines or traceback)."""
    errors = [line for line in ran.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and ran.stderr.rstrip().endswith(errors[0]), ran.stderr
    return errors[0]


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
    _tiny(minimal_experiment)
    set_config(minimal_experiment, old, new)
    ran, status = _failed_run(minimal_experiment)
    error = f"{message} (it returns: neg_mse, heldout_neg_mse); fix the name in evoforge.toml"
    assert _error_line(ran) == f"error: {error}"
    assert "Traceback" not in ran.stderr
    assert status["state"] == f"failed: {error}"
    # Nothing was proposed, and no record holds the held-out metric as a search metric.
    assert status["seed_status"] == "pending" and status["candidates"] == "0/6"
    assert "seed_heldout_neg_mse" not in status


def test_status_tells_a_killed_driver_from_a_live_one(minimal_experiment: Path) -> None:
    prog = minimal_experiment / "program.py"
    prog.write_text("import time\ntime.sleep(0.5)\n" + prog.read_text())
    _tiny(minimal_experiment, candidates=20)
    driver, run = _start_driver(minimal_experiment)
    live = _wait_for_status(run, lambda s: s["state"] == "running")
    assert live["driver_pid"] == str(driver.pid)
    os.kill(driver.pid, signal.SIGKILL)
    stat = Path(f"/proc/{driver.pid}/stat")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and ") Z " not in stat.read_text():
        time.sleep(0.05)  # killed, not yet reaped: its pid still answers signals
    dead = summary(cli("status", str(run)).stdout)
    assert dead["state"] == (
        f"crashed (driver {driver.pid} is gone; resume with: evoforge resume {run})"
    )
    assert "driver_pid" not in dead
    driver.wait(timeout=10)
    assert summary(cli("status", str(run)).stdout)["state"] == dead["state"]


def test_a_seed_whose_evolve_block_breaks_the_constraints_stops_before_it_runs(
    minimal_experiment: Path,
) -> None:
    _tiny(minimal_experiment)
    prog = minimal_experiment / "program.py"
    start = "# EVOLVE-BLOCK-START\n"
    prog.write_text(prog.read_text().replace(start, start + "import os\nos.system('true')\n"))
    line = prog.read_text().splitlines().index("os.system('true')") + 1
    ran, status = _failed_run(minimal_experiment)
    error = (
        f"the seed's evolve block breaks the constraints: program.py:{line}: 'os.system' is "
        "forbidden (runs a shell command); fix the seed or [constraints]"
    )
    assert _error_line(ran) == f"error: {error}"
    assert status["state"] == f"failed: {error}"
    assert status["candidates"] == "0/6" and "seed_status" not in status  # it never ran
    again = cli("resume", str(minimal_experiment), ok=False)
    assert again.returncode == 2 and "ended before its seed was recorded" in again.stderr


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
    _tiny(minimal_experiment)
    set_config(minimal_experiment, "workers = 2", "workers = 2\nmax_task_errors = 2")
    task = minimal_experiment / "task.py"
    task.write_text(task.read_text() + SCORE_RAISES_FOR_CHILDREN)
    line = task.read_text().splitlines().index('        raise KeyError("val_auc")') + 1
    ran, status = _failed_run(minimal_experiment)
    error = f"the task raised 2 times: task.score raised KeyError: 'val_auc' (task.py:{line})"
    assert _error_line(ran) == f"error: {error}"
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
    _tiny(minimal_experiment)
    task = minimal_experiment / "task.py"
    nan = '{"neg_mse": float("nan"), "heldout_neg_mse": 0.0}'
    task.write_text(task.read_text() + f"\nCurveTask.score = lambda self, workdir: {nan}\n")
    ran, status = _failed_run(minimal_experiment)
    assert _error_line(ran).startswith(
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
    _tiny(minimal_experiment)
    if old.startswith("module"):
        set_config(minimal_experiment, old, new)
    else:
        task = minimal_experiment / "task.py"
        task.write_text(task.read_text().replace(old, new, 1))
        error = error.format(line=task.read_text().splitlines().index("def broken(:") + 1)
    ran, status = _failed_run(minimal_experiment)
    assert ran.stderr.startswith(f"error: {error}") and ran.stderr.count("\n") == 1, ran.stderr
    assert status["state"].startswith(f"failed: {error}")


def test_audit_show_prints_the_candidate_text_it_quotes_escaped(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    SQLiteArchive(run.archive).close()
    failure = f"#4 seed 7919: exit code 1: {HOSTILE}\nchampion_score: 0.99"
    AuditLog(run.audit).append("promotion_declined", candidate=4, failed_reruns=[failure])
    out = cli("audit", "show", str(run.path)).stdout
    _no_terminal_controls(out)
    assert len(out.splitlines()) == 1  # the quoted newline cannot start a line of its own
    assert f"exit code 1: {VISIBLE}\\nchampion_score: 0.99" in out


def test_a_run_halted_because_the_task_changed_exits_with_an_error(
    minimal_experiment: Path,
) -> None:
    task = minimal_experiment / "task.py"
    codes = [ord(ch) for ch in str(task)]  # assembled at run time, outside the evolve block
    prog = minimal_experiment / "program.py"
    prog.write_text(  # every child (not the seed) changes the task's file
        prog.read_text() + f"if A != 0.5:\n    open(''.join(map(chr, {codes})), 'a').write('#')\n"
    )
    set_config(minimal_experiment, "[proposer]", '[sandbox]\nlayers = "process"\n\n[proposer]')
    proc = cli("run", str(minimal_experiment), ok=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "error: the run was stopped: task files changed since the run started" in proc.stderr
    assert "state: stopped: task files changed" in proc.stdout
