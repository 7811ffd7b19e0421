"""The commands that read or decide about a run (``evoforge.cli.review``), as a user runs
them: status, best, show, diff, stop, audit. Real processes, real run folders."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from evoforge.archive import SQLiteArchive
from evoforge.governance.audit import AuditLog
from evoforge.governance.rundir import RunDir

from cli_helpers import (
    EVOFORGE,
    HOSTILE,
    VISIBLE,
    cli,
    hostile_experiment,
    no_terminal_controls,
    summary,
    tiny,
)
from experiment_helpers import set_config


@pytest.fixture
def finished_run(minimal_experiment: Path) -> Path:
    set_config(minimal_experiment, "candidates = 40", "candidates = 12")
    set_config(minimal_experiment, "[proposer]", '[sandbox]\nlayers = "process"\n\n[proposer]')
    out = cli("run", str(minimal_experiment)).stdout
    return Path(summary(out)["run"])


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
    hostile_experiment(minimal_experiment, lines=f"print({HOSTILE!a})\n", candidates=4)
    run = summary(cli("run", str(minimal_experiment)).stdout)["run"]
    shown = cli("show", run, "2").stdout
    no_terminal_controls(shown)
    assert f"--- stdout (tail) ---\n{VISIBLE}" in shown
    diff = cli("diff", run, "2", "1").stdout
    no_terminal_controls(diff)
    in_code = 'BANNER = "' + VISIBLE.replace("\\r", "") + '"\n'
    assert f" {in_code}" in diff and diff.startswith("--- a/program.py")
    code = cli("show", run, "2", "--code").stdout
    no_terminal_controls(code)
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
    # Enough candidates that work is left when the stop (a CLI process) lands and again
    # when the resumed session's status is read (12 ran out on a slow machine).
    set_config(minimal_experiment, "candidates = 40", "candidates = 24")
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


def test_status_tells_a_killed_driver_from_a_live_one(minimal_experiment: Path) -> None:
    prog = minimal_experiment / "program.py"
    prog.write_text("import time\ntime.sleep(0.5)\n" + prog.read_text())
    tiny(minimal_experiment, candidates=20)
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


def test_audit_show_prints_the_candidate_text_it_quotes_escaped(tmp_path: Path) -> None:
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    SQLiteArchive(run.archive).close()
    failure = f"#4 seed 7919: exit code 1: {HOSTILE}\nchampion_score: 0.99"
    AuditLog(run.audit).append("promotion_declined", candidate=4, failed_reruns=[failure])
    out = cli("audit", "show", str(run.path)).stdout
    no_terminal_controls(out)
    assert len(out.splitlines()) == 1  # the quoted newline cannot start a line of its own
    assert f"exit code 1: {VISIBLE}\\nchampion_score: 0.99" in out
