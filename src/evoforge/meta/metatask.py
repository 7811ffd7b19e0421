"""The trusted task of a meta-run: a candidate policy's score is its sample efficiency.

In a meta-run the program is ``policy.py`` and the candidate's own command is a
cheap check (``python policy.py --check``, in the sandbox like any candidate).
The score is where the work is: :meth:`MetaTask.prepare` keeps the policy's
text as the archive recorded it (it is read before the candidate runs, so the
candidate cannot swap it), and :meth:`MetaTask.score` runs the inner searches
of the training split with that policy deciding from a sandboxed process
(:class:`~evoforge.meta.protocol.SandboxedPolicy`) while this process makes
and scores every inner child. The inner budgets are this task's configuration,
written by ``evoforge meta`` into the meta experiment, never the policy's. A
policy that fails, overruns or answers garbage fails as a candidate, with why.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from evoforge.meta.harness import LaneResult, efficiency, efficiency_se, run_searches
from evoforge.meta.protocol import SandboxedPolicy
from evoforge.meta.suite import Table, split
from evoforge.policy import POLICY_FILE, PolicyError
from evoforge.sandbox import ProcessSandbox, Sandbox, SandboxOptions, build_sandbox
from evoforge.tasks import OutputError, Task

OBJECTIVE = "efficiency"


class MetaTask(Task):
    def __init__(
        self,
        *,
        tasks: str,
        tables: Path,
        seeds: Sequence[int],
        candidates: int,
        batch: int = 8,
        layers: str = "auto",
        allow_weak: bool = False,
    ) -> None:
        self.tasks = tasks
        self.tables = tables
        self.seeds = tuple(seeds)
        self.candidates = candidates
        self.batch = batch
        self.layers = layers
        self.allow_weak = allow_weak
        self.bounds = {OBJECTIVE: (0.0, 1.0), "final": (0.0, 1.0), "efficiency_se": (0.0, 1.0)}
        self._sources: dict[str, str] = {}

    def files(self) -> list[Path]:
        return [self.tables]

    def hidden_paths(self) -> list[Path]:
        return [self.tables]

    def prepare(self, workdir: Path, *, seed: int) -> None:
        self._sources[str(workdir)] = (workdir / POLICY_FILE).read_text(encoding="utf-8")

    def score(self, workdir: Path) -> Mapping[str, float]:
        source = self._sources.pop(str(workdir), None)
        if source is None:
            raise OutputError("the policy was not prepared for this folder")
        decider = SandboxedPolicy(source, sandbox=self._sandbox())
        try:
            results = run_searches(
                decider, split(self.tasks), load_tables(self.tables),
                seeds=self.seeds, candidates=self.candidates, batch=self.batch,
            )  # fmt: skip
        except PolicyError as exc:
            raise OutputError(f"the policy failed in round {decider.calls}: {exc}") from None
        return metrics(results)

    def _sandbox(self) -> Sandbox:
        if self.layers == "process":
            return ProcessSandbox()
        return build_sandbox(SandboxOptions(layers=self.layers, allow_weak=self.allow_weak))


def metrics(results: Sequence[LaneResult]) -> dict[str, float]:
    finals = [r.final for r in results]
    return {
        OBJECTIVE: efficiency(results),
        "final": sum(finals) / len(finals) if finals else 0.0,
        "efficiency_se": efficiency_se(results),
    }


def load_tables(path: Path) -> dict[str, Table]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {str(k): {str(a): float(b) for a, b in v.items()} for k, v in data.items()}
