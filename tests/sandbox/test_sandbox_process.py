"""Layers 1 and 2 alone: the supervisor and rlimits (no isolation)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evoforge.sandbox import Limits, ProcessSandbox, RunSpec, supervise
from evoforge.sandbox.process import _Tail, group_alive, kill_group, rlimits_for

from experiment_helpers import processes_with


def _spec(tmp_path: Path, code: str, **limits: float) -> RunSpec:
    return RunSpec(
        argv=(sys.executable, "-c", code),
        workdir=tmp_path,
        limits=Limits(**limits),  # type: ignore[arg-type]
        env={"PATH": "/usr/bin:/bin"},
    )


def test_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    code = "import os, time\nos.fork()\ntime.sleep(60)\n"
    started = time.monotonic()
    result = ProcessSandbox().run(_spec(tmp_path, code, wall_seconds=0.5))
    assert result.killed_by == "timeout"
    assert time.monotonic() - started < 3


def test_cpu_limit_is_reported(tmp_path: Path) -> None:
    result = ProcessSandbox().run(
        _spec(tmp_path, "while True: pass", wall_seconds=20, cpu_seconds=1)
    )
    assert result.killed_by == "cpu"


def test_output_keeps_the_tail(tmp_path: Path) -> None:
    code = "import sys\nfor i in range(100000): print(i)\nprint('END', file=sys.stderr)\n"
    result = ProcessSandbox().run(_spec(tmp_path, code, output_kb=1))
    assert result.exit_code == 0
    assert result.stdout_tail.endswith("99999\n") and "earlier bytes dropped" in result.stdout_tail
    assert result.stderr_tail == "END\n"


def test_supervise_sweeps_after_the_leader(tmp_path: Path) -> None:
    swept: list[bool] = []
    result = supervise(
        [sys.executable, "-c", "pass"],
        cwd=tmp_path,
        env={},
        limits=Limits(),
        preexec=None,
        sweep=lambda: swept.append(True),
    )
    assert result.exit_code == 0 and swept == [True]


def test_a_command_that_cannot_start_is_reported(tmp_path: Path) -> None:
    result = ProcessSandbox().run(
        RunSpec(argv=("/nonexistent/prog",), workdir=tmp_path, limits=Limits())
    )
    assert result.exit_code is None and "cannot start" in result.stderr_tail


def test_a_failing_on_start_leaves_nothing_running(tmp_path: Path) -> None:
    token = f"ONSTART-{os.getpid()}-{time.monotonic_ns()}"
    pgids: list[int] = []

    def on_start(pgid: int) -> None:
        pgids.append(pgid)
        raise RuntimeError("the pid file could not be written")

    with pytest.raises(RuntimeError):
        supervise(
            [sys.executable, "-c", "import time; time.sleep(60)", token],
            cwd=tmp_path,
            env={},
            limits=Limits(),
            preexec=None,
            on_start=on_start,
        )
    assert pgids and processes_with(token) == []


def test_rlimits_round_the_cpu_limit_up_and_default_it_to_twice_the_wall() -> None:
    pairs = dict(rlimits_for(Limits(wall_seconds=1.2, file_size_mb=2, open_files=30)))
    assert pairs[resource.RLIMIT_CPU] == 3
    assert pairs[resource.RLIMIT_FSIZE] == 2 * 1024 * 1024
    assert pairs[resource.RLIMIT_NOFILE] == 30 and pairs[resource.RLIMIT_CORE] == 0
    assert dict(rlimits_for(Limits(cpu_seconds=0.2)))[resource.RLIMIT_CPU] == 1


def test_rlimits_leave_out_memory_when_unlimited_and_nproc_for_root(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "getuid", lambda: 0)
    as_root = dict(rlimits_for(Limits(memory_mb=None)))
    assert resource.RLIMIT_AS not in as_root and resource.RLIMIT_NPROC not in as_root
    monkeypatch.setattr(os, "getuid", lambda: 1000)
    as_user = dict(rlimits_for(Limits(memory_mb=8, processes=5)))
    assert as_user[resource.RLIMIT_AS] == 8 * 1024 * 1024
    assert as_user[resource.RLIMIT_NPROC] == 5


def test_the_tail_keeps_the_last_bytes_and_counts_the_dropped_ones() -> None:
    tail = _Tail(4)
    tail.add(b"ab")
    assert tail.text() == "ab"
    for chunk in (b"cdef", b"ghij", b"k"):
        tail.add(chunk)
    assert tail.text() == "[... 7 earlier bytes dropped ...]\nhijk"
    assert len(tail.data) <= 8


def test_the_candidate_leads_its_group_with_exactly_its_environment(tmp_path: Path) -> None:
    code = "import json, os; print(json.dumps([os.getpgid(0), os.getsid(0), dict(os.environ)]))"
    pgids: list[int] = []
    result = supervise(
        [sys.executable, "-I", "-S", "-c", code],
        cwd=tmp_path,
        env={"ONLY": "this"},
        limits=Limits(),
        preexec=None,
        on_start=pgids.append,
    )
    pgid, sid, env = json.loads(result.stdout_tail)
    assert [pgid, sid] == pgids * 2
    assert {k: v for k, v in env.items() if k != "LC_CTYPE"} == {"ONLY": "this"}


def test_a_gone_group_is_not_alive_and_killing_it_is_harmless() -> None:
    child = subprocess.Popen(["true"], start_new_session=True)
    child.wait()
    assert not group_alive(child.pid)
    kill_group(child.pid)
    assert group_alive(os.getpgid(0))


def test_strength_says_rlimit_nproc_is_off_for_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "getuid", lambda: 0)
    assert ProcessSandbox().strength()["rlimit_nproc"].startswith("off")
    monkeypatch.setattr(os, "getuid", lambda: 1000)
    assert ProcessSandbox().strength() == {
        "supervisor": "on",
        "rlimits": "on",
        "rlimit_nproc": "on",
    }
