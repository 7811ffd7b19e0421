"""The seccomp filter: its program is well formed, and a process under it is refused."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from evoforge.sandbox import seccomp_filter

pytestmark = pytest.mark.skipif(
    bool(seccomp_filter.supported()), reason=seccomp_filter.supported() or "supported"
)


def test_program_is_well_formed() -> None:
    prog = seccomp_filter.build_program()
    assert len(prog) < 4096  # the kernel's limit
    assert all(0 <= jt <= 255 and 0 <= jf <= 255 for _, jt, jf, _ in prog)
    assert prog[-1][0] == 0x06 and prog[-2][0] == 0x06  # ends with return statements
    for pc, (code, jt, jf, _) in enumerate(prog):
        if code & 0x07 == 0x05:  # a jump never leaves the program
            assert pc + 1 + max(jt, jf) < len(prog)


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
