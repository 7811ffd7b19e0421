"""kill -9 of the driver mid-run, then `evoforge resume`: nothing lost, nothing duplicated."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from experiment_helpers import set_config

EVOFORGE = [sys.executable, "-m", "evoforge.cli"]


def rows(archive: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"file:{archive}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def wait_for(predicate: Callable[[], object], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def test_kill_9_then_resume_loses_and_duplicates_nothing(minimal_experiment: Path) -> None:
    exp = minimal_experiment
    prog = exp / "program.py"
    prog.write_text("import time\ntime.sleep(0.4)\n" + prog.read_text())
    set_config(exp, "candidates = 40", "candidates = 16")
    set_config(exp, "[proposer]", '[sandbox]\nlayers = "process"\n\n[proposer]')
    driver = subprocess.Popen(
        [*EVOFORGE, "run", str(exp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    runs = exp / "runs"
    wait_for(
        lambda: runs.is_dir() and any((r / "archive.sqlite").exists() for r in runs.iterdir()), 30
    )
    run = next(runs.iterdir())
    archive = run / "archive.sqlite"

    def finished() -> int:
        try:
            return len(
                rows(archive, "SELECT id FROM candidates WHERE status IN ('succeeded','failed')")
            )
        except sqlite3.OperationalError:
            return 0

    def running() -> int:
        return len(rows(archive, "SELECT id FROM candidates WHERE status='running'"))

    wait_for(lambda: finished() >= 5 and running() >= 1, 60)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    before = rows(
        archive,
        "SELECT id, code_hash, status, metrics FROM candidates WHERE status IN ('succeeded','failed')",
    )
    interrupted = {r[0] for r in rows(archive, "SELECT id FROM candidates WHERE status='running'")}
    assert interrupted, "the kill must catch candidates in flight"

    # the workers and their candidates die with the driver (PDEATHSIG chain)
    pgids = [int(p.read_text()) for p in (run / "active").iterdir() if p.read_text().strip()]

    def all_dead() -> bool:
        for pgid in pgids:
            try:
                os.killpg(pgid, 0)
                return False
            except ProcessLookupError:
                pass
        return True

    wait_for(all_dead, 10)

    resumed = subprocess.run(
        [*EVOFORGE, "resume", str(run)], capture_output=True, text=True, timeout=120
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "state: finished" in resumed.stdout

    after = rows(archive, "SELECT id, code_hash, status, metrics, attempts FROM candidates")
    by_id = {r[0]: r for r in after}
    # nothing lost: every candidate finished before the kill is there, unchanged
    for cid, code, status, metrics in before:
        assert by_id[cid][1:4] == (code, status, metrics)
    # nothing left running, budget met exactly, interrupted ones were run again
    assert not [r for r in after if r[2] in ("running", "pending")]
    evaluated = [r for r in after if r[2] in ("succeeded", "failed")]
    assert len(evaluated) == 16
    assert all(by_id[i][4] == 2 and by_id[i][2] in ("succeeded", "failed") for i in interrupted)
    # nothing duplicated: each program was evaluated once
    codes = [r[1] for r in evaluated]
    assert len(codes) == len(set(codes))
