"""Layer 4: what a candidate may see, as a bubblewrap command line and a Landlock allowlist.

Inside bubblewrap the root is an empty tmpfs holding only: the system folders
(``/usr`` and the ``/bin``, ``/lib``... links or folders), the loader's files from
``/etc`` and a generated ``/etc/passwd``, the interpreter's prefixes (the venv and
the Python it was made from, not the repository around them), any extra
read-only paths, a minimal ``/dev``, a fresh ``/proc`` of the new pid namespace,
size-capped tmpfs for ``/tmp``, ``/dev/shm`` and the scratch folder (mounted at
the host scratch folder's path, so ``HOME`` and paths in the command still
resolve), and, under the root-only ``/.evoforge``, the host scratch folder the
launcher copies from and back to. A hidden path inside a mounted tree is
covered by an empty tmpfs (a folder) or by ``/dev/null`` (a file).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime")
"""The loader's cache (without it every library is searched for) and the time zone."""
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")
IO_DIR = "/.evoforge/io"
ROOT_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL")
"""What bubblewrap leaves the launcher when evoforge is root: enough to copy the scratch
folder in for the candidate's uid, empty the bounding set and switch to that uid (which
clears them all)."""


def under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _system_real() -> list[str]:
    return [os.path.realpath(d) for d in SYSTEM_DIRS if os.path.isdir(d)]


def read_only_paths(extra: Iterable[Path], hidden: Sequence[str]) -> list[str]:
    """Host paths bound read-only at their own place: outermost first, no duplicates.

    The running interpreter's prefixes (the launcher runs on it, and so does a
    candidate started with ``sys.executable``) with their real paths, plus the
    ``extra`` paths that are not inside a hidden path; paths inside the system
    folders are dropped (already there). A hidden folder holding a prefix (say,
    the repository around a venv) stays hidden: only the prefix is mounted.
    """
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    wanted = [*prefixes]
    for p in map(str, extra):
        if not any(under(os.path.abspath(p), h) or under(os.path.realpath(p), h) for h in hidden):
            wanted.append(p)
    paths: set[str] = set()
    for p in wanted:
        for q in (os.path.abspath(p), os.path.realpath(p)):
            if os.path.exists(q):
                paths.add(os.path.normpath(q))
    system = _system_real()
    keep = [p for p in paths if not any(under(p, s) for s in system)]
    keep.sort(key=lambda p: (p.count("/"), p))
    out: list[str] = []
    for p in keep:
        if not any(under(p, q) for q in out):
            out.append(p)
    return out


def hidden_paths(paths: Iterable[Path | str]) -> list[str]:
    """Absolute hidden paths, each also under its real path when that differs."""
    out: set[str] = set()
    for p in paths:
        out.add(os.path.normpath(os.path.abspath(p)))
        out.add(os.path.realpath(p))
    return sorted(out)


def bwrap_argv(
    *,
    bwrap: str,
    root: bool,
    workdir: str,
    read_only: Sequence[str],
    hidden: Sequence[str],
    scratch_bytes: int,
    passwd_fd: int,
    group_fd: int,
) -> list[str]:
    """The bubblewrap prefix; the launcher's command line goes after it."""
    size = str(scratch_bytes)
    args = [
        bwrap,
        "--die-with-parent",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "evoforge",
    ]
    if root:
        # As root bubblewrap keeps every capability unless told; a candidate holding
        # CAP_SYS_ADMIN could unmount the masks. The launcher's uid switch clears the rest.
        args += ["--cap-drop", "ALL"]
        for cap in ROOT_CAPS:
            args += ["--cap-add", cap]
    else:
        args += ["--unshare-user", "--disable-userns"]
    args += ["--perms", "0700", "--dir", "/.evoforge"]
    args += ["--bind", workdir, IO_DIR]
    for d in SYSTEM_DIRS:
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            args += ["--ro-bind", d, d]
    args += ["--perms", "0755", "--dir", "/etc"]
    for f in ETC_FILES:
        args += ["--ro-bind-try", f, f]
    args += ["--perms", "0444", "--ro-bind-data", str(passwd_fd), "/etc/passwd"]
    args += ["--perms", "0444", "--ro-bind-data", str(group_fd), "/etc/group"]
    args += ["--dev", "/dev", "--size", size, "--perms", "1777", "--tmpfs", "/dev/shm"]
    args += ["--proc", "/proc", "--size", size, "--perms", "1777", "--tmpfs", "/tmp"]
    # After /tmp, which may hold them. bubblewrap makes missing parent folders 0700,
    # and the candidate must traverse them.
    args += _parent_dirs([*read_only, workdir])
    for p in read_only:
        args += ["--ro-bind", p, p]
    args += ["--size", size, "--perms", "0700", "--tmpfs", workdir]
    args += mask_args(hidden, [*_system_real(), *read_only])
    args += ["--chdir", workdir, "--"]
    return args


_OWN_MOUNTS = ("/tmp", "/dev", "/dev/shm", "/proc", "/etc", "/.evoforge")


def _parent_dirs(paths: Sequence[str]) -> list[str]:
    made: list[str] = []
    for p in paths:
        parts = p.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/" + "/".join(parts[:i])
            if d not in made and d not in _OWN_MOUNTS and not any(under(d, s) for s in SYSTEM_DIRS):
                made.append(d)
    args: list[str] = []
    for d in made:
        args += ["--perms", "0755", "--dir", d]
    return args


def mask_args(hidden: Sequence[str], mounted: Sequence[str]) -> list[str]:
    """Cover each hidden path that lies inside a mounted tree."""
    args: list[str] = []
    for h in hidden:
        if not any(under(h, m) for m in mounted) or not os.path.lexists(h):
            continue
        if os.path.isdir(h) and not os.path.islink(h):
            args += ["--perms", "0000", "--tmpfs", h, "--remount-ro", h]
        else:
            args += ["--ro-bind", "/dev/null", h]
    return args


def passwd_lines(uid: int, gid: int, home: str) -> tuple[bytes, bytes]:
    """A minimal /etc/passwd and /etc/group naming the candidate's user."""
    users = [("root", 0, 0, "/root"), ("candidate", uid, gid, home)]
    if uid != 65534:
        users.append(("nobody", 65534, 65534, "/nonexistent"))
    passwd = "".join(f"{n}:x:{u}:{g}::{h}:/bin/sh\n" for n, u, g, h in users)
    groups = {0: "root", gid: "candidate", 65534: "nogroup"}
    group = "".join(f"{name}:x:{g}:\n" for g, name in groups.items())
    return passwd.encode(), group.encode()


def landlock_paths(
    *, in_bwrap: bool, workdir: str, read_only: Sequence[str]
) -> tuple[list[str], list[str]]:
    """The (read, write) allowlist for Landlock, as paths seen by the candidate."""
    read = [*SYSTEM_DIRS, *read_only, "/proc"]
    write = [workdir, *DEVICES]
    if in_bwrap:
        read.append("/etc")  # only what the mount plan put there
        write += ["/tmp", "/dev/shm"]
    else:
        read += [*ETC_FILES, "/etc/passwd", "/etc/group"]
    return read, write
