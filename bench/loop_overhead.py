"""Framework overhead per candidate, as the archive grows to 1,000 candidates.

The candidate does nothing (a Python process that exits), so everything measured
is evoforge: proposing (mutator), gating, recording in SQLite (WAL, FULL sync),
dispatching to 2 local workers, preparing the scratch folder, spawning the
process, scoring. In the same run it measures the baseline: spawning the same
do-nothing process from 2 threads with no framework around it.

Printed per window of 100 candidates: the driver's own time per candidate
(everything in the driver except waiting for workers) and the throughput. The
driver time must stay flat as the archive grows.

    .venv/bin/python bench/loop_overhead.py [--candidates 1000]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from evoforge.archive import SQLiteArchive
from evoforge.candidate import Candidate, Evaluation
from evoforge.config import TaskSection
from evoforge.executors import LocalExecutor
from evoforge.gates import EvolveRegionGate
from evoforge.governance.audit import AuditLog
from evoforge.governance.promotion import Promoter
from evoforge.governance.run_audit import Audit
from evoforge.loop import Loop
from evoforge.loop_state import Budget, Stats
from evoforge.proposers.mutate import Mutator
from evoforge.runner import Job, RunContext
from evoforge.sandbox._base import Limits
from evoforge.selection import AgingTournament

PROGRAM = """# EVOLVE-BLOCK-START
X = 1.0  # evolve: log[1e-6, 1e6]
Y = 1.0  # evolve: log[1e-6, 1e6]
# EVOLVE-BLOCK-END
"""
TASK = """from pathlib import Path
from evoforge.tasks import Task

class Nothing(Task):
    def prepare(self, workdir: Path, *, seed: int) -> None:
        (workdir / "input.txt").write_text("x")

    def score(self, workdir: Path) -> dict[str, float]:
        return {"score": 0.0}

task = Nothing()
"""
COMMAND = ("{python}", "-S", "-I", "program.py")


class TimedExecutor(LocalExecutor):
    """Counts the time the driver spends blocked waiting for workers."""

    waited = 0.0

    def poll(self, timeout: float) -> list[tuple[Job, Evaluation]]:
        t = time.perf_counter()
        try:
            return super().poll(timeout)
        finally:
            self.waited += time.perf_counter() - t


class Recorder:
    def __init__(self, executor: TimedExecutor) -> None:
        self.executor = executor
        self.marks: list[tuple[float, float]] = []  # (wall, waited) at each finish

    def update(self, stats: Stats, finished: Candidate | None) -> None:
        if finished is not None:
            self.marks.append((time.perf_counter(), self.executor.waited))


def baseline(n: int, workers: int) -> float:
    """Candidates per second for bare spawns of the same process, 2 at a time."""
    with tempfile.TemporaryDirectory() as d:
        Path(d, "program.py").write_text(PROGRAM)
        argv = [sys.executable, *COMMAND[1:]]
        t = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda _: subprocess.run(argv, cwd=d, check=True), range(n)))
        return n / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--candidates", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--window", type=int, default=100)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as d:
        exp = Path(d)
        (exp / "program.py").write_text(PROGRAM)
        (exp / "task.py").write_text(TASK)
        (exp / "active").mkdir()
        archive = SQLiteArchive(exp / "archive.sqlite")
        audit = Audit(AuditLog(exp / "audit.jsonl"), archive)
        ctx = RunContext(
            experiment=exp, task_module="task.py", task_object="task", command=COMMAND,
            limits=Limits(wall_seconds=30), heldout=(), scratch_root=exp / "scratch",
            active_dir=exp / "active", sandbox_layers="process",
        )  # fmt: skip
        executor = TimedExecutor(ctx, workers=args.workers)
        recorder = Recorder(executor)
        loop = Loop(
            archive=archive, executor=executor, proposer=Mutator(),
            selector=AgingTournament(), gates=[EvolveRegionGate()],
            seed_files={"program.py": PROGRAM}, objective="score", maximize=True,
            budget=Budget(candidates=args.candidates, deadline=None, max_consecutive_rejections=200), workers=args.workers,
            promoter=Promoter(archive, audit, TaskSection(objective="score")),
            audit=audit, observer=recorder,
        )  # fmt: skip
        start = time.perf_counter()
        loop.run()
        total = time.perf_counter() - start
        size = archive.size()
        archive.close()

    base = baseline(300, args.workers)
    marks = [(start, 0.0), *recorder.marks]
    print(f"candidates: {len(recorder.marks)} evaluated, {size} recorded (incl. duplicates)")
    print(f"{'archive size':>14} {'driver ms/cand':>15} {'cand/s':>8}")
    driver_ms: list[float] = []
    for i in range(0, len(marks) - 1, args.window):
        a, b = marks[i], marks[min(i + args.window, len(marks) - 1)]
        n = min(args.window, len(marks) - 1 - i)
        wall, waited = b[0] - a[0], b[1] - a[1]
        per = (wall - waited) / n * 1000
        driver_ms.append(per)
        print(f"{i:>6}-{i + n:<7} {per:>15.2f} {n / wall:>8.1f}")
    rate = len(recorder.marks) / total
    print(f"loop_candidates_per_second: {rate:.1f}")
    print(f"bare_spawn_candidates_per_second: {base:.1f}")
    print(f"loop_vs_bare_throughput: {rate / base:.2f}")
    print(
        f"overhead_ms_per_candidate (2 workers, vs bare spawn): {(1 / rate - 1 / base) * 1000:.1f}"
    )
    print(f"driver_ms_per_candidate_first_window: {driver_ms[0]:.2f}")
    print(f"driver_ms_per_candidate_last_window: {driver_ms[-1]:.2f}")
    print(f"driver_growth_last_vs_first: {driver_ms[-1] / driver_ms[0]:.2f}")
    print(f"driver_median_ms_per_candidate: {statistics.median(driver_ms):.2f}")


if __name__ == "__main__":
    main()
