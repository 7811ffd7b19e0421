"""The layered sandbox: every layer the probe found, around one supervised process.

Per candidate, on the host: lease an unprivileged uid (when root), create its
cgroups, write the launcher's config to a memfd, then have :func:`supervise`
start ``bwrap ... python -I -S launcher`` (or the launcher alone when only
Landlock/seccomp exist, or the command alone for layers 1 to 3). The callback
gets the process group of ``bwrap``: killing it kills bubblewrap's init, and the
kernel then kills everything left in the pid namespace.

Limits and their trade-offs:

- memory: with a memory cgroup, ``memory_mb`` is enforced there (the address-space
  rlimit is dropped: it counts reservations, not memory, and breaks some
  libraries). The scratch tmpfs lives in memory and is charged to the candidate, so
  inside bubblewrap the cgroup allows ``memory_mb + scratch_mb``.
- processes: the pids cgroup, and ``RLIMIT_NPROC`` set inside the sandbox, where it
  counts only the candidate's own uid (a leased uid as root, a fresh user
  namespace otherwise).
- scratch: each of the scratch folder, ``/tmp`` and ``/dev/shm`` is a tmpfs capped at
  ``scratch_mb``; without bubblewrap only ``RLIMIT_FSIZE`` caps each file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import marshal
import os
import resource
import signal
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from evoforge.candidate import RunResult
from evoforge.sandbox import launcher, mounts
from evoforge.sandbox._base import Limits, OnStart, RunSpec, Sandbox
from evoforge.sandbox.cgroups import CgroupSupport, RunCgroup, run_cgroup
from evoforge.sandbox.options import SandboxOptions
from evoforge.sandbox.process import make_preexec, rlimits_for, supervise
from evoforge.sandbox.uids import lease_uid

_MB = 1024 * 1024
_OVERHEAD_MB = 32
"""Memory for bubblewrap and the launcher, on top of the candidate's own."""
_PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Plan:
    """The layers a :class:`LayeredSandbox` applies, as decided by the probe."""

    cgroups: CgroupSupport | None = None
    bwrap: str | None = None
    landlock: bool = False
    seccomp: bool = False
    drop_uid: bool = False
    require: bool = True
    """The launcher refuses to start a candidate when a planned layer fails."""
    options: SandboxOptions = dataclasses.field(default_factory=SandboxOptions)

    @property
    def launcher(self) -> bool:
        return self.bwrap is not None or self.landlock or self.seccomp


