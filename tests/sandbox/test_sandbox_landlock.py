"""Landlock: the ABI probe, and a restricted process reading only what it was allowed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evoforge.sandbox import landlock

ABI = landlock.abi_version()
pytestmark = pytest.mark.skipif(ABI < 1, reason="this kernel has no Landlock")


def test_fs_rights_grow_with_the_abi() -> None:
    assert landlock.fs_rights(1) == (1 << 13) - 1
    assert landlock.fs_rights(3) == (1 << 15) - 1
    assert landlock.fs_rights(7) == landlock.fs_rights(5) == (1 << 16) - 1
    assert landlock.fs_rights(0) == 0


def test_restricted_process_sees_only_its_allowlist_minus_hidden(tmp_path: Path) -> None:
    allowed, other = tmp_path / "allowed", tmp_path / "other"
    (allowed / "inner").mkdir(parents=True)
    other.mkdir()
    (allowed / "public.txt").write_text("public")
    (allowed / "inner" / "labels.txt").write_text("secret")
    (allowed / "inner" / "fine.txt").write_text("fine")
    (other / "x.txt").write_text("x")
    work = tmp_path / "work"
    work.mkdir()
    read = [*[p for p in sys.path if p], sys.prefix, sys.base_prefix, "/usr", "/lib", "/lib64",
            "/etc", "/proc", str(allowed)]  # fmt: skip
    code = f"""
import json, os, socket
from evoforge.sandbox import landlock
landlock.restrict(read={read!r}, write=[{str(work)!r}],
                  hidden=[{str(allowed / "inner" / "labels.txt")!r}])
def attempt(f):
    try:
        return f()
    except OSError as e:
        return type(e).__name__
print(json.dumps({{
    "public": attempt(lambda: open({str(allowed / "public.txt")!r}).read()),
    "fine": attempt(lambda: open({str(allowed / "inner" / "fine.txt")!r}).read()),
    "labels": attempt(lambda: open({str(allowed / "inner" / "labels.txt")!r}).read()),
    "listing": attempt(lambda: sorted(os.listdir({str(allowed / "inner")!r}))),
    "other": attempt(lambda: open({str(other / "x.txt")!r}).read()),
    "write_allowed": attempt(lambda: open({str(work / "o")!r}, "w").write("ok")),
    "write_other": attempt(lambda: open({str(other / "o")!r}, "w").write("no")),
    "tcp": attempt(lambda: socket.create_connection(("127.0.0.1", 9), timeout=1)),
}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["public"] == "public" and report["fine"] == "fine"
    assert report["labels"] == "PermissionError"
    assert report["listing"] == ["fine.txt", "labels.txt"]  # names stay listable
    assert report["other"] == "PermissionError"
    assert report["write_allowed"] == 2 and report["write_other"] == "PermissionError"
    if ABI >= 4:
        assert report["tcp"] == "PermissionError"
