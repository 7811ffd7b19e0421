"""Run folders: which driver, if any, is alive."""

from __future__ import annotations

import os
from pathlib import Path

from evoforge.governance.rundir import RunDir


def test_the_driver_that_wrote_the_pid_file_is_alive(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    assert run.driver_pid() is None
    run.write_driver_pid()
    assert run.driver_pid() == os.getpid()


def test_a_pid_file_whose_process_started_at_another_time_names_no_driver(
    tmp_path: Path,
) -> None:
    # The driver died and its pid went to another process: that one is not the driver.
    run = RunDir(tmp_path)
    run.write_driver_pid()
    pid, started = run.pid_file.read_text().split()
    run.pid_file.write_text(f"{pid} {int(started) + 1}")
    assert run.driver_pid() is None
