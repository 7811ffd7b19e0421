"""`stop --now` with busy candidates: every candidate process is gone within 2 seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from evoforge.governance.rundir import RunDir

from experiment_helpers import processes_with
from gov_helpers import EVOFORGE, cli, summary, write_experiment

BUSY = """import json
import subprocess
import sys

MARK = "{mark}"
if MARK not in sys.argv:  # re-exec so the candidate's own command line carries the mark
    import os
    os.execv(sys.executable, [sys.executable, "program.py", MARK])

# EVOLVE-BLOCK-START
QUALITY = 0.5  # evolve: float[0.0, 0.9]
# EVOLVE-BLOCK-END

if QUALITY != 0.5:  # every child of the seed is busy, with busy children of its own
    for _ in range(2):
        subprocess.Popen([sys.executable, "-c", "while True: pass", MARK])
    while True:
        pass
json.dump({{"quality": QUALITY, "heldout": QUALITY, "offset": 0, "hits": 0}}, open("out.json", "w"))
"""


@pytest.mark.parametrize("layers", ["process", "auto"])
def test_stop_now_kills_every_candidate_within_two_seconds_then_resume(
    tmp_path: Path, layers: str
) -> None:
    mark = f"evoforge-busy-{uuid.uuid4().hex}"
    exp = write_experiment(tmp_path / "exp", candidates=4)
    (exp / "program.py").write_text(BUSY.format(mark=mark))
    config = exp / "evoforge.toml"
    config.write_text(
        config.read_text()
        .replace('layers = "process"', f'layers = "{layers}"')
        .replace("wall_seconds = 20", "wall_seconds = 4")
    )
    driver = subprocess.Popen(
        [*EVOFORGE, "run", str(exp)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while (
            len(processes_with(mark)) < 4 and time.monotonic() < deadline
        ):  # 2 busy candidates, 2+ children
            time.sleep(0.1)
        assert len(processes_with(mark)) >= 4, "the busy candidates never started"
        run = next((exp / "runs").iterdir())
        started = time.monotonic()
        cli("stop", str(run), "--now")
        while processes_with(mark) and time.monotonic() - started < 2.0:
            time.sleep(0.05)
        assert processes_with(mark) == [], (
            f"still alive {time.monotonic() - started:.2f}s after stop: {processes_with(mark)}"
        )
        out, _ = driver.communicate(timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert summary(out)["state"] == "stopped"
    resumed = summary(cli("resume", str(run)).stdout)
    assert resumed["state"] == "finished" and resumed["candidates"] == "4/4"
    assert processes_with(mark) == []


RERUN_BUSY = """import json
import os
import sys

MARK = "{mark}"
if os.environ.get("EVOFORGE_SEED", "0") != "0":  # a confirmation re-run: busy, marked
    if MARK not in sys.argv:
        os.execv(sys.executable, [sys.executable, "program.py", MARK])
    while True:
        pass

# EVOLVE-BLOCK-START
QUALITY = 0.5  # evolve: float[0.0, 0.9]
# EVOLVE-BLOCK-END

json.dump({{"quality": QUALITY, "heldout": QUALITY, "offset": 0, "hits": 0}}, open("out.json", "w"))
"""


@pytest.mark.parametrize("layers", ["process", "auto"])
def test_stop_now_withdraws_queued_reruns_and_kills_the_running_ones(
    tmp_path: Path, layers: str
) -> None:
    """Re-runs queued behind every worker: none starts after the stop, none is waited for."""
    mark = f"evoforge-rerun-{uuid.uuid4().hex}"
    exp = write_experiment(tmp_path / "exp", candidates=12, promotion="reruns = 3")
    (exp / "program.py").write_text(RERUN_BUSY.format(mark=mark))
    config = exp / "evoforge.toml"
    config.write_text(config.read_text().replace('layers = "process"', f'layers = "{layers}"'))
    driver = subprocess.Popen(
        [*EVOFORGE, "run", str(exp)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while len(processes_with(mark)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)  # two re-runs busy on the two workers, four more queued
        assert len(processes_with(mark)) >= 2, "the re-runs never started"
        run = RunDir(next((exp / "runs").iterdir()))
        pid = run.driver_pid()
        assert pid is not None
        # What `evoforge stop --now` does, timed from the request (not from the start of
        # a second interpreter, which a loaded machine can make slow).
        run.request_stop("now")
        os.kill(pid, signal.SIGTERM)
        started = time.monotonic()
        seen_after: list[int] = []
        while time.monotonic() - started < 3.0:
            if time.monotonic() - started > 2.0:
                seen_after += processes_with(mark)
            time.sleep(0.05)
        assert seen_after == [], f"candidates alive 2-3 s after the stop: {seen_after}"
        # The driver is gone too, not waiting out the 20 s wall limit of a late re-run.
        out, _ = driver.communicate(timeout=10)
    finally:
        if driver.poll() is None:
            driver.kill()
        driver.communicate()
    assert summary(out)["state"] == "stopped"
