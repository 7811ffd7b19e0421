"""Layers 1 and 2 alone: the supervisor and rlimits (no isolation)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from evoforge.sandbox import Limits, ProcessSandbox, RunSpec, supervise

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
    assert result.timed_out and result.killed_by == "timeout"
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
