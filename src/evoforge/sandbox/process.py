"""Layers 1 and 2 of the sandbox: a supervised subprocess under rlimits.

The candidate starts in a new session (so it leads its own process group), with
a cleared environment, resource limits applied in the child before ``exec``, and
``PR_SET_PDEATHSIG`` so it dies if the worker that started it dies. The
supervisor enforces the wall timeout by killing the whole process group, and
kills the group again once the leader is gone: a process that calls ``setsid``
to leave the group is caught by the stronger layers (pid namespace, cgroup),
not by this one. :func:`supervise` is the one supervisor every sandbox uses.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from evoforge.candidate import RunResult
from evoforge.sandbox._base import Limits, OnStart, RunSpec, Sandbox

_PR_SET_PDEATHSIG = 1
_MB = 1024 * 1024


def rlimits_for(limits: Limits) -> list[tuple[int, int]]:
    """The (resource, value) pairs applied in the child before exec."""
    cpu = limits.cpu_seconds if limits.cpu_seconds is not None else limits.wall_seconds * 2
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


class _Tail:
    """Keeps the last ``cap`` bytes of a stream, and counts what it dropped."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        self.data += chunk
        if len(self.data) > 2 * self.cap:
            del self.data[: len(self.data) - self.cap]

    def text(self) -> str:
        tail = bytes(self.data[-self.cap :])
        dropped = self.total - len(tail)
        head = f"[... {dropped} earlier bytes dropped ...]\n" if dropped > 0 else ""
        return head + tail.decode("utf-8", errors="replace")


_DRAIN_S = 2.0
"""How long output is still read once the leader is gone (a lingering writer cannot
hold the run open longer)."""


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
    reach (a cgroup's members that left the session).

    One thread does it all: it waits on the two pipes and on a pidfd of the leader
    with the wall deadline as timeout. Without ``preexec`` the child is started
    with vfork, which matters when the caller is a large process.
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
    assert proc.stdout is not None and proc.stderr is not None
    tails = {fd: _Tail(limits.output_bytes) for fd in (proc.stdout.fileno(), proc.stderr.fileno())}
    pidfd = -1
    try:
        pidfd = os.pidfd_open(proc.pid)
        if on_start is not None:
            on_start(pgid)
        killed_by, usage = _watch(proc, pidfd, tails, start + limits.wall_seconds, sweep)
    finally:
        if proc.returncode is None:  # interrupted (say, on_start raised): leave nothing
            kill_group(pgid)
            if sweep is not None:
                sweep()
            _reap(proc)
        if pidfd >= 0:
            os.close(pidfd)
        proc.stdout.close()
        proc.stderr.close()
    out, err = tails.values()
    exit_code, cpu, max_rss = usage
    wall = time.monotonic() - start
    if exit_code is not None and exit_code < 0 and not killed_by:
        sig = -exit_code
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu >= _cpu_limit(limits) - 0.5):
            killed_by = "cpu"
    return RunResult(
        exit_code=exit_code,
        wall_s=wall,
        cpu_s=max(0.0, cpu),
        max_rss_kb=max_rss,
        killed_by=killed_by,
        stdout_tail=out.text(),
        stderr_tail=err.text(),
    )


def _watch(
    proc: subprocess.Popen[bytes],
    pidfd: int,
    tails: dict[int, _Tail],
    deadline: float,
    sweep: Callable[[], None] | None,
) -> tuple[str, tuple[int | None, float, int]]:
    """Read the pipes until the leader is gone (killing its group at the deadline)."""
    killed_by = ""
    usage: tuple[int | None, float, int] = (None, 0.0, 0)
    exited = False
    with selectors.DefaultSelector() as sel:
        for fd in tails:
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ)
        sel.register(pidfd, selectors.EVENT_READ)
        while len(sel.get_map()) > 0:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                if exited:
                    break  # the drain deadline: stop reading what lingers
                killed_by = "timeout"
                kill_group(proc.pid)
                deadline = time.monotonic() + 3600  # now wait for the leader to die
                continue
            for key, _ in sel.select(timeout):
                if key.fd == pidfd:
                    sel.unregister(pidfd)
                    usage = _reap(proc)
                    exited = True
                    # The leader is gone; make sure nothing it left lingers.
                    kill_group(proc.pid)
                    if sweep is not None:
                        sweep()
                    deadline = time.monotonic() + _DRAIN_S
                elif not _pump(key.fd, tails[key.fd]):
                    sel.unregister(key.fd)
    return killed_by, usage


def _pump(fd: int, tail: _Tail) -> bool:
    """Read what is there; False at end of file."""
    try:
        while chunk := os.read(fd, 65536):
            tail.add(chunk)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def _reap(proc: subprocess.Popen[bytes]) -> tuple[int | None, float, int]:
    """Reap the leader with ``wait4``, so its resource usage is known.

    Caveat: Linux reports as the ``ru_maxrss`` of a child started by (v)fork the
    larger of its own peak and the caller's at that moment; the layered sandbox
    replaces it with a better figure.
    """
    try:
        _, status, ru = os.wait4(proc.pid, 0)
    except ChildProcessError:
        return None, 0.0, 0
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code  # reaped here, not by Popen
    return code, ru.ru_utime + ru.ru_stime, int(ru.ru_maxrss)


def _cpu_limit(limits: Limits) -> float:
    return limits.cpu_seconds if limits.cpu_seconds is not None else limits.wall_seconds * 2


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
