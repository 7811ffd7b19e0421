"""Asking a hostile policy for decisions: one sandboxed run per request.

The trust boundary of ``evoforge meta``: a candidate policy is code a proposer
wrote, so it runs only in the sandbox, and only decides. Each request is a
round of lock-step searches: the harness writes ``policy.py`` and
``request.json`` into a fresh folder, runs ``python policy.py --decide`` under
the sandbox's layers and limits (owned here, not by the policy), and reads
``decisions.json`` back as data (JSON, size-capped). The children are made and
scored by the harness, in its own process: the policy never sees a program, a
task or a score function, so its decisions cannot fake its own score.

Why one process per round and not a long-lived server speaking over a pipe: the
sandbox runs a process to completion with its input closed and its files copied
in and back, which is what makes it strong; a round costs about a quarter of a
second, and one round answers every search of a meta-candidate at once.
A policy that crashes, overruns its limits or answers garbage raises
:class:`~evoforge.policy.PolicyError` with the reason.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from evoforge.policy import POLICY_FILE, Decider, Decision, Lane, PolicyError, read_answer
from evoforge.sandbox import Limits, RunSpec, Sandbox

DECISION_LIMITS = Limits(
    wall_seconds=20.0,
    cpu_seconds=20.0,
    memory_mb=512,
    file_size_mb=16,
    open_files=64,
    processes=8,
    scratch_mb=64,
    output_kb=4,
)
MAX_ANSWER_BYTES = 8 * 1024 * 1024


class SandboxedPolicy(Decider):
    """``decide`` runs the policy's source in ``sandbox``, one process per call."""

    def __init__(
        self,
        source: str,
        *,
        sandbox: Sandbox,
        limits: Limits = DECISION_LIMITS,
        scratch_root: Path | None = None,
    ) -> None:
        self.source = source
        self.sandbox = sandbox
        self.limits = limits
        self.scratch_root = scratch_root
        self.calls = 0

    def decide(self, lanes: Sequence[Lane]) -> list[Decision]:
        self.calls += 1
        if self.scratch_root is not None:
            self.scratch_root.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="policy-", dir=self.scratch_root))
        try:
            (folder / POLICY_FILE).write_text(self.source, encoding="utf-8")
            request = {"lanes": [lane.as_json() for lane in lanes]}
            (folder / "request.json").write_text(json.dumps(request), encoding="utf-8")
            spec = RunSpec(
                argv=(sys.executable, POLICY_FILE, "--decide"),
                workdir=folder,
                limits=self.limits,
                env=_env(folder),
            )
            run = self.sandbox.run(spec)
            if run.killed_by or run.exit_code != 0:
                why = run.killed_by or f"exit code {run.exit_code}"
                raise PolicyError(f"the policy failed ({why}): {run.stderr_tail[-600:].strip()}")
            out = folder / "decisions.json"
            if not out.is_file() or out.is_symlink():
                raise PolicyError("the policy wrote no decisions.json")
            if out.stat().st_size > MAX_ANSWER_BYTES:
                raise PolicyError(f"decisions.json is larger than {MAX_ANSWER_BYTES} bytes")
            try:
                answer = json.loads(out.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                raise PolicyError(f"decisions.json is not JSON: {exc}") from None
            return read_answer(answer, lanes)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def _env(folder: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(folder),
        "TMPDIR": str(folder),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": "1",
    }
