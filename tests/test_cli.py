"""The command line, as a user runs it: real processes, real run folders."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

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
