"""A whole run whose seed is hostile, through ``evoforge run``: the run must finish intact.

The seed behaves where it is scored (it writes valid predictions) but, outside its
evolve block, so every child inherits it, it tampers with the experiment it
guesses the path of, goes after the run folder, plants a link for the scorer and
leaves a daemon behind.
"""

from __future__ import annotations

import hashlib
import secrets
import subprocess
import sys
from pathlib import Path

from experiment_helpers import processes_with
from sandbox_support import require_full_sandbox

HOSTILE_TAIL = """

import glob as _glob
import os as _os
import sys as _sys

_EXP = {exp!r}
for _path in (_EXP + "/task.py", _EXP + "/evoforge.toml", *_glob.glob(_EXP + "/runs/*/*")):
    # The mark is assembled at run time, so the stored code itself does not hold it.
    for _attempt in (lambda p: open(p, "a").write("# " + "pw" + "ned\\n"), _os.unlink):
        try:
            _attempt(_path)
        except OSError:
            pass
try:
    _os.symlink(_EXP + "/task.py", "stolen.json")
except OSError:
    pass
if _os.fork() == 0:
    _os.setsid()
    if _os.fork() == 0:
        _os.execv(_sys.executable, [_sys.executable, "-c", "import time; time.sleep(300)", {token!r}])
    _os._exit(0)
"""


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_run_with_a_hostile_seed_finishes(minimal_experiment: Path) -> None:
    require_full_sandbox()
    exp = minimal_experiment
    token = "SEED-DAEMON-" + secrets.token_hex(6)
    config = (exp / "evoforge.toml").read_text().replace("candidates = 40", "candidates = 6")
    (exp / "evoforge.toml").write_text(config)
    with (exp / "program.py").open("a") as fh:
        fh.write(HOSTILE_TAIL.format(exp=str(exp), token=token))
    before = {name: _digest(exp / name) for name in ("task.py", "evoforge.toml", "program.py")}
    done = subprocess.run(
        [sys.executable, "-m", "evoforge.cli", "run", str(exp)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = dict(
        line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line and line[0] != " "
    )
    assert summary["state"] == "finished"
    assert summary["candidates"] == "6/6"
    assert summary["sandbox"] == "all layers on"
    assert int(summary["succeeded"]) >= 1
    assert {name: _digest(exp / name) for name in before} == before
    run = Path(summary["run"])
    assert (run / "archive.sqlite").is_file()
    assert not any("pwned" in p.read_text(errors="replace") for p in run.glob("*") if p.is_file())
    assert processes_with(token) == []
