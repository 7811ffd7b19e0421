"""Helpers for the sandbox tests: the full sandbox, and a runner for hostile candidates.

The hostile tests need every layer. Where one is missing they are skipped, unless
``EVOFORGE_REQUIRE_FULL_SANDBOX=1`` (CI and ``scripts/hostile-suite``), which makes a
missing layer a failure: the proof must run where it claims to.

After every hostile candidate the ``hostile`` fixture checks that the run goes on:
no process of any sandbox uid is left, and a benign candidate still runs, reads
its input, uses an AF_UNIX socket pair and gets its output back to the host.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import textwrap
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from evoforge.candidate import RunResult
from evoforge.sandbox import (
    LayeredSandbox,
    Limits,
    RunSpec,
    SandboxOptions,
    build_sandbox,
    is_on,
)

FAST = Limits(
    wall_seconds=20,
    cpu_seconds=10,
    memory_mb=512,
    file_size_mb=16,
    open_files=64,
    processes=32,
    scratch_mb=32,
    output_kb=16,
)

BENIGN = """
import json, socket
data = open("inputs.bin", "rb").read()
a, b = socket.socketpair()
a.sendall(b"ok")
json.dump({"sum": sum(data), "unix": b.recv(2).decode()}, open("out.json", "w"))
"""


def require_full_sandbox() -> LayeredSandbox:
    sandbox = build_sandbox(SandboxOptions())
    weak = {k: v for k, v in sandbox.strength().items() if not is_on(v)}
    if weak:
        msg = f"sandbox layers missing on this machine: {weak}"
        if os.environ.get("EVOFORGE_REQUIRE_FULL_SANDBOX") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    return sandbox


@dataclasses.dataclass
class Outcome:
    result: RunResult
    status: dict[str, str]
    workdir: Path

    @property
    def report(self) -> dict[str, Any]:
        """The JSON the candidate printed last (hostile programs report what they tried)."""
        lines = [ln for ln in self.result.stdout_tail.splitlines() if ln.startswith("{")]
        assert lines, f"no report: {self.result}"
        parsed: dict[str, Any] = json.loads(lines[-1])
        return parsed


class Hostile:
    """Runs candidate programs in the full sandbox, each in a fresh scratch folder."""

    def __init__(self, sandbox: LayeredSandbox, tmp: Path) -> None:
        self.sandbox = sandbox
        self.tmp = tmp
        self.count = 0

    def with_options(self, **changes: object) -> LayeredSandbox:
        plan = self.sandbox.plan
        options = dataclasses.replace(plan.options, **changes)  # type: ignore[arg-type]
        return LayeredSandbox(dataclasses.replace(plan, options=options))

    def run(
        self,
        source: str,
        *,
        limits: Limits = FAST,
        hidden: Sequence[Path] = (),
        files: Mapping[str, bytes] = {},
        env: Mapping[str, str] = {},
        args: Sequence[str] = (),
        sandbox: LayeredSandbox | None = None,
    ) -> Outcome:
        self.count += 1
        workdir = self.tmp / f"scratch{self.count}"
        workdir.mkdir()
        (workdir / "cand.py").write_text(textwrap.dedent(source))
        for name, data in files.items():
            (workdir / name).write_bytes(data)
        spec = RunSpec(
            argv=(sys.executable, "cand.py", *args),
            workdir=workdir,
            limits=limits,
            env={"PATH": "/usr/bin:/bin", "HOME": str(workdir), "PYTHONUNBUFFERED": "1", **env},
            hidden_paths=tuple(hidden),
        )
        result, status = (sandbox or self.sandbox).run_with_status(spec)
        return Outcome(result, status, workdir)

    def goes_on(self) -> None:
        """The run goes on: nothing is left behind and a benign candidate works."""
        wait_for_no_sandbox_processes(self.sandbox)
        out = self.run(BENIGN, files={"inputs.bin": bytes(range(10))})
        assert out.result.exit_code == 0, out.result
        assert json.loads((out.workdir / "out.json").read_text()) == {"sum": 45, "unix": "ok"}


def sandbox_pids(sandbox: LayeredSandbox) -> list[int]:
    """Host pids running under any uid of the sandbox's pool."""
    first = sandbox.plan.options.uid
    last = first + sandbox.plan.options.uid_count
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                uid = os.stat(f"/proc/{entry}").st_uid
            except OSError:
                continue
            if first <= uid < last:
                pids.append(int(entry))
    return pids


def wait_for_no_sandbox_processes(sandbox: LayeredSandbox, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while (left := sandbox_pids(sandbox)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not left, f"processes left behind by a candidate: {left}"
