"""Layer 3: a memory and a pids cgroup per candidate, removed after it.

Each controller is used where this process can create a child of its own cgroup:
cgroup v1 (one hierarchy per controller) or v2 (one unified tree, where the
controller must also be enabled for children, which the kernel allows only for a
cgroup without processes of its own or for the root). The candidate joins its
groups before it starts: the launcher (or, without one, the supervisor's child)
writes ``0`` to ``cgroup.procs`` through a descriptor opened here, so everything
it starts is counted, including processes that leave its session. In cgroup v1 a
join waits for an RCU grace period (milliseconds; see bench/RESULTS.md); v2 could
avoid it with ``clone3(CLONE_INTO_CGROUP)``, which Python's subprocess cannot use.

After the candidate, :meth:`RunCgroup.kill_all` kills whatever is still in the
groups. It signals through a pidfd opened *before* checking that the pid is still
a member, so a pid reused by an unrelated process is never signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CONTROLLERS = ("memory", "pids")


@dataclass(frozen=True)
class CgroupSupport:
    """Where each controller's per-run groups are created (None: not usable, see ``why``)."""

    memory: Path | None
    pids: Path | None
    memory_v2: bool = False
    pids_v2: bool = False
    why_memory: str = ""
    why_pids: str = ""


def _mounts() -> tuple[dict[str, tuple[Path, str]], tuple[Path, str] | None]:
    """v1 mount point and root per controller, and the v2 mount point and root."""
    v1: dict[str, tuple[Path, str]] = {}
    v2: tuple[Path, str] | None = None
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        for line in fh:
            left, _, right = line.partition(" - ")
            fields, rfields = left.split(), right.split()
            if len(fields) < 5 or len(rfields) < 3:
                continue
            root, point, fstype = fields[3], Path(fields[4]), rfields[0]
            if fstype == "cgroup2" and v2 is None:
                v2 = (point, root)
            elif fstype == "cgroup":
                for opt in rfields[2].split(","):
                    if opt in CONTROLLERS and opt not in v1:
                        v1[opt] = (point, root)
    return v1, v2


def _own_paths() -> tuple[dict[str, str], str | None]:
    """This process's cgroup path per v1 controller, and its v2 path."""
    v1: dict[str, str] = {}
    v2: str | None = None
    with open("/proc/self/cgroup", encoding="utf-8") as fh:
        for line in fh:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if ctrls == "":
                v2 = path
            for c in ctrls.split(","):
                if c in CONTROLLERS:
                    v1[c] = path
    return v1, v2


def _under(point: Path, mount_root: str, path: str) -> Path:
    rel = os.path.relpath(path, mount_root) if path.startswith(mount_root) else path
    return point / rel.lstrip("/") if rel != "." else point


def _try_create(base: Path) -> str:
    probe = base / f"evoforge-probe-{uuid.uuid4().hex[:8]}"
    try:
        probe.mkdir()
    except OSError as exc:
        return f"cannot create a cgroup under {base}: {exc.strerror}"
    with contextlib.suppress(OSError):
        probe.rmdir()
    return ""


def find_cgroups() -> CgroupSupport:
    """Probe both controllers; never raises."""
    try:
        v1_mounts, v2_mount = _mounts()
        v1_paths, v2_path = _own_paths()
    except OSError as exc:
        why = f"cannot read the cgroup layout: {exc}"
        return CgroupSupport(None, None, why_memory=why, why_pids=why)
    found: dict[str, tuple[Path | None, bool, str]] = {}
    for ctrl in CONTROLLERS:
        if ctrl in v1_mounts and ctrl in v1_paths:
            point, root = v1_mounts[ctrl]
            base = _under(point, root, v1_paths[ctrl])
            why = _try_create(base)
            found[ctrl] = (None if why else base, False, why)
        elif v2_mount is not None and v2_path is not None:
            base = _under(v2_mount[0], v2_mount[1], v2_path)
            why = _enable_v2(base, ctrl)
            found[ctrl] = (None if why else base, True, why)
        else:
            found[ctrl] = (None, False, f"no {ctrl} cgroup controller is mounted")
    mem, pids = found["memory"], found["pids"]
    return CgroupSupport(mem[0], pids[0], mem[1], pids[1], mem[2], pids[2])


