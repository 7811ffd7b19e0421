"""Run folders: where one run keeps its archive, config snapshot, stop file and pid files.

EXPERIMENT/runs/20261121-203000-digits/
    archive.sqlite   candidates, code, champion history (the source of truth)
    evoforge.toml    the config the run was started with (resume uses this copy)
    driver.pid       the process id (and start time) of the driver while it runs
    STOP             written by `evoforge stop`; holds "now" or "drain"
    active/          one file per running candidate, holding its process group id
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from evoforge.config import CONFIG_NAME

RUNS = "runs"
ARCHIVE = "archive.sqlite"


class RunNotFound(LookupError):
    pass


@dataclass(frozen=True)
class RunDir:
    path: Path

    @property
    def archive(self) -> Path:
        return self.path / ARCHIVE

    @property
    def config(self) -> Path:
        return self.path / CONFIG_NAME

    @property
    def stop_file(self) -> Path:
        return self.path / "STOP"

    @property
    def pid_file(self) -> Path:
        return self.path / "driver.pid"

    @property
    def audit(self) -> Path:
        return self.path / "audit.jsonl"

    @property
    def active(self) -> Path:
        return self.path / "active"

    @property
    def name(self) -> str:
        return self.path.name

    def request_stop(self, mode: str) -> None:
        self.stop_file.write_text(mode)

    def stop_requested(self) -> str | None:
        try:
            mode = self.stop_file.read_text().strip()
        except FileNotFoundError:
            return None
        return "drain" if mode == "drain" else "now"

    def clear_stop(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.stop_file.unlink()

    def write_driver_pid(self) -> None:
        """Record this process as the run's driver, with its start time: a process that
        later gets the same pid is not taken for the driver."""
        pid = os.getpid()
        proc = _proc_stat(pid)
        self.pid_file.write_text(f"{pid} {proc[1]}" if proc else str(pid))

    def driver_pid(self) -> int | None:
        """The pid of a live driver of this run, or None (no pid file, or its process
        is gone: exited, killed and not yet reaped, or its pid reused)."""
        try:
            words = self.pid_file.read_text().split()
            pid = int(words[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None
        started = words[1] if len(words) > 1 else None
        return pid if pid_alive(pid, started=started) else None


def pid_alive(pid: int, *, started: str | None = None) -> bool:
    """Whether ``pid`` is a live process (not a zombie) and, given ``started`` (its start
    time in clock ticks after boot, from /proc), the same process that was recorded."""
    proc = _proc_stat(pid)
    if proc is not None:
        state, start = proc
        return state not in ("Z", "X") and (started is None or start == started)
    try:  # no /proc (or not readable): the signal test is all there is
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """A process's state letter and start time (clock ticks after boot) from /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[-1].split()  # after "pid (comm)": comm may hold spaces
    return (fields[0], fields[19]) if len(fields) > 19 else None


def create_run(experiment: Path, name: str) -> RunDir:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = experiment / RUNS / f"{stamp}-{name}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    path.mkdir(parents=True)
    run = RunDir(path)
    run.active.mkdir()
    shutil.copyfile(experiment / CONFIG_NAME, run.config)
    return run


def find_run(arg: str | None, *, cwd: Path | None = None) -> RunDir:
    """A run folder from a path: the run itself, an experiment (its newest run), or None (newest under cwd)."""
    cwd = cwd or Path.cwd()
    if arg is not None:
        p = Path(arg)
        if (p / ARCHIVE).is_file():
            return RunDir(p)
        if (p / RUNS).is_dir():
            return _newest(p / RUNS, f"{p} has no runs yet")
        raise RunNotFound(f"{arg}: not a run folder (no {ARCHIVE}) nor an experiment with runs")
    if (cwd / ARCHIVE).is_file():
        return RunDir(cwd)
    candidates = [cwd / RUNS, *sorted(cwd.glob(f"*/{RUNS}")), *sorted(cwd.glob(f"*/*/{RUNS}"))]
    runs = [r for c in candidates if c.is_dir() for r in c.iterdir() if (r / ARCHIVE).is_file()]
    if not runs:
        raise RunNotFound(
            f"no run found under {cwd}; pass the run folder (e.g. examples/digits/runs/...)"
        )
    return RunDir(max(runs, key=lambda r: (r / ARCHIVE).stat().st_mtime))


def _newest(runs_dir: Path, empty: str) -> RunDir:
    runs = [r for r in runs_dir.iterdir() if (r / ARCHIVE).is_file()]
    if not runs:
        raise RunNotFound(empty)
    return RunDir(max(runs, key=lambda r: (r / ARCHIVE).stat().st_mtime))
