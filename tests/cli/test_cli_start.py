"""The commands that start or continue work (``evoforge.cli.start``), as a user runs
them: init, run, resume. Real processes, real run folders."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from cli_helpers import (
    EVOFORGE,
    HOSTILE,
    VISIBLE,
    cli,
    error_line,
    failed_run,
    hostile_experiment,
    no_terminal_controls,
    summary,
    tiny,
)
from experiment_helpers import set_config


def test_init_scaffolds_a_runnable_experiment(tmp_path: Path) -> None:
    out = cli("init", str(tmp_path / "new")).stdout
    assert "created" in out
    assert (tmp_path / "new" / "evoforge.toml").is_file()
    again = cli("init", str(tmp_path / "new"), ok=False)
    assert again.returncode == 2 and "not empty" in again.stderr
    bad = cli("init", str(tmp_path / "x"), "--template", "nope", ok=False)
    assert "no template 'nope'" in bad.stderr


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


def test_a_failing_seeds_output_reaches_the_terminal_escaped(minimal_experiment: Path) -> None:
    hostile_experiment(
        minimal_experiment,
        lines=f"import sys\nprint({HOSTILE!a})\nsys.exit({HOSTILE!a} + '\\x1b[31m')\n",
        candidates=3,
    )
    ran = cli("run", str(minimal_experiment), ok=False)
    assert ran.returncode == 2 and "error: the seed program failed" in ran.stderr
    no_terminal_controls(ran.stdout + ran.stderr)
    assert VISIBLE in ran.stderr
    shown = cli("show", str(minimal_experiment), "1").stdout
    no_terminal_controls(shown)
    assert summary(shown)["failure"] == "exit code 1: \\u202e\\x1b[31m"  # its last line, after \r
    assert f"--- stdout (tail) ---\n{VISIBLE}" in shown
    assert f"--- stderr (tail) ---\n{VISIBLE}" in shown


def test_a_seed_whose_evolve_block_breaks_the_constraints_stops_before_it_runs(
    minimal_experiment: Path,
) -> None:
    tiny(minimal_experiment)
    prog = minimal_experiment / "program.py"
    start = "# EVOLVE-BLOCK-START\n"
    prog.write_text(prog.read_text().replace(start, start + "import os\nos.system('true')\n"))
    line = prog.read_text().splitlines().index("os.system('true')") + 1
    ran, status = failed_run(minimal_experiment)
    error = (
        f"the seed's evolve block breaks the constraints: program.py:{line}: 'os.system' is "
        "forbidden (runs a shell command); fix the seed or [constraints]"
    )
    assert error_line(ran) == f"error: {error}"
    assert status["state"] == f"failed: {error}"
    assert status["candidates"] == "0/6" and "seed_status" not in status  # it never ran
    again = cli("resume", str(minimal_experiment), ok=False)
    assert again.returncode == 2 and "ended before its seed was recorded" in again.stderr


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


def test_the_sklearn_template_runs_keeps_its_model_and_exports_it(tmp_path: Path) -> None:
    exp = tmp_path / "clf"
    assert "sklearn" in cli("init", "--help").stdout
    cli("init", str(exp), "--template", "sklearn")
    set_config(exp, "candidates = 40", "candidates = 6")
    set_config(exp, "reruns = 2", "reruns = 0")
    done = summary(cli("run", str(exp)).stdout)
    assert done["state"] == "finished" and float(done["champion_val_accuracy"]) > 0.9
    out = tmp_path / "model"
    cli("export", str(exp), "--out", str(out))
    note = json.loads((out / "candidate.json").read_text())
    assert note["artifacts"]["model.joblib"]["kept"] is True
    assert "C" in note["params"] and "MAX_DEPTH" in note["params"]
    check = (  # the kept model loads; train.py runs there and predicts as it did
        "import joblib, subprocess, sys, numpy as np\n"
        "kept = joblib.load('model.joblib').predict(np.load('val_x.npy'))\n"
        "subprocess.run([sys.executable, 'train.py'], check=True)\n"
        "print((kept == np.load('val_pred.npy')).all())\n"
    )
    proc = subprocess.run([sys.executable, "-c", check], cwd=out, capture_output=True, text=True)
    assert proc.stdout.strip().endswith("\nTrue"), proc.stdout + proc.stderr
