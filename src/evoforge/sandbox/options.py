"""What a user may choose about the sandbox, and how its strength is reported.

The *strength* of a sandbox is a mapping of layer name to state: ``"on"`` or
``"on (detail)"`` when active, ``"missing: reason"`` when the machine lacks it,
``"off: reason"`` when the options turned it off. Every value that does not start
with ``"on"`` is a weakness, and :func:`warnings_for` turns each into a line to
print loudly and to record with the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

OPTIONAL_LAYERS = ("cgroup", "bubblewrap", "landlock", "seccomp")
"""Layers 3 to 5; the supervisor and rlimits (layers 1 and 2) are always on."""


class WeakSandboxError(RuntimeError):
    """Neither namespaces nor Landlock are available and weak sandboxes were not allowed."""


@dataclass(frozen=True)
class SandboxOptions:
    layers: str = "auto"
    """"auto": every layer this machine has; "process": supervisor and rlimits only;
    or a comma-separated subset of cgroup, bubblewrap, landlock, seccomp."""
    allow_weak: bool = False
    """Run even with neither namespaces nor Landlock (the choice is recorded)."""
    uid: int = 1_900_000_000
    """When evoforge runs as root, candidates run under uids uid .. uid+uid_count-1, one
    per concurrent candidate, so that a process limit, signals and files never mix
    two candidates. The default block sits outside the ranges that distributions,
    systemd and rootless containers hand out."""
    uid_count: int = 512
    extra_read_only: tuple[Path, ...] = ()
    """More host paths a candidate may read (another interpreter, a shared data set)."""
    hidden: tuple[Path, ...] = ()
    """Paths always masked, on top of each run's ``hidden_paths``."""
    bwrap: str = "bwrap"
    state_dir: Path = Path("/run/evoforge-sandbox")
    """Where the uid leases are locked (root only)."""

    def wanted(self) -> frozenset[str]:
        """The optional layers these options ask for."""
        if self.layers == "auto":
            return frozenset(OPTIONAL_LAYERS)
        if self.layers == "process":
            return frozenset()
        names = frozenset(n.strip() for n in self.layers.split(",") if n.strip())
        unknown = sorted(names - set(OPTIONAL_LAYERS))
        if unknown:
            raise ValueError(
                f"unknown sandbox layer(s) {', '.join(unknown)}; choose from "
                f"{', '.join(OPTIONAL_LAYERS)}, or 'auto' or 'process'"
            )
        return names


def is_on(state: str) -> bool:
    return state.startswith("on")


_ADVICE = {
    "bubblewrap": "candidates see the host file system (less what Landlock denies) and "
    "share its network and process namespaces; install the 'bubblewrap' package",
    "landlock": "no kernel file-system allowlist; needs Linux 5.13+ with Landlock enabled",
    "seccomp": "dangerous system calls (ptrace, mount, unshare, bpf, raw sockets) are not filtered",
    "cgroup_memory": "memory is limited only per process (RLIMIT_AS)",
    "cgroup_pids": "the process count is limited only by RLIMIT_NPROC",
    "process_limit": "a fork bomb is stopped only by the wall timeout",
    "scratch_cap": "a candidate can fill the disk, one file at a time up to the file-size limit",
    "unprivileged_uid": "candidates run as root",
    "landlock_network": "TCP is not denied by Landlock",
}


def warnings_for(strength: Mapping[str, str]) -> list[str]:
    """One print-ready line per weak layer, with what it means and how to fix it."""
    lines = []
    for layer, state in strength.items():
        if is_on(state) or layer == "allow_weak":
            continue
        advice = _ADVICE.get(layer, "")
        lines.append(
            f"WARNING: sandbox layer {layer} is {state}" + (f" -- {advice}" if advice else "")
        )
    if "allow_weak" in strength:
        lines.append(f"WARNING: sandbox: {strength['allow_weak']}")
    return lines
