"""The executor contract: what an executor must implement, and killing the candidates it recorded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from evoforge.candidate import Evaluation
from evoforge.executors import Executor, kill_active
from evoforge.runner import Job


class Minimal(Executor):
    def submit(self, job: Job) -> None:
        return None

    def poll(self, timeout: float) -> list[tuple[Job, Evaluation]]:
        return []

    def in_flight(self) -> int:
        return 0

    def shutdown(self, *, kill: bool) -> None:
        return None


def test_an_executor_must_implement_submit_poll_in_flight_and_shutdown() -> None:
    class Partial(Executor):
        def submit(self, job: Job) -> None:
            return None

    with pytest.raises(TypeError, match="shutdown"):
        Partial()  # type: ignore[abstract]


def test_by_default_an_executor_does_not_limit_how_many_jobs_start() -> None:
    assert Minimal().capacity() == 1 << 30


@pytest.fixture
def sleepers() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Two processes, each leading its own process group, as candidates do."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
        )
        for _ in range(2)
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_every_recorded_process_group_is_killed(
    tmp_path: Path, sleepers: list[subprocess.Popen[bytes]]
) -> None:
    for key, proc in zip(("c1-a1", "c2-s7919"), sleepers, strict=True):
        (tmp_path / key).write_text(f"{proc.pid}\n")
    assert sorted(kill_active(tmp_path)) == sorted(p.pid for p in sleepers)
    assert [p.wait(timeout=10) for p in sleepers] == [-signal.SIGKILL, -signal.SIGKILL]


def test_with_keys_only_those_jobs_are_killed(
    tmp_path: Path, sleepers: list[subprocess.Popen[bytes]]
) -> None:
    keep, kill = sleepers
    (tmp_path / "c1-a1").write_text(str(keep.pid))
    (tmp_path / "c2-a1").write_text(str(kill.pid))
    assert kill_active(tmp_path, ["c2-a1", "c9-a1"]) == [kill.pid]
    assert kill.wait(timeout=10) == -signal.SIGKILL
    assert keep.poll() is None


def test_unreadable_pid_files_and_a_missing_folder_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "c1-a1").write_text("not a pid")
    (tmp_path / "c2-a1").mkdir()
    assert kill_active(tmp_path) == []
    assert kill_active(tmp_path / "absent") == []
