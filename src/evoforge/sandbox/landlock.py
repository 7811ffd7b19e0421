"""Layer 5b: Landlock, a file-system allowlist the kernel enforces, via raw syscalls.

:func:`restrict` lets the calling process (and everything it starts) read and
execute below the ``read`` paths, read and write below the ``write`` paths, and
nothing else; ``hidden`` paths are carved out of the allowed trees (Landlock has
no deny rules, so an allowed tree holding a hidden file is granted entry by
entry, minus the hidden branch; listing names stays possible, reading does not).
With ABI 4 or later every TCP bind and connect is denied; with ABI 6 or later
signals and abstract Unix sockets cannot reach processes outside the domain.
Landlock also stops a restricted process from tracing one outside its domain.

This module runs inside the sandbox under the launcher, so it imports nothing
but the standard library.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX, SCOPE_SIGNAL = 1 << 0, 1 << 1

_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
"""The rights Landlock accepts on a rule for a file that is not a directory."""
READ = EXECUTE | READ_FILE | READ_DIR


class LandlockError(OSError):
    """Landlock is unavailable or a rule could not be added."""


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def abi_version() -> int:
    """The kernel's Landlock ABI version, or 0 where Landlock is absent or disabled."""
    ret = _libc().syscall(
        _SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION)
    )
    return max(0, int(ret))


def fs_rights(abi: int) -> int:
    """Every file-system right this ABI can handle."""
    return max(v for k, v in _FS_BY_ABI.items() if k <= abi) if abi >= 1 else 0


def restrict(
    *,
    read: Iterable[str],
    write: Iterable[str],
    hidden: Iterable[str] = (),
    abi: int | None = None,
) -> int:
    """Restrict the calling process for good; returns the ABI version used.

    Paths that do not exist are skipped. Raises :class:`LandlockError` where the
    kernel has no Landlock. Sets no-new-privs (Landlock requires it).
    """
    abi = abi_version() if abi is None else abi
    if abi < 1:
        raise LandlockError(errno.EOPNOTSUPP, "Landlock is not available in this kernel")
    handled = fs_rights(abi)
    attr = _RulesetAttr(handled, 0, 0)
    if abi >= 4:
        attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP
    if abi >= 6:
        attr.scoped = SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL
    libc = _libc()
    # Only the fields this ABI knows: an older kernel rejects a larger struct.
    size = 8 if abi < 4 else (16 if abi < 6 else 24)
    ruleset = libc.syscall(
        _SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)
    )
    if ruleset < 0:
        err = ctypes.get_errno()
        raise LandlockError(err, f"landlock_create_ruleset: {os.strerror(err)}")
    try:
        hidden_set = {os.path.normpath(h) for h in hidden}
        rw = handled & ~(MAKE_CHAR | MAKE_BLOCK)
        for path in read:
            _allow_tree(libc, int(ruleset), os.path.normpath(path), READ & handled, hidden_set)
        for path in write:
            _allow_tree(libc, int(ruleset), os.path.normpath(path), rw, hidden_set)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            err = ctypes.get_errno()
            raise LandlockError(err, f"prctl(NO_NEW_PRIVS): {os.strerror(err)}")
        if libc.syscall(_SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            err = ctypes.get_errno()
            raise LandlockError(err, f"landlock_restrict_self: {os.strerror(err)}")
    finally:
        os.close(int(ruleset))
    return abi


def _allow_tree(libc: ctypes.CDLL, ruleset: int, path: str, access: int, hidden: set[str]) -> None:
    """Allow ``path`` with ``access``, minus any hidden path below it."""
    if path in hidden:
        return
    below = [h for h in hidden if h.startswith(path.rstrip("/") + "/")]
    if not below:
        _add_rule(libc, ruleset, path, access)
        return
    # Carve out: the names stay listable, every branch but the hidden one is allowed.
    _add_rule(libc, ruleset, path, access & READ_DIR)
    try:
        entries = list(os.scandir(path))
    except OSError:
        return
    for entry in entries:
        if entry.is_symlink():
            continue  # a link grants nothing itself; its target is judged on its own
        _allow_tree(libc, ruleset, entry.path, access, hidden)


def _add_rule(libc: ctypes.CDLL, ruleset: int, path: str, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # absent paths grant nothing
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            access &= FILE_ONLY
        if not access:
            return
        rule = _PathBeneathAttr(access, fd)
        kind = ctypes.c_int(_RULE_PATH_BENEATH)
        ret = libc.syscall(_SYS_ADD_RULE, ctypes.c_int(ruleset), kind, ctypes.byref(rule), 0)
        if ret != 0:
            err = ctypes.get_errno()
            raise LandlockError(err, f"landlock_add_rule({path}): {os.strerror(err)}")
    finally:
        os.close(fd)