def _enable_v2(base: Path, ctrl: str) -> str:
    try:
        available = (base / "cgroup.controllers").read_text().split()
        if ctrl not in available:
            return f"the {ctrl} controller is not delegated to {base}"
        if ctrl not in (base / "cgroup.subtree_control").read_text().split():
            (base / "cgroup.subtree_control").write_text(f"+{ctrl}")
    except OSError as exc:
        return f"cannot enable {ctrl} for children of {base} ({exc.strerror}; "
        "a cgroup v2 parent with processes of its own cannot)"
    return _try_create(base)


class RunCgroup:
    """The groups of one candidate. Create with :func:`run_cgroup`."""

    def __init__(self, dirs: list[Path], v2: dict[Path, bool]) -> None:
        self.dirs = dirs
        self.v2 = v2
        self.join_fds: list[int] = []

    def join_in_child(self) -> None:
        """Move the calling (forked, not yet exec'd) process into every group."""
        for fd in self.join_fds:
            os.write(fd, b"0")

    def members(self) -> set[int]:
        pids: set[int] = set()
        for d in self.dirs:
            with contextlib.suppress(OSError):
                pids.update(int(p) for p in (d / "cgroup.procs").read_text().split())
        return pids

    def kill_all(self, timeout: float = 2.0) -> None:
        """SIGKILL every member until none is left (or the timeout passes)."""
        deadline = time.monotonic() + timeout
        while (pids := self.members()) and time.monotonic() < deadline:
            for pid in pids:
                _kill_if_member(pid, self)
            time.sleep(0.002)

    def peak_kb(self) -> int:
        """The memory group's peak usage in KiB (0 where unknown)."""
        for d in self.dirs:
            name = "memory.peak" if self.v2.get(d) else "memory.max_usage_in_bytes"
            with contextlib.suppress(OSError, ValueError):
                return int((d / name).read_text()) // 1024
        return 0

    def oom_kills(self) -> int:
        """How many processes the kernel killed for reaching the memory limit."""
        for d in self.dirs:
            name = "memory.events" if self.v2.get(d) else "memory.oom_control"
            with contextlib.suppress(OSError, ValueError):
                for line in (d / name).read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        return 0


def _kill_if_member(pid: int, group: RunCgroup) -> None:
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return
    try:
        if pid in group.members():
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    finally:
        os.close(pidfd)


@contextlib.contextmanager
def run_cgroup(
    support: CgroupSupport, *, memory_bytes: int | None, pids_max: int
) -> Iterator[RunCgroup]:
    """Create the candidate's groups with their limits; kill and remove them after."""
    name = f"evoforge-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    group = RunCgroup([], {})
    try:
        for base, is_v2, ctrl in (
            (support.memory, support.memory_v2, "memory"),
            (support.pids, support.pids_v2, "pids"),
        ):
            if base is None:
                continue
            d = base / name
            if d not in group.dirs:
                d.mkdir()
                group.dirs.append(d)
                group.v2[d] = is_v2
            _set_limit(d, ctrl, is_v2, memory_bytes, pids_max)
        for d in group.dirs:
            group.join_fds.append(os.open(d / "cgroup.procs", os.O_WRONLY | os.O_CLOEXEC))
        yield group
    finally:
        for fd in group.join_fds:
            os.close(fd)
        group.kill_all()
        for d in group.dirs:
            _rmdir(d)


def _set_limit(d: Path, ctrl: str, v2: bool, memory_bytes: int | None, pids_max: int) -> None:
    if ctrl == "pids":
        (d / "pids.max").write_text(str(pids_max))
    elif memory_bytes is not None and v2:
        (d / "memory.max").write_text(str(memory_bytes))
        with contextlib.suppress(OSError):
            (d / "memory.swap.max").write_text("0")
    elif memory_bytes is not None:
        (d / "memory.limit_in_bytes").write_text(str(memory_bytes))
        # With swap accounting, memory+swap gets the same cap, so nothing spills to swap.
        with contextlib.suppress(OSError):
            (d / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))


def _rmdir(d: Path) -> None:
    # A group is removable once its last member is reaped, which can lag a kill briefly.
    deadline = time.monotonic() + 2.0
    while True:
        try:
            d.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
