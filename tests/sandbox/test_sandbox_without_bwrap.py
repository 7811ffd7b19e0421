"""Landlock and seccomp alone (a machine without bubblewrap): the launcher on the host."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest

from evoforge.sandbox import LayeredSandbox, Limits, Plan, RunSpec, SandboxOptions
from evoforge.sandbox import landlock as landlock_mod


@pytest.mark.skipif(landlock_mod.abi_version() < 1, reason="this kernel has no Landlock")
def test_landlock_and_seccomp_contain_a_candidate_without_namespaces(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "public.txt").write_text("public")
    (data / "labels.txt").write_text("secret")
    outside = tmp_path / "outside.txt"
    work = tmp_path / "work"
    work.mkdir()
    (work / "c.py").write_text(
        "import json, os, socket, sys\n"
        "def attempt(f):\n"
        "    try:\n        return f()\n"
        "    except OSError as e:\n        return type(e).__name__\n"
        "d = sys.argv[1]\n"
        "print(json.dumps({\n"
        "    'public': attempt(lambda: open(d + '/public.txt').read()),\n"
        "    'labels': attempt(lambda: open(d + '/labels.txt').read()),\n"
        "    'outside': attempt(lambda: open(sys.argv[2], 'w').write('x')),\n"
        "    'inside': attempt(lambda: open('out.txt', 'w').write('ok')),\n"
        "    'inet': attempt(lambda: socket.socket(socket.AF_INET)),\n"
        "}))\n"
    )
    options = SandboxOptions(extra_read_only=(data,))
    plan = Plan(landlock=True, seccomp=True, options=options)  # no bwrap, no uid switch
    spec = RunSpec(
        argv=(sys.executable, "c.py", str(data), str(outside)),
        workdir=work,
        limits=Limits(wall_seconds=30),
        env={"PATH": "/usr/bin:/bin"},
        hidden_paths=(data / "labels.txt",),
    )
    result, status = LayeredSandbox(plan).run_with_status(spec)
    assert result.exit_code == 0, result
    assert status["landlock"].startswith("on") and status["seccomp"] == "on"
    report = json.loads(result.stdout_tail)
    assert report == {
        "public": "public",
        "labels": "PermissionError",  # carved out of the allowed tree
        "outside": "PermissionError",
        "inside": 2,
        "inet": "PermissionError",
    }
    assert not outside.exists()
    assert (work / "out.txt").read_text() == "ok"
    assert dataclasses.replace(plan, landlock=False).launcher  # seccomp alone still launches
