"""The seccomp filter: its program, what it answers each system call, and a process under it."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from evoforge.sandbox import seccomp_filter
from evoforge.sandbox.seccomp_filter import (
    AF_INET,
    AF_INET6,
    AF_PACKET,
    X86_64_CLONE,
    X86_64_CLONE3,
    X86_64_DENIED,
    X86_64_SOCKET,
    SeccompError,
)

needs_table = pytest.mark.skipif(
    bool(seccomp_filter.supported()), reason=seccomp_filter.supported() or "supported"
)
ALLOW = 0x7FFF0000
EPERM = 0x00050000 | errno.EPERM
ENOSYS = 0x00050000 | errno.ENOSYS
AUDIT_ARCH_X86_64, AUDIT_ARCH_I386 = 0xC000003E, 0x40000003
CLONE_THREAD_FLAGS = 0x003D0F00  # what pthread_create passes


def test_program_is_well_formed() -> None:
    prog = seccomp_filter.build_program()
    assert len(prog) < 4096  # the kernel's limit
    assert all(0 <= jt <= 255 and 0 <= jf <= 255 for _, jt, jf, _ in prog)
    assert prog[-1][0] == 0x06 and prog[-2][0] == 0x06  # ends with return statements
    for pc, (code, jt, jf, _) in enumerate(prog):
        if code & 0x07 == 0x05:  # a jump never leaves the program
            assert pc + 1 + max(jt, jf) < len(prog)


def _answer(nr: int, arg0: int = 0, arch: int = AUDIT_ARCH_X86_64) -> int:
    """What the filter returns for one system call, run by a small classic-BPF machine."""
    data = {0: nr, 4: arch, 16: arg0}
    prog, pc, acc = seccomp_filter.build_program(), 0, 0
    while True:
        code, jt, jf, k = prog[pc]
        if code == 0x20:
            acc, pc = data[k], pc + 1
        elif code in (0x15, 0x35, 0x45):
            taken = {0x15: acc == k, 0x35: acc >= k, 0x45: bool(acc & k)}[code]
            pc += 1 + (jt if taken else jf)
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected instruction {code:#x} at {pc}")


def test_every_listed_system_call_is_refused_with_eperm() -> None:
    assert {name: _answer(nr) for name, nr in X86_64_DENIED.items()} == dict.fromkeys(
        X86_64_DENIED, EPERM
    )


def test_ordinary_system_calls_are_allowed() -> None:
    read, write, mmap, execve, wait4, openat = 0, 1, 9, 59, 61, 257
    for nr in (read, write, mmap, execve, wait4, openat):
        assert _answer(nr) == ALLOW, nr


def test_only_network_sockets_are_refused() -> None:
    for family in (AF_INET, AF_INET6, AF_PACKET):
        assert _answer(X86_64_SOCKET, family) == EPERM, family
    af_unix, af_netlink = 1, 16
    assert _answer(X86_64_SOCKET, af_unix) == ALLOW
    assert _answer(X86_64_SOCKET, af_netlink) == ALLOW


def test_clone_is_refused_any_new_namespace_and_clone3_answers_enosys() -> None:
    for bit in range(32):
        flag = 1 << bit
        if flag & seccomp_filter.CLONE_NEW_FLAGS:
            assert _answer(X86_64_CLONE, CLONE_THREAD_FLAGS | flag) == EPERM, hex(flag)
    assert _answer(X86_64_CLONE, CLONE_THREAD_FLAGS) == ALLOW
    assert _answer(X86_64_CLONE3) == ENOSYS


def test_other_abis_are_refused_even_for_harmless_calls() -> None:
    x32_read = 0x40000000
    assert _answer(x32_read) == EPERM
    assert _answer(0, arch=AUDIT_ARCH_I386) == EPERM


def test_a_jump_too_far_for_classic_bpf_is_an_error() -> None:
    with pytest.raises(ValueError, match="out of range"):
        seccomp_filter._offset("deny", {"deny": 300}, 0)


def test_a_machine_without_a_table_is_refused_before_anything_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "uname", lambda: SimpleNamespace(machine="aarch64"))
    assert "aarch64" in seccomp_filter.supported()
    with pytest.raises(SeccompError) as caught:
        seccomp_filter.install()
    assert caught.value.errno == errno.ENOSYS


def _under_filter(body: str) -> dict[str, object]:
    code = (
        "import ctypes, json, os, socket\n"
        "from evoforge.sandbox import seccomp_filter\n"
        "seccomp_filter.install()\n" + body
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    parsed: dict[str, object] = json.loads(done.stdout)
    return parsed


@needs_table
def test_filtered_process_keeps_unix_sockets_threads_and_fork() -> None:
    report = _under_filter(
        "import threading\n"
        "a, b = socket.socketpair(); a.sendall(b'x')\n"
        "t = threading.Thread(target=lambda: None); t.start(); t.join()\n"
        "pid = os.fork()\n"
        "if pid == 0: os._exit(7)\n"
        "print(json.dumps({'unix': b.recv(1).decode(), 'child': os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])}))\n"
    )
    assert report == {"unix": "x", "child": 7}


@needs_table
def test_filtered_process_is_refused_network_namespaces_and_ptrace() -> None:
    report = _under_filter(
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "def err(rc): return ctypes.get_errno() if rc < 0 else 'allowed'\n"
        "res = {'inet': err(libc.socket(2, 1, 0)), 'inet6': err(libc.socket(10, 1, 0)),\n"
        "       'unix': err(libc.socket(1, 1, 0)), 'unshare': err(libc.unshare(0x10000000)),\n"
        "       'ptrace': err(libc.ptrace(0, 0, 0, 0))}\n"
        "print(json.dumps(res))\n"
    )
    eperm = 1
    assert report == {
        "inet": eperm,
        "inet6": eperm,
        "unix": "allowed",
        "unshare": eperm,
        "ptrace": eperm,
    }
