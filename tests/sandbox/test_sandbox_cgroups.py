"""Per-candidate cgroups: created with limits, joined by a child, emptied and removed."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from evoforge.sandbox.cgroups import RunCgroup, _enable_v2, _set_limit, find_cgroups, run_cgroup

SUPPORT = find_cgroups()
needs_cgroups = pytest.mark.skipif(
    SUPPORT.memory is None or SUPPORT.pids is None,
    reason=f"cgroups not writable here: {SUPPORT.why_memory} {SUPPORT.why_pids}",
)


@needs_cgroups
def test_group_gets_its_limits_and_is_removed() -> None:
    with run_cgroup(SUPPORT, memory_bytes=64 << 20, pids_max=7) as group:
        dirs = list(group.dirs)
        assert dirs and all(d.is_dir() for d in dirs)
        limits = {f.name: f.read_text().strip() for d in dirs for f in d.iterdir()
                  if f.name in ("pids.max", "memory.limit_in_bytes", "memory.max")}  # fmt: skip
        assert limits["pids.max"] == "7"
        assert int(limits.get("memory.limit_in_bytes", limits.get("memory.max", "0"))) == 64 << 20
    assert not any(d.exists() for d in dirs)


@needs_cgroups
def test_members_that_left_the_session_are_killed() -> None:
    with run_cgroup(SUPPORT, memory_bytes=None, pids_max=20) as group:
        proc = subprocess.Popen(
            [sys.executable, "-c", "import os, time\nif os.fork() == 0:\n    os.setsid()\n"
             "    time.sleep(60)\ntime.sleep(60)\n"],
            preexec_fn=group.join_in_child,
        )  # fmt: skip
        deadline = time.monotonic() + 5
        while len(group.members()) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(group.members()) == 2
        group.kill_all()
        assert group.members() == set()
        proc.wait(5)


@needs_cgroups
def test_pids_limit_stops_forks_and_oom_is_counted() -> None:
    with run_cgroup(SUPPORT, memory_bytes=48 << 20, pids_max=4) as group:
        forks = subprocess.run(
            [sys.executable, "-c", "import os, time\nn = 0\ntry:\n    while n < 50:\n"
             "        if os.fork() == 0:\n            os.closerange(0, 3); time.sleep(5); os._exit(0)\n        n += 1\n"
             "except OSError:\n    pass\nprint(n)\n"],
            preexec_fn=group.join_in_child, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert int(forks.stdout) <= 3
        group.kill_all()
        hog = subprocess.run(
            [sys.executable, "-c", "x = []\nwhile True: x.append(bytearray(1 << 20))\n"],
            preexec_fn=group.join_in_child, capture_output=True, timeout=60,
        )  # fmt: skip
        assert hog.returncode == -9
        assert group.oom_kills() >= 1


def test_v2_limits_and_oom_count_use_the_v2_file_names(tmp_path: Path) -> None:
    """The v2 layout, on a plain folder standing in for a cgroup (this machine runs v1)."""
    _set_limit(tmp_path, "memory", True, 64 << 20, 9)
    _set_limit(tmp_path, "pids", True, None, 9)
    assert (tmp_path / "memory.max").read_text() == str(64 << 20)
    assert (tmp_path / "memory.swap.max").read_text() == "0"
    assert (tmp_path / "pids.max").read_text() == "9"
    (tmp_path / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n")
    assert RunCgroup([tmp_path], {tmp_path: True}).oom_kills() == 2
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    (tmp_path / "cgroup.subtree_control").write_text("")
    assert _enable_v2(tmp_path, "memory") == ""
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+memory"
    assert "not delegated" in _enable_v2(tmp_path, "hugetlb")
