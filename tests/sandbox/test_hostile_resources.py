"""Hostile candidates that try to exhaust the machine or to outlive their run.

Containment: the limit stops the candidate (and says which one), the host keeps
working, the run returns on time, and nothing of the candidate is left running.
"""

from __future__ import annotations

import dataclasses
import secrets
import shutil
import subprocess
import time

from experiment_helpers import processes_with
from sandbox_support import FAST, Hostile


def test_fork_bomb(hostile: Hostile) -> None:
    """Fork without end; every child forks too."""
    limits = dataclasses.replace(FAST, wall_seconds=4, processes=32)
    started = time.monotonic()
    out = hostile.run(
        """
        import os, time
        while True:
            try:
                os.fork()
            except OSError:
                time.sleep(0.01)
        """,
        limits=limits,
    )
    assert out.result.killed_by == "timeout"
    assert time.monotonic() - started < limits.wall_seconds + 3
    # The host could fork all along, and still can.
    assert subprocess.run(["true"]).returncode == 0


def test_fork_bomb_is_capped(hostile: Hostile) -> None:
    """Count how many processes a fork loop gets before the limit stops it."""
    limits = dataclasses.replace(FAST, processes=16)
    out = hostile.run(
        """
        import json, os, time
        kids = 0
        err = ""
        while kids < 1000:
            try:
                pid = os.fork()
            except OSError as e:
                err = type(e).__name__
                break
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            kids += 1
        print(json.dumps({"kids": kids, "error": err}))
        os._exit(0)
        """,
        limits=limits,
    )
    assert out.result.exit_code == 0, out.result
    assert out.report["error"] == "BlockingIOError"
    assert out.report["kids"] <= limits.processes
    assert out.result.wall_s < 10  # the sleeping children did not keep the run alive


def test_memory_bomb(hostile: Hostile) -> None:
    """Allocate memory until something gives."""
    limits = dataclasses.replace(FAST, memory_mb=128, scratch_mb=16)
    out = hostile.run(
        """
        chunks = []
        while True:
            chunks.append(bytearray(16 * 1024 * 1024))
        """,
        limits=limits,
    )
    assert out.result.killed_by == "memory", out.result
    assert limits.memory_mb is not None
    assert out.result.max_rss_kb < (limits.memory_mb + limits.scratch_mb + 64) * 1024


def test_cpu_hog(hostile: Hostile) -> None:
    """Spin forever on the CPU."""
    limits = dataclasses.replace(FAST, cpu_seconds=1, wall_seconds=60)
    out = hostile.run("while True:\n    pass\n", limits=limits)
    assert out.result.killed_by == "cpu", out.result  # the CPU limit, long before the wall one
    assert out.result.cpu_s < 3


def test_disk_fill(hostile: Hostile) -> None:
    """Fill the scratch folder, /tmp, /dev/shm and the home folder, file after file."""
    free_before = shutil.disk_usage("/").free
    limits = dataclasses.replace(FAST, scratch_mb=16, file_size_mb=4, memory_mb=256)
    out = hostile.run(
        """
        import errno, json, os
        res = {}
        for folder in (".", "/tmp", "/dev/shm", os.environ["HOME"] + "/sub"):
            os.makedirs(folder, exist_ok=True)
            written, i, err = 0, 0, ""
            while not err and written < 1 << 30:
                try:
                    with open(f"{folder}/fill{i}", "wb") as fh:
                        while True:
                            fh.write(b"x" * (1 << 20))
                            written += 1 << 20
                except OSError as e:
                    if e.errno != errno.EFBIG:  # a full file: start the next one
                        err = errno.errorcode[e.errno]
                i += 1
            res[folder] = [written >> 20, err, i]
        print(json.dumps(res))
        """,
        limits=limits,
    )
    assert out.result.exit_code == 0, out.result
    for folder, (mb, err, _files) in out.report.items():
        assert err == "ENOSPC", (folder, err)
        assert mb <= limits.scratch_mb + 1, (folder, mb)
    assert out.report["."][2] >= 4  # several files, each capped
    kept = sum(p.stat().st_size for p in out.workdir.rglob("*") if p.is_file())
    assert kept <= limits.scratch_mb * 1024 * 1024
    assert free_before - shutil.disk_usage("/").free < 64 * 1024 * 1024


def test_stdout_flood(hostile: Hostile) -> None:
    """Write hundreds of megabytes to stdout and stderr."""
    out = hostile.run(
        """
        import os
        block = b"A" * (1 << 20)
        for _ in range(200):
            os.write(1, block)
            os.write(2, block)
        """,
    )
    assert out.result.exit_code == 0, out.result
    cap = FAST.output_bytes
    assert len(out.result.stdout_tail) < cap + 100
    assert len(out.result.stderr_tail) < cap + 100
    assert "earlier bytes dropped" in out.result.stdout_tail


def test_double_fork_daemon(hostile: Hostile) -> None:
    """Double-fork, call setsid and close everything, to outlive the candidate."""
    token = "DAEMON-" + secrets.token_hex(6)
    started = time.monotonic()
    out = hostile.run(
        """
        import os, sys
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.closerange(0, 1024)
                os.execv(sys.executable, [sys.executable, "-c",
                         "import time\\nwhile True: time.sleep(1)", sys.argv[1]])
            os._exit(0)
        print("parent leaves")
        """,
        args=[token],
    )
    assert out.result.exit_code == 0, out.result
    assert time.monotonic() - started < 10  # run() did not wait for the daemon
    assert processes_with(token) == []


def test_relaunches_itself(hostile: Hostile) -> None:
    """Start a detached copy of itself that runs on after the candidate exits."""
    token = "RELAUNCH-" + secrets.token_hex(6)
    out = hostile.run(
        """
        import subprocess, sys, time
        if len(sys.argv) > 2:
            while True:
                time.sleep(1)
        subprocess.Popen([sys.executable, sys.argv[0], sys.argv[1], "again"],
                         start_new_session=True, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.2)
        """,
        args=[token],
    )
    assert out.result.exit_code == 0, out.result
    assert processes_with(token) == []


def test_sleeps_past_the_timeout(hostile: Hostile) -> None:
    """Sleep far beyond the wall-clock limit."""
    limits = dataclasses.replace(FAST, wall_seconds=1.5)
    out = hostile.run("import time\ntime.sleep(600)\n", limits=limits)
    assert out.result.killed_by == "timeout"
    assert out.result.wall_s < limits.wall_seconds + 2


def test_raises_its_own_limits(hostile: Hostile) -> None:
    """Lift its own limits (rlimits, cgroup files) and exhaust file descriptors."""
    out = hostile.run(
        """
        import glob, json, os, resource
        res = {}
        for name in ("RLIMIT_CPU", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_FSIZE"):
            r = getattr(resource, name)
            try:
                resource.setrlimit(r, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
                res[name] = "raised"
            except (ValueError, OSError) as e:
                res[name] = type(e).__name__
        res["cgroup_files"] = glob.glob("/sys/fs/cgroup/*/*/pids.max")
        fds = 0
        try:
            while fds < 100000:
                os.open("/dev/null", os.O_RDONLY)
                fds += 1
        except OSError as e:
            res["fds"] = [fds, type(e).__name__]
        print(json.dumps(res))
        """,
    )
    assert out.result.exit_code == 0, out.result
    report = out.report
    for name in ("RLIMIT_CPU", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_FSIZE"):
        assert report[name] != "raised", report
    assert report["cgroup_files"] == []
    assert report["fds"][0] <= FAST.open_files
