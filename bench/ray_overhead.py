"""Per-candidate overhead of the Ray executor against the local one, in the same run.

The candidate does nothing (a Python process that exits) and the task writes one
file and returns a constant, so what differs between the two is the executor:
a spawn process pool on this machine, or Ray tasks on a local Ray (started here,
1 node, as many CPUs as the machine; the same code path as a remote cluster,
minus the network). Both run the same jobs through the same ``runner.evaluate``.

Two figures per executor, after a warm-up (worker start-up is not counted):
- latency: one job in flight at a time, submit to result, median and p90;
- throughput: ``--workers`` jobs in flight, candidates per second.
Rounds alternate local and Ray so that a change in the machine's load hits both.

    .venv/bin/python bench/ray_overhead.py [--jobs 200] [--rounds 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

from evoforge.candidate import Evaluation
from evoforge.config import RaySection
from evoforge.executors import Executor, LocalExecutor
from evoforge.executors.ray import RayExecutor
from evoforge.runner import Job, RunContext
from evoforge.sandbox._base import Limits

PROGRAM = "# EVOLVE-BLOCK-START\nX = 1.0\n# EVOLVE-BLOCK-END\n"
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
WARMUP = 10


def latencies(ex: Executor, n: int, first_id: int) -> list[float]:
    """Seconds from submit to result, one job in flight at a time."""
    out: list[float] = []
    for i in range(n):
        t = time.perf_counter()
        ex.submit(Job(first_id + i, {"program.py": PROGRAM}, 1, 0))
        done: list[tuple[Job, Evaluation]] = []
        while not done:
            done = ex.poll(timeout=5.0)
        assert all(ev.ok for _, ev in done), done
        out.append(time.perf_counter() - t)
    return out


def throughput(ex: Executor, n: int, workers: int, first_id: int) -> float:
    """Candidates per second with ``workers`` jobs in flight."""
    t = time.perf_counter()
    submitted = finished = 0
    while finished < n:
        while submitted < n and ex.in_flight() < workers:
            ex.submit(Job(first_id + submitted, {"program.py": PROGRAM}, 1, 0))
            submitted += 1
        results = ex.poll(timeout=5.0)
        assert all(ev.ok for _, ev in results), results
        finished += len(results)
    return n / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)

    with tempfile.TemporaryDirectory() as d:
        exp = Path(d)
        (exp / "task.py").write_text(TASK)
        (exp / "active").mkdir()
        ctx = RunContext(
            experiment=exp, task_module="task.py", task_object="task", command=COMMAND,
            limits=Limits(wall_seconds=30), heldout=(), scratch_root=exp / "scratch",
            active_dir=exp / "active", sandbox_layers="process",
        )  # fmt: skip
        executors: dict[str, Executor] = {
            "local": LocalExecutor(ctx, workers=args.workers),
            "ray": RayExecutor(ctx, workers=args.workers, settings=RaySection(object_store_mb=100)),
        }
        lat: dict[str, list[float]] = {k: [] for k in executors}
        rate: dict[str, list[float]] = {k: [] for k in executors}
        t = time.perf_counter()
        for name, ex in executors.items():  # start-up, not counted
            latencies(ex, WARMUP, 1)
            print(f"{name}_startup_and_warmup_s: {time.perf_counter() - t:.2f}")
            t = time.perf_counter()
        next_id = 1000
        for _ in range(args.rounds):
            for name, ex in executors.items():
                lat[name] += latencies(ex, args.jobs // 2, next_id)
                rate[name].append(throughput(ex, args.jobs, args.workers, next_id + args.jobs))
                next_id += 2 * args.jobs
        for ex in executors.values():
            ex.shutdown(kill=False)

    print(
        f"jobs: {args.rounds} rounds x ({args.jobs // 2} serial + {args.jobs} with {args.workers} in flight) per executor"
    )
    med: dict[str, float] = {}
    for name in executors:
        ms = sorted(x * 1000 for x in lat[name])
        med[name] = statistics.median(ms)
        print(f"{name}_latency_ms_median: {med[name]:.1f}")
        print(f"{name}_latency_ms_p90: {ms[int(0.9 * (len(ms) - 1))]:.1f}")
        print(f"{name}_candidates_per_second: {statistics.median(rate[name]):.1f}")
    per_local = 1000 / statistics.median(rate["local"])
    per_ray = 1000 / statistics.median(rate["ray"])
    print(f"ray_overhead_ms_per_candidate_serial: {med['ray'] - med['local']:.1f}")
    print(f"ray_overhead_ms_per_candidate_{args.workers}_in_flight: {per_ray - per_local:.1f}")
    print(f"ray_vs_local_throughput: {per_local / per_ray:.2f}")


if __name__ == "__main__":
    main()