class LayeredSandbox(Sandbox):
    """Runs candidates under the layers of a :class:`Plan`; built by ``build_sandbox``."""

    def __init__(self, plan: Plan, strength: Mapping[str, str] | None = None) -> None:
        self.plan = plan
        self._strength = dict(strength or {})
        self._launcher_code: bytes | None = None  # compiled on first use

    def launcher_code(self) -> bytes:
        """The launcher and its siblings compiled, marshalled for the sandbox's BOOT."""
        if self._launcher_code is None:
            mods = []
            for name in launcher.MODULES:
                path = _PACKAGE_DIR / f"{name}.py"
                code = compile(path.read_text("utf-8"), str(path), "exec", dont_inherit=True)
                mods.append((name, code))
            self._launcher_code = marshal.dumps(mods)
        return self._launcher_code

    def strength(self) -> Mapping[str, str]:
        return dict(self._strength)

    def run(self, spec: RunSpec, *, on_start: OnStart | None = None) -> RunResult:
        return self.run_with_status(spec, on_start=on_start)[0]

    def run_with_status(
        self, spec: RunSpec, *, on_start: OnStart | None = None
    ) -> tuple[RunResult, dict[str, str]]:
        """Run, and also return the launcher's report (layers applied, exit status)."""
        plan, opts = self.plan, self.plan.options
        workdir = os.path.abspath(spec.workdir)
        limits = spec.limits
        with contextlib.ExitStack() as stack:
            uid = None
            if plan.drop_uid:
                uid = stack.enter_context(lease_uid(opts.uid, opts.uid_count, opts.state_dir))
            group = None
            if plan.cgroups is not None:
                group = stack.enter_context(
                    run_cgroup(
                        plan.cgroups,
                        memory_bytes=self._memory(limits),
                        pids_max=limits.processes + 4,
                    )
                )
            if uid is not None and plan.bwrap is None:
                _chown_tree(workdir, uid)  # the candidate works in the host folder itself
            if not plan.launcher:
                result = supervise(
                    spec.argv,
                    cwd=Path(workdir),
                    env=spec.env,
                    limits=limits,
                    preexec=self._preexec(limits, group, uid),
                    on_start=on_start,
                    sweep=None if group is None else group.kill_all,
                )
                return _finish(result, {}, group, limits), {}
            fds: list[int] = []
            stack.callback(_close_all, fds)
            status_r, status_w = os.pipe()
            fds += [status_r, status_w]
            argv = self._launch(spec, workdir, uid, group, fds, status_w)
            # No preexec_fn: the launcher does that work, and without one the
            # supervisor's child can use vfork, which in a large worker saves a fork.
            result = supervise(
                argv,
                cwd=Path(workdir),
                env={"PATH": "/usr/bin:/bin"},
                limits=limits,
                preexec=None,
                on_start=on_start,
                pass_fds=[fd for fd in fds if fd != status_r],
                sweep=None if group is None else group.kill_all,
            )
            status = _read_status(status_r)
            return _finish(result, status, group, limits), status

    def _memory(self, limits: Limits) -> int | None:
        if limits.memory_mb is None:
            return None
        scratch = limits.scratch_mb if self.plan.bwrap else 0
        return (limits.memory_mb + scratch + _OVERHEAD_MB) * _MB

    def _rlimits(self, limits: Limits) -> list[tuple[int, int]]:
        memcg = self.plan.cgroups is not None and self.plan.cgroups.memory is not None
        return [
            (res, value)
            for res, value in rlimits_for(limits)
            if res != resource.RLIMIT_NPROC and not (memcg and res == resource.RLIMIT_AS)
        ]

    def _launch(
        self,
        spec: RunSpec,
        workdir: str,
        uid: int | None,
        group: RunCgroup | None,
        fds: list[int],
        status_w: int,
    ) -> list[str]:
        plan, opts = self.plan, self.plan.options
        in_bwrap = plan.bwrap is not None
        hidden = mounts.hidden_paths([*spec.hidden_paths, *opts.hidden])
        ro = mounts.read_only_paths(opts.extra_read_only, hidden)
        rlimits = self._rlimits(spec.limits)
        if uid is not None or in_bwrap:
            # Counted per uid: here the candidate's own (leased, or in a fresh user namespace).
            rlimits.append((resource.RLIMIT_NPROC, spec.limits.processes + 1))
        cgroup_fds = [] if group is None else [os.dup(fd) for fd in group.join_fds]
        fds += cgroup_fds
        cfg: dict[str, object] = {
            "argv": list(spec.argv),
            "env": dict(spec.env),
            "cwd": workdir,
            "uid": uid,
            "gid": uid,
            "rlimits": rlimits,
            "cgroup_fds": cgroup_fds,
            "parent": os.getpid(),
            "copy": {"io": mounts.IO_DIR, "skip": _skips(hidden, workdir)} if in_bwrap else None,
            "pidns": in_bwrap,
            "landlock": None,
            "seccomp": plan.seccomp,
            "require": plan.require,
        }
        if plan.landlock:
            read, write = mounts.landlock_paths(in_bwrap=in_bwrap, workdir=workdir, read_only=ro)
            # Inside bubblewrap a mount the candidate cannot remove (no capability, no
            # user namespace, no mount call) already covers each hidden path. Carving
            # it out of the allowlist too costs a rule per sibling on the way down
            # (about 260 for a file in site-packages, 4 to 20 ms a launch), so only
            # without bubblewrap, where Landlock is the one barrier, is it done.
            cfg["landlock"] = {"read": read, "write": write, "hidden": [] if in_bwrap else hidden}
        cfg_fd = _memfd("evoforge-launch", self.launcher_code() + marshal.dumps(cfg))
        fds.append(cfg_fd)
        command = [
            sys.executable,
            "-I",
            "-S",
            "-B",
            "-c",
            launcher.BOOT,
            str(cfg_fd),
            str(status_w),
        ]
        if plan.bwrap is None:
            return command
        user = uid if uid is not None else os.getuid()
        passwd, groups = mounts.passwd_lines(
            user, user if uid is not None else os.getgid(), workdir
        )
        passwd_fd, group_fd = _memfd("passwd", passwd), _memfd("group", groups)
        fds += [passwd_fd, group_fd]
        prefix = mounts.bwrap_argv(
            bwrap=plan.bwrap,
            root=os.geteuid() == 0,
            workdir=workdir,
            read_only=ro,
            hidden=hidden,
            scratch_bytes=spec.limits.scratch_mb * _MB,
            passwd_fd=passwd_fd,
            group_fd=group_fd,
        )
        return prefix + command

    def _preexec(
        self, limits: Limits, group: RunCgroup | None, uid: int | None
    ) -> Callable[[], None]:
        """Layers 1 to 3 without the launcher: join the cgroups, set rlimits, drop the uid."""
        pairs = self._rlimits(limits)
        if uid is not None:
            pairs.append((resource.RLIMIT_NPROC, limits.processes))
        base = make_preexec(pairs)

        def preexec() -> None:
            if group is not None:
                group.join_in_child()
            base()
            if uid is not None:
                os.setgroups([])
                os.setresgid(uid, uid, uid)
                os.setresuid(uid, uid, uid)

        return preexec


