"""Start-up time each sandbox layer adds per candidate, against a bare subprocess.

Runs ``python -c pass`` as a bare ``subprocess.run`` and through the sandbox with
layers added one at a time, interleaved round by round so that load on the
machine hits every level alike. For each level it prints the median, 90th
percentile and fastest wall time, the time added over the bare subprocess and
over the level before, and, where a cgroup v1 ``cpuacct`` hierarchy is writable,
the CPU time the whole run took (this process and everything it started,
bubblewrap's namespaces included), which load on a shared machine inflates far
less than wall time. The target: all layers together add at most 60 ms.

    .venv/bin/python bench/sandbox_overhead.py [--rounds 30] [--markdown]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from evoforge.sandbox import LayeredSandbox, Limits, RunSpec, build_sandbox

TARGET_MS = 60.0
ALL = "+ seccomp, landlock (all)"


def levels(full: LayeredSandbox, workdir: Path) -> dict[str, Callable[[], None]]:
    plan = full.plan
    env = {"PATH": "/usr/bin:/bin", "HOME": str(workdir)}
    spec = RunSpec(
        argv=(sys.executable, "-c", "pass"),
        workdir=workdir,
        limits=Limits(wall_seconds=60),
        env=env,
    )
    empty = dataclasses.replace(
        plan, cgroups=None, bwrap=None, landlock=False, seccomp=False, drop_uid=False
    )
    staged = {
        "+ supervisor, rlimits": empty,
        "+ cgroups": dataclasses.replace(empty, cgroups=plan.cgroups),
        "+ bubblewrap, uid, launcher": dataclasses.replace(
            empty, cgroups=plan.cgroups, bwrap=plan.bwrap, drop_uid=plan.drop_uid
        ),
        ALL: plan,
    }

    def bare() -> None:
        subprocess.run(spec.argv, cwd=workdir, env=env, check=True)

    out: dict[str, Callable[[], None]] = {"bare subprocess": bare}
    for name, p in staged.items():
        sandbox = LayeredSandbox(p)

        def run(sandbox: LayeredSandbox = sandbox, name: str = name) -> None:
            result = sandbox.run(spec)
            if result.exit_code != 0:
                raise RuntimeError(f"{name}: {result}")

        out[name] = run
    return out


@contextlib.contextmanager
def cpu_clock() -> Iterator[Callable[[], float] | None]:
    """CPU seconds used so far by this process and all it starts, or None where unknown.

    Moves this process into a fresh cpuacct cgroup for the duration (and back).
    """
    root = Path("/sys/fs/cgroup/cpuacct")
    group = root / f"evoforge-bench-{os.getpid()}"
    try:
        group.mkdir()
        (group / "cgroup.procs").write_text(str(os.getpid()))
    except OSError:
        yield None
        return
    try:
        yield lambda: int((group / "cpuacct.usage").read_text()) / 1e9
    finally:
        with contextlib.suppress(OSError):
            (root / "cgroup.procs").write_text(str(os.getpid()))
            group.rmdir()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    full = build_sandbox()
    workdir = Path(tempfile.mkdtemp(prefix="evoforge-bench-"))
    try:
        fns = levels(full, workdir)
        with cpu_clock() as cpu:
            for fn in fns.values():  # warm caches (page cache, compiled launcher)
                fn()
            wall: dict[str, list[float]] = {name: [] for name in fns}
            used: dict[str, list[float]] = {name: [] for name in fns}
            load_before = os.getloadavg()[0]
            for _ in range(args.rounds):
                for name, fn in fns.items():
                    c0 = cpu() if cpu else 0.0
                    start = time.perf_counter()
                    fn()
                    wall[name].append((time.perf_counter() - start) * 1000)
                    used[name].append(((cpu() if cpu else 0.0) - c0) * 1000)
            load_after = os.getloadavg()[0]
            have_cpu = cpu is not None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Linux {platform.release()}, "
        f"load {load_before:.1f} -> {load_after:.1f}; {args.rounds} interleaved rounds"
    )
    report(wall, used if have_cpu else None, markdown=args.markdown)
    return 0


def report(
    wall: dict[str, list[float]], used: dict[str, list[float]] | None, *, markdown: bool
) -> None:
    med = {name: statistics.median(ts) for name, ts in wall.items()}
    cpu = {name: statistics.median(ts) for name, ts in (used or {}).items()}
    header = ["level", "median ms", "p90 ms", "min ms", "added vs bare", "added by layer"]
    if used:
        header += ["CPU ms", "CPU added vs bare"]
    rows = [header]
    previous = med["bare subprocess"]
    for name, ts in wall.items():
        row = [
            name,
            f"{med[name]:.1f}",
            f"{sorted(ts)[int(0.9 * (len(ts) - 1))]:.1f}",
            f"{min(ts):.1f}",
            f"{med[name] - med['bare subprocess']:+.1f}",
            f"{med[name] - previous:+.1f}",
        ]
        if used:
            row += [f"{cpu[name]:.1f}", f"{cpu[name] - cpu['bare subprocess']:+.1f}"]
        rows.append(row)
        previous = med[name]
    if markdown:
        print("| " + " | ".join(rows[0]) + " |")
        print("|" + "---|" * len(rows[0]))
        for row in rows[1:]:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [30] + [max(len(h), 8) + 2 for h in header[1:]]
        for row in rows:
            print("".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                          enumerate(zip(row, widths, strict=True))))  # fmt: skip
    total = med[ALL] - med["bare subprocess"]
    fastest = min(wall[ALL]) - min(wall["bare subprocess"])
    verdict = "met" if total <= TARGET_MS else "MISSED"
    line = (
        f"all layers add {total:.1f} ms per candidate (median; target {TARGET_MS:.0f} ms: "
        f"{verdict}); {fastest:.1f} ms between the fastest runs"
    )
    if used:
        line += f"; {cpu[ALL] - cpu['bare subprocess']:.1f} ms of CPU"
    print(line)


if __name__ == "__main__":
    sys.exit(main())
