"""Layers 1 and 2 of the sandbox: a supervised subprocess under rlimits.

The candidate starts in a new session (so it leads its own process group), with
a cleared environment, resource limits applied in the child before ``exec``, and
``PR_SET_PDEATHSIG`` so it dies if the worker that started it dies. The
supervisor enforces the wall timeout by killing the whole process group, then
keeps killing the group until no member is left: a process that calls
``setsid`` to leave the group is caught by the stronger layers (pid namespace,
cgroup), not by this one.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from evoforge.candidate import RunResult
from evoforge.sandbox._base import Limits, OnStart, RunSpec, Sandbox

_PR_SET_PDEATHSIG = 1
_MB = 1024 * 1024


def rlimits_for(limits: Limits) -> list[tuple[int, int]]:
    """The (resource, value) pairs applied in the child before exec."""
    cpu = limits.cpu_s if limits.cpu_s is not None else limits.wall_s * 2
    out = [
        (resource.RLIMIT_CPU, max(1, int(cpu + 0.999))),
        (resource.RLIMIT_FSIZE, limits.file_size_mb * _MB),
        (resource.RLIMIT_NOFILE, limits.open_files),
        (resource.RLIMIT_CORE, 0),
    ]
    if limits.memory_mb is not None:
        out.append((resource.RLIMIT_AS, limits.memory_mb * _MB))
    if os.getuid() != 0:
        # RLIMIT_NPROC counts every process of the uid and is ignored for root;
        # the bubblewrap layer switches to an unprivileged uid so it applies there.
        out.append((resource.RLIMIT_NPROC, limits.processes))
    return out


def make_preexec(limits: Sequence[tuple[int, int]]) -> Callable[[], None]:
    """A preexec_fn that sets the death signal and the rlimits. Runs in the forked child."""
    libc = ctypes.CDLL(None, use_errno=True)

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        for res, value in limits:
            soft_hard = (value, value)
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(res, soft_hard)

    return preexec


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Waiter:
    """Reaps one child with ``wait4`` so its own resource usage is known."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.done = threading.Event()
        self.exit_code: int | None = None
        self.cpu_s = 0.0
        self.max_rss_kb = 0
        threading.Thread(target=self._wait, daemon=True).start()

    def _wait(self) -> None:
        try:
            _, status, usage = os.wait4(self.pid, 0)
            self.exit_code = os.waitstatus_to_exitcode(status)
            self.cpu_s = usage.ru_utime + usage.ru_stime
            self.max_rss_kb = int(usage.ru_maxrss)
        except ChildProcessError:
            self.exit_code = None
        finally:
            self.done.set()


class _Tail:
    """Reads a pipe to the end, keeping only the last ``cap`` bytes."""

    def __init__(self, stream: IO[bytes], cap: int) -> None:
        self.cap = cap
        self.data = bytearray()
        self.total = 0
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[bytes]) -> None:
        with contextlib.suppress(OSError, ValueError):
            while chunk := os.read(stream.fileno(), 65536):
                self.total += len(chunk)
                self.data += chunk
                if len(self.data) > 2 * self.cap:
                    del self.data[: len(self.data) - self.cap]
        with contextlib.suppress(OSError):
            stream.close()

    def text(self, timeout: float = 2.0) -> str:
        self._thread.join(timeout)
        tail = bytes(self.data[-self.cap :])
        dropped = self.total - len(tail)
        head = f"[... {dropped} earlier bytes dropped ...]\n" if dropped > 0 else ""
        return head + tail.decode("utf-8", errors="replace")


def supervise(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    limits: Limits,
    preexec: Callable[[], None] | None,
    on_start: OnStart | None = None,
    pass_fds: Sequence[int] = (),
    sweep: Callable[[], None] | None = None,
) -> RunResult:
    """Start ``argv`` in a new session and supervise it to the end.

    Shared by every sandbox flavour: the stronger layers change ``argv`` (e.g. a
    bubblewrap prefix) and ``preexec``, never the supervision. ``sweep``, called
    once the leader is gone and its group killed, kills what the group kill cannot
    reach (a cgroup's members that left the session); the output is collected after
    it, so a lingering process cannot hold the pipes open.
    """
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=preexec,
            pass_fds=tuple(pass_fds),
            close_fds=True,
        )
    except OSError as exc:
        return RunResult(exit_code=None, wall_s=0.0, stderr_tail=f"cannot start: {exc}")
    pgid = proc.pid
    if on_start is not None:
        on_start(pgid)
    assert proc.stdout is not None and proc.stderr is not None
    out = _Tail(proc.stdout, limits.output_bytes)
    err = _Tail(proc.stderr, limits.output_bytes)
    waiter = _Waiter(proc.pid)
    killed_by = ""
    if not waiter.done.wait(limits.wall_s):
        killed_by = "timeout"
        kill_group(pgid)
        waiter.done.wait()
    proc.returncode = waiter.exit_code  # reaped by wait4 here, not by Popen
    # The leader is gone; make sure nothing it left in its group lingers.
    kill_group(pgid)
    if sweep is not None:
        sweep()
    wall = time.monotonic() - start
    exit_code = waiter.exit_code
    cpu = waiter.cpu_s
    if exit_code is not None and exit_code < 0 and not killed_by:
        sig = -exit_code
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu >= _cpu_limit(limits) - 0.5):
            killed_by = "cpu"
    return RunResult(
        exit_code=exit_code,
        wall_s=wall,
        cpu_s=max(0.0, cpu),
        max_rss_kb=waiter.max_rss_kb,
        timed_out=killed_by == "timeout",
        killed_by=killed_by,
        stdout_tail=out.text(),
        stderr_tail=err.text(),
    )


def _cpu_limit(limits: Limits) -> float:
    return limits.cpu_s if limits.cpu_s is not None else limits.wall_s * 2


class ProcessSandbox(Sandbox):
    """Layers 1 and 2 only: supervisor and rlimits. Always available."""

    def run(self, spec: RunSpec, *, on_start: OnStart | None = None) -> RunResult:
        preexec = make_preexec(rlimits_for(spec.limits))
        return supervise(
            spec.argv,
            cwd=spec.workdir,
            env=spec.env,
            limits=spec.limits,
            preexec=preexec,
            on_start=on_start,
        )

    def strength(self) -> Mapping[str, str]:
        nproc = "on" if os.getuid() != 0 else "off: RLIMIT_NPROC has no effect for root"
        return {"supervisor": "on", "rlimits": "on", "rlimit_nproc": nproc}
