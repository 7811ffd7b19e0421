"""Workers that do not re-import the caller's main module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import os, sys
with open(sys.argv[1], "a") as fh:  # runs again wherever this file is imported
    fh.write(f"{os.getpid()}\\n")
from evoforge.spawn import spawn_context
import multiprocessing
ctx = spawn_context() if sys.argv[2] == "evoforge" else multiprocessing.get_context("spawn")
proc = ctx.Process(target=os.getpid)
proc.start()
proc.join(30)
print("exit", proc.exitcode)
"""


def _imports(tmp_path: Path, kind: str) -> int:
    script, marks = tmp_path / f"unguarded_{kind}.py", tmp_path / f"marks_{kind}"
    script.write_text(SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script), str(marks), kind], capture_output=True, text=True, timeout=60
    )
    assert "exit 0" in proc.stdout or kind != "evoforge", proc.stderr
    return len(marks.read_text().splitlines())


def test_a_worker_does_not_run_the_callers_unguarded_script_again(tmp_path: Path) -> None:
    assert _imports(tmp_path, "evoforge") == 1
    assert _imports(tmp_path, "plain") > 1  # what plain "spawn" does: the reason it exists


def test_a_worker_starts_from_a_heredoc() -> None:
    code = (
        "import os\nfrom evoforge.spawn import spawn_context\n"
        "p = spawn_context().Process(target=os.getpid)\np.start()\np.join(30)\nprint(p.exitcode)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-"], input=code, capture_output=True, text=True, timeout=60
    )
    assert proc.stdout.strip() == "0", proc.stderr
