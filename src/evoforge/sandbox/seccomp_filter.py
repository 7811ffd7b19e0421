"""Layer 5a: a seccomp filter, written as classic BPF with ctypes (no dependency).

The filter returns EPERM (the candidate sees an error, the run goes on) for
system calls a training program never needs and an escape usually does: ptrace
and cross-process memory access, mount and the new mount API, namespaces
(``unshare``, ``setns`` and ``clone`` with any ``CLONE_NEW*`` flag), bpf, the
kernel keyring, perf events, io_uring (it can open sockets without the
``socket`` call), module and kexec loading. ``socket`` is allowed except for
``AF_INET``, ``AF_INET6`` and ``AF_PACKET``, so ``AF_UNIX`` keeps working.
``clone3`` answers ENOSYS, because its flags live in memory a filter cannot read;
the C library then falls back to ``clone``, whose flags it can. Any system call
made through another ABI (32-bit ``int 0x80``, x32) is refused.

Only x86_64 has a table. This module runs inside the sandbox under the
launcher, so it imports nothing but the standard library.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2

_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_BIT = 0x40000000

_LD_ABS_W = 0x20
_JEQ = 0x15
_JGE = 0x35
_JSET = 0x45
_RET = 0x06

_OFF_NR = 0
_OFF_ARCH = 4
_OFF_ARG0 = 16  # low 32 bits of args[0] on a little-endian machine

AF_INET, AF_INET6, AF_PACKET = 2, 10, 17
CLONE_NEW_FLAGS = (
    0x00000080  # NEWTIME
    | 0x00020000  # NEWNS
    | 0x02000000  # NEWCGROUP
    | 0x04000000  # NEWUTS
    | 0x08000000  # NEWIPC
    | 0x10000000  # NEWUSER
    | 0x20000000  # NEWPID
    | 0x40000000  # NEWNET
)

X86_64_DENIED = {
    "ptrace": 101,
    "syslog": 103,
    "uselib": 134,
    "pivot_root": 155,
    "acct": 163,
    "chroot": 161,
    "mount": 165,
    "umount2": 166,
    "swapon": 167,
    "swapoff": 168,
    "reboot": 169,
    "iopl": 172,
    "ioperm": 173,
    "init_module": 175,
    "delete_module": 176,
    "quotactl": 179,
    "lookup_dcookie": 212,
    "kexec_load": 246,
    "add_key": 248,
    "request_key": 249,
    "keyctl": 250,
    "unshare": 272,
    "perf_event_open": 298,
    "name_to_handle_at": 303,
    "open_by_handle_at": 304,
    "setns": 308,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "kcmp": 312,
    "finit_module": 313,
    "kexec_file_load": 320,
    "bpf": 321,
    "userfaultfd": 323,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "pidfd_getfd": 438,
    "mount_setattr": 442,
}
X86_64_SOCKET, X86_64_CLONE, X86_64_CLONE3 = 41, 56, 435


class SeccompError(OSError):
    """The filter could not be installed (no kernel support, or no table for this machine)."""


def supported() -> str:
    """An empty string when this machine has a filter table, else why not."""
    machine = os.uname().machine
    if machine != "x86_64":
        return f"no system-call table for {machine} (only x86_64)"
    return ""


def _stmt(code: int, k: int) -> tuple[int, int, int, int]:
    return (code, 0, 0, k)


def build_program() -> list[tuple[int, int, int, int]]:
    """The filter as (code, jt, jf, k) instructions; jumps are already resolved."""
    deny, enosys, allow = "deny", "enosys", "allow"
    socket_check, clone_check = "socket_check", "clone_check"
    # Symbolic program first: a jump target is a label, resolved below.
    prog: list[tuple[int, object, object, int] | str] = [
        (_LD_ABS_W, 0, 0, _OFF_ARCH),
        (_JEQ, 0, deny, _AUDIT_ARCH_X86_64),
        (_LD_ABS_W, 0, 0, _OFF_NR),
        (_JGE, deny, 0, _X32_BIT),
    ]
    for nr in sorted(X86_64_DENIED.values()):
        prog.append((_JEQ, deny, 0, nr))
    prog += [
        (_JEQ, socket_check, 0, X86_64_SOCKET),
        (_JEQ, clone_check, 0, X86_64_CLONE),
        (_JEQ, enosys, 0, X86_64_CLONE3),
        allow,
        (_RET, 0, 0, _RET_ALLOW),
        socket_check,
        (_LD_ABS_W, 0, 0, _OFF_ARG0),
        (_JEQ, deny, 0, AF_INET),
        (_JEQ, deny, 0, AF_INET6),
        (_JEQ, deny, 0, AF_PACKET),
        (_RET, 0, 0, _RET_ALLOW),
        clone_check,
        (_LD_ABS_W, 0, 0, _OFF_ARG0),
        (_JSET, deny, 0, CLONE_NEW_FLAGS),
        (_RET, 0, 0, _RET_ALLOW),
        deny,
        (_RET, 0, 0, _RET_ERRNO | errno.EPERM),
        enosys,
        (_RET, 0, 0, _RET_ERRNO | errno.ENOSYS),
    ]
    labels: dict[str, int] = {}
    pc = 0
    for item in prog:
        if isinstance(item, str):
            labels[item] = pc
        else:
            pc += 1
    out: list[tuple[int, int, int, int]] = []
    for item in prog:
        if isinstance(item, str):
            continue
        code, jt, jf, k = item
        here = len(out)
        out.append((code, _offset(jt, labels, here), _offset(jf, labels, here), k))
    return out


def _offset(target: object, labels: dict[str, int], here: int) -> int:
    if isinstance(target, int):
        return target
    off = labels[str(target)] - here - 1
    if not 0 <= off <= 255:
        raise ValueError(f"seccomp jump out of range: {off}")
    return off


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install() -> None:
    """Set no-new-privs and install the filter on the calling thread (and its children).

    Call it in a single-threaded process right before ``exec``: the filter holds
    for the rest of the process tree's life and cannot be removed.
    """
    why = supported()
    if why:
        raise SeccompError(errno.ENOSYS, why)
    insns = build_program()
    raw = b"".join(struct.pack("=HBBI", *insn) for insn in insns)
    buf = ctypes.create_string_buffer(raw, len(raw))
    prog = _SockFprog(len(insns), ctypes.cast(buf, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [
        ctypes.c_int,
        ctypes.c_ulong,
        ctypes.c_void_p,
        ctypes.c_ulong,
        ctypes.c_ulong,
    ]
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0:
        err = ctypes.get_errno()
        raise SeccompError(err, f"prctl(NO_NEW_PRIVS): {errno.errorcode.get(err, err)}")
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise SeccompError(err, f"prctl(SET_SECCOMP): {errno.errorcode.get(err, err)}")
