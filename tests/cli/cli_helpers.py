"""What the CLI tests share: the command as a user runs it (a real process), the
summary it prints, hostile text and tiny experiments that fail at the start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from experiment_helpers import set_config

EVOFORGE = [sys.executable, "-m", "evoforge.cli"]


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


HOSTILE = "\x1b[2J\x1b[Hchampion score: 0.99\r\u202e"
VISIBLE = "\\x1b[2J\\x1b[Hchampion score: 0.99\\r\\u202e"


def no_terminal_controls(text: str) -> None:
    assert "\x1b" not in text and "\r" not in text and "\u202e" not in text


def hostile_experiment(exp: Path, *, lines: str, candidates: int) -> None:
    prog = exp / "program.py"
    prog.write_text(lines + prog.read_text())
    set_config(exp, "candidates = 40", f"candidates = {candidates}")
    set_config(exp, "[proposer]", '[sandbox]\nlayers = "process"\n\n[proposer]')


def tiny(exp: Path, *, candidates: int = 6) -> None:
    """The template, small and quick: few candidates, the process sandbox."""
    set_config(exp, "candidates = 40", f"candidates = {candidates}")
    set_config(exp, "[proposer]", '[sandbox]\nlayers = "process"\n\n[proposer]')


def failed_run(exp: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run the experiment, expecting an error; the run's status afterwards."""
    ran = cli("run", str(exp), ok=False)
    assert ran.returncode == 2, ran.stdout + ran.stderr
    (run,) = (exp / "runs").iterdir()
    return ran, summary(cli("status", str(run)).stdout)


def error_line(ran: subprocess.CompletedProcess[str]) -> str:
    """The one error line, last on stderr (after any progress lines or traceback)."""
    errors = [line for line in ran.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and ran.stderr.rstrip().endswith(errors[0]), ran.stderr
    return errors[0]
