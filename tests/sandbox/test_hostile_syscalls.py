"""Hostile candidates that go after processes and the kernel: ptrace, signals, raw syscalls.

Containment: the target process is untouched, each forbidden call fails (seccomp
answers EPERM, or the pid namespace hides the target), and the run goes on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from sandbox_support import Hostile


@pytest.fixture
def bystander() -> Iterator[subprocess.Popen[bytes]]:
    """A host process standing in for the driver: it must survive every attack."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_ptraces_the_driver(hostile: Hostile, bystander: subprocess.Popen[bytes]) -> None:
    """Attach to the driver (and to the launcher beside it) with ptrace, or read its memory."""
    out = hostile.run(
        """
        import ctypes, json, os, sys
        libc = ctypes.CDLL(None, use_errno=True)
        libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
        res = {}
        for pid in (int(sys.argv[1]), int(sys.argv[2]), os.getppid(), 1):
            rc = libc.ptrace(16, pid, None, None)  # PTRACE_ATTACH
            res[f"attach/{pid}"] = "ok" if rc == 0 else os.strerror(ctypes.get_errno())
            rc = libc.ptrace(0x4206, pid, None, None)  # PTRACE_SEIZE
            res[f"seize/{pid}"] = "ok" if rc == 0 else os.strerror(ctypes.get_errno())
            buf = ctypes.create_string_buffer(8)
            local = (ctypes.c_void_p * 2)(ctypes.addressof(buf), 8)
            remote = (ctypes.c_void_p * 2)(0x400000, 8)
            rc = libc.process_vm_readv(pid, local, 1, remote, 1, 0)
            res[f"vm_read/{pid}"] = "ok" if rc >= 0 else os.strerror(ctypes.get_errno())
            try:
                with open(f"/proc/{pid}/mem", "rb") as fh:
                    res[f"mem/{pid}"] = "opened"
            except OSError as e:
                res[f"mem/{pid}"] = type(e).__name__
        rc = libc.ptrace(0, 0, None, None)  # PTRACE_TRACEME
        res["traceme"] = "ok" if rc == 0 else os.strerror(ctypes.get_errno())
        print(json.dumps(res))
        """,
        args=[str(bystander.pid), str(os.getpid())],
    )
    assert out.result.exit_code == 0, out.result
    report = out.report
    assert "ok" not in report.values() and "opened" not in report.values(), report
    assert report["traceme"] == "Operation not permitted"  # seccomp, not a missing target
    assert bystander.poll() is None


def test_signals_the_driver(hostile: Hostile, bystander: subprocess.Popen[bytes]) -> None:
    """Kill the driver by pid, its process group, and every process it can (kill -1)."""
    got: list[int] = []
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: got.append(signum))
    try:
        out = hostile.run(
            """
            import json, os, signal, sys
            signal.signal(signal.SIGUSR1, signal.SIG_IGN)  # its own group gets them too
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            res = {}
            for pid in (int(sys.argv[1]), int(sys.argv[2]), os.getppid(), 1):
                for sig in (signal.SIGUSR1, signal.SIGKILL):
                    try:
                        os.kill(pid, sig)
                        res[f"{pid}/{sig}"] = "sent"
                    except OSError as e:
                        res[f"{pid}/{sig}"] = type(e).__name__
            for target in (0, os.getpgrp()):
                try:
                    os.killpg(target, signal.SIGUSR1)
                    res[f"pg/{target}"] = "sent"
                except OSError as e:
                    res[f"pg/{target}"] = type(e).__name__
            try:
                os.kill(-1, signal.SIGTERM)
                res["all"] = "sent"
            except OSError as e:
                res["all"] = type(e).__name__
            print(json.dumps(res))
            """,
            args=[str(bystander.pid), str(os.getpid())],
        )
        time.sleep(0.1)  # a signal sent would have arrived by now
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert out.result.exit_code == 0, out.result
    assert got == []
    assert bystander.poll() is None
    assert out.status.get("copy_back") == "ok"  # the launcher beside it survived too


def test_forbidden_syscalls_through_ctypes(hostile: Hostile) -> None:
    """Make the dangerous system calls directly with ctypes, bypassing Python's wrappers;
    also through the x32 and the 32-bit (int 0x80) entry points."""
    out = hostile.run(
        """
        import ctypes, json, mmap, os
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        calls = {
            "unshare(NEWUSER)": (272, 0x10000000),
            "unshare(NEWNET)": (272, 0x40000000),
            "setns": (308, 0, 0),
            "mount": (165, 0, 0, 0, 0, 0),
            "umount2": (166, 0, 0),
            "bpf": (321, 0, 0, 0),
            "keyctl": (250, 0, 0),
            "add_key": (248, 0, 0, 0, 0, 0),
            "perf_event_open": (298, 0, 0, -1, -1, 0),
            "ptrace": (101, 0, 0, 0, 0),
            "userfaultfd": (323, 0),
            "io_uring_setup": (425, 1, 0),
            "clone(NEWUSER)": (56, 0x10000000 | 17, 0, 0, 0, 0),
            "socket(AF_INET)": (41, 2, 1, 0),
            "socket(AF_INET6)": (41, 10, 2, 0),
            "socket(AF_PACKET)": (41, 17, 3, 0),
            "x32 socket(AF_INET)": (0x40000000 | 41, 2, 1, 0),
            "open_tree": (428, -100, 0, 0),
            "fsopen": (430, 0, 0),
            "kexec_load": (246, 0, 0, 0, 0),
            "init_module": (175, 0, 0, 0),
        }
        res = {}
        for name, args in calls.items():
            rc = libc.syscall(*[ctypes.c_long(a) for a in args])
            res[name] = "succeeded" if rc >= 0 else os.strerror(ctypes.get_errno())
        rc = libc.syscall(ctypes.c_long(435), None, ctypes.c_long(0))  # clone3
        res["clone3"] = "succeeded" if rc >= 0 else os.strerror(ctypes.get_errno())
        # 32-bit entry: mov eax, 359 (socket); mov ebx, 2; mov ecx, 1; xor edx, edx;
        # int 0x80; ret -- the filter must refuse every non-x86_64 system call.
        code = bytes.fromhex("b867010000" "bb02000000" "b901000000" "31d2" "cd80" "c3")
        page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        page.write(code)
        addr = ctypes.addressof(ctypes.c_char.from_buffer(page))
        rc = ctypes.CFUNCTYPE(ctypes.c_int)(addr)()
        res["int80 socket"] = "succeeded" if rc >= 0 else os.strerror(-rc)
        print(json.dumps(res))
        """
    )
    assert out.result.exit_code == 0, out.result
    report = out.report
    assert "succeeded" not in report.values(), report
    # Refused by the filter itself, not merely for lack of privileges:
    for name in ("unshare(NEWUSER)", "socket(AF_INET)", "socket(AF_INET6)", "bpf",
                 "io_uring_setup", "x32 socket(AF_INET)", "int80 socket", "keyctl"):  # fmt: skip
        assert report[name] == "Operation not permitted", (name, report[name])
    assert report["clone3"] == "Function not implemented"
