"""The local executor: jobs beyond its workers wait in the driver, and a kill withdraws them."""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

from evoforge.executors.local import LocalExecutor
from evoforge.runner import Job, RunContext
from evoforge.sandbox import Limits

from experiment_helpers import processes_with

SLEEPER = """import pathlib, sys, time
pathlib.Path(sys.argv[1], NAME).write_text("started")
time.sleep(60)
"""


def _experiment(tmp_path: Path) -> Path:
    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / "task.py").write_text(
        "from evoforge.tasks import Task\n"
        "class T(Task):\n"
        "    def prepare(self, workdir, *, seed): pass\n"
        "    def score(self, workdir): return {'x': 1.0}\n"
        "task = T()\n"
    )
    return exp


def test_a_kill_withdraws_waiting_jobs_and_leaves_no_candidate_running(tmp_path: Path) -> None:
    mark = f"evoforge-sleeper-{uuid.uuid4().hex}"
    started = tmp_path / "started"
    started.mkdir()
    ctx = RunContext(
        experiment=_experiment(tmp_path),
        task_module="task.py",
        task_object="task",
        command=(sys.executable, "prog.py", str(started), mark),
        limits=Limits(wall_seconds=60, memory_mb=1024),
        heldout=(),
        scratch_root=tmp_path / "scratch",
        active_dir=tmp_path / "active",
        sandbox_layers="process",
    )
    ctx.active_dir.mkdir()
    executor = LocalExecutor(ctx, workers=2)
    for i in range(6):  # 2 run, 4 wait (re-runs queued behind every worker)
        files = {"prog.py": SLEEPER.replace("NAME", repr(f"{mark}-{i}"))}
        executor.submit(Job(i + 1, files, 1, seed=i))
    assert executor.in_flight() == 6 and executor.waiting() == 4
    deadline = time.monotonic() + 30
    while len(list(started.iterdir())) < 2 and time.monotonic() < deadline:
        executor.poll(timeout=0.1)
    assert len(list(started.iterdir())) == 2
    assert len(processes_with(mark)) == 2
    t0 = time.monotonic()
    executor.shutdown(kill=True)
    assert time.monotonic() - t0 < 2.0
    time.sleep(0.5)  # a queued job that slipped through would have started by now
    assert sorted(p.name for p in started.iterdir()) == [f"{mark}-0", f"{mark}-1"]
    assert processes_with(mark) == []
    assert executor.in_flight() == 0