def _skips(hidden: list[str], workdir: str) -> list[str]:
    return [
        os.path.relpath(h, workdir) for h in hidden if mounts.under(h, workdir) and h != workdir
    ]


def _memfd(name: str, data: bytes) -> int:
    fd = os.memfd_create(name)  # close-on-exec; pass_fds hands it to the sandbox alone
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    fds.clear()


def _read_status(fd: int) -> dict[str, str]:
    """The launcher's report, read once the sandbox is gone (so without blocking)."""
    os.set_blocking(fd, False)
    data = b""
    with contextlib.suppress(BlockingIOError):
        while len(data) < 1 << 20 and (chunk := os.read(fd, 65536)):
            data += chunk
    out: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition("\t")
        if sep:
            out[key] = value
    return out


def _finish(
    result: RunResult, status: dict[str, str], group: RunCgroup | None, limits: Limits
) -> RunResult:
    """The supervisor's result, with the candidate's own exit status and why it ended."""
    oom = group.oom_kills() if group is not None else 0
    cpu_limit = limits.cpu_seconds if limits.cpu_seconds is not None else limits.wall_seconds * 2
    exit_code = result.exit_code
    with contextlib.suppress(KeyError, ValueError):
        exit_code = int(status["exit_code"])
    # The supervisor's wait4 figures are not the candidate's: bubblewrap's pid-1 reaper
    # passes no usage on, and Linux reports as ru_maxrss of a child started by fork or
    # vfork the peak of the caller's own memory. The launcher reaps the candidate itself;
    # without it, the memory cgroup's peak stands in.
    if group is not None and group.peak_kb():
        result = dataclasses.replace(result, max_rss_kb=group.peak_kb())
    with contextlib.suppress(KeyError, ValueError):
        result = dataclasses.replace(
            result, cpu_s=float(status["cpu_s"]), max_rss_kb=int(status["max_rss_kb"])
        )
    killed_by = result.killed_by
    if killed_by != "timeout":
        killed_by = ""
        if oom:
            killed_by = "memory"
        elif exit_code is not None and exit_code < 0:
            sig = -exit_code
            # RLIMIT_CPU with soft == hard sends SIGKILL, not SIGXCPU, once it is reached.
            if sig == signal.SIGXCPU or (sig == signal.SIGKILL and result.cpu_s >= cpu_limit - 0.5):
                killed_by = "cpu"
    return dataclasses.replace(result, exit_code=exit_code, killed_by=killed_by)


def _chown_tree(top: str, uid: int) -> None:
    os.lchown(top, uid, uid)
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, uid)
