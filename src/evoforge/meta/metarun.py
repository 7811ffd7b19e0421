"""``evoforge meta``: evolve the search policy with evoforge itself, then accept or refuse.

1. Build a meta experiment in ``out/experiment``: the program is the current
   policy file (``policy.py``), the task is :class:`~evoforge.meta.metatask.MetaTask`
   on the training split (its grid tables built once, into ``tables.json``, a
   trusted file hashed with the run), the budgets are this module's.
2. Run it through the normal session and loop: archive, audit log, sandbox,
   constraint gate and ``evoforge status`` all apply to the meta-run.
3. Acceptance, outside the loop: the best policy of the run and the policy the
   run started from (the shipped default unless ``start_from``) run the held-out
   split, which the meta-run never saw, on fresh seeds (both sandboxed, same
   budgets). Only a policy that beats the starting one there is
   written to ``out/policy.py``; the decision and its figures are appended to the
   meta-run's audit log and to ``out/meta-result.json`` either way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evoforge import session
from evoforge.archive import SQLiteArchive
from evoforge.governance.audit import AuditLog
from evoforge.governance.run_audit import Audit
from evoforge.loop_state import Observer
from evoforge.meta.harness import LaneResult, efficiency, run_searches
from evoforge.meta.metatask import OBJECTIVE, load_tables
from evoforge.meta.protocol import SandboxedPolicy
from evoforge.meta.suite import Table, build_tables, split
from evoforge.policy import POLICY_FILE, PolicyError, default_policy_source, load_policy_file
from evoforge.sandbox import ProcessSandbox, Sandbox, SandboxOptions, build_sandbox

RESULT_FILE = "meta-result.json"


@dataclass(frozen=True)
class MetaSettings:
    """Everything a meta-run's budgets and suite depend on (owned here, not by a policy)."""

    train: str = "train"
    heldout: str = "heldout"
    candidates: int = 150
    """Meta candidates: policies evaluated in the meta-run."""
    inner: int = 48
    """Children per inner search."""
    batch: int = 8
    seeds: int = 4
    """Inner searches per training task, per meta candidate."""
    accept_seeds: int = 5
    """Inner searches per held-out task in the acceptance comparison."""
    workers: int = 2
    layers: str = "auto"
    allow_weak: bool = False
    start_from: Path | None = None
    """A policy file to start from (default: the shipped default policy)."""


@dataclass(frozen=True)
class Comparison:
    """Held-out sample efficiency of the starting policy (``default``) and the evolved one."""

    default: float
    evolved: float
    per_task: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def wins(self) -> bool:
        return self.evolved > self.default


@dataclass(frozen=True)
class MetaOutcome:
    run: Path
    reason: str
    best_id: int | None
    best_train: float | None
    comparison: Comparison | None
    accepted: bool
    policy: Path | None
    why: str


def build_experiment(out: Path, settings: MetaSettings, *, log: Callable[[str], None]) -> Path:
    """The meta experiment folder (created once; a second call reuses its tables)."""
    exp = out / "experiment"
    exp.mkdir(parents=True, exist_ok=True)
    source = (
        default_policy_source()
        if settings.start_from is None
        else load_policy_file(settings.start_from)
    )
    (exp / POLICY_FILE).write_text(source, encoding="utf-8")
    tables = exp / "tables.json"
    if not tables.is_file():
        log(f"building the tables of the training tasks ({settings.train}) ...")
        tables.write_text(json.dumps(build_tables(split(settings.train))), encoding="utf-8")
    seeds = list(range(settings.seeds))
    (exp / "task.py").write_text(
        '"""The trusted meta task (written by evoforge meta)."""\n\n'
        "from pathlib import Path\n\n"
        "from evoforge.meta.metatask import MetaTask\n\n"
        "task = MetaTask(\n"
        f"    tasks={settings.train!r},\n"
        '    tables=Path(__file__).with_name("tables.json"),\n'
        f"    seeds={seeds!r},\n"
        f"    candidates={settings.inner},\n"
        f"    batch={settings.batch},\n"
        f"    layers={settings.layers!r},\n"
        f"    allow_weak={settings.allow_weak!r},\n"
        ")\n",
        encoding="utf-8",
    )
    (exp / "evoforge.toml").write_text(
        f"""[experiment]
name = "meta"

[program]
files = ["{POLICY_FILE}"]
command = ["{{python}}", "{POLICY_FILE}", "--check"]

[task]
objective = "{OBJECTIVE}"
direction = "maximize"

[limits]
wall_seconds = 30
memory_mb = 1024

[budget]
candidates = {settings.candidates}

[run]
workers = {settings.workers}

[proposer]
adapt = true

[promotion]
reruns = 0

[sandbox]
layers = "{"process" if settings.layers == "process" else "auto"}"
allow_weak = {str(settings.allow_weak).lower()}
""",
        encoding="utf-8",
    )
    return exp


def run_meta(
    out: Path,
    settings: MetaSettings,
    *,
    observer: Observer | None = None,
    log: Callable[[str], None] = print,
) -> MetaOutcome:
    """Run a meta-run into ``out`` and decide on its best policy (see the module docstring)."""
    exp = build_experiment(out, settings, log=log)
    outcome = session.start(exp, observer=observer, allow_weak=settings.allow_weak)
    archive = SQLiteArchive(outcome.run.archive)
    audit = Audit(AuditLog(outcome.run.audit), archive)
    best = archive.top(OBJECTIVE, maximize=True, limit=1)
    if not best:
        return _finish(out, outcome.run.path, outcome.reason, None, None, None, audit,
                       why="no policy of the meta-run succeeded")  # fmt: skip
    champ = best[0]
    source = archive.get_code(champ.code_hash)[POLICY_FILE]
    baseline = (exp / POLICY_FILE).read_text(encoding="utf-8")
    if source == baseline:
        return _finish(out, outcome.run.path, outcome.reason, champ.id, champ.score(OBJECTIVE),
                       None, audit, why="no policy beat the starting policy on the training tasks")  # fmt: skip
    log(f"acceptance: policy #{champ.id} against the starting policy on {settings.heldout} ...")
    comparison = compare(baseline, source, settings, tables=_heldout_tables(out, settings, log))
    return _finish(out, outcome.run.path, outcome.reason, champ.id, champ.score(OBJECTIVE),
                   comparison, audit, source=source)  # fmt: skip


def compare(
    default: str, evolved: str, settings: MetaSettings, *, tables: dict[str, Table]
) -> Comparison:
    """Both policies on the held-out split, sandboxed, same budgets and seeds."""
    seeds = [1000 + i for i in range(settings.accept_seeds)]  # never used by the meta-run
    tasks = split(settings.heldout)
    figures = {}
    for name, source in (("default", default), ("evolved", evolved)):
        try:
            figures[name] = run_searches(
                SandboxedPolicy(source, sandbox=sandbox_for(settings)), tasks, tables,
                seeds=seeds, candidates=settings.inner, batch=settings.batch,
            )  # fmt: skip
        except PolicyError:
            if name == "default":
                raise
            figures[name] = []
    return Comparison(
        default=efficiency(figures["default"]),
        evolved=efficiency(figures["evolved"]),
        per_task={
            t.name: (_task_auc(figures["default"], t.name), _task_auc(figures["evolved"], t.name))
            for t in tasks
        },
    )


def sandbox_for(settings: MetaSettings) -> Sandbox:
    if settings.layers == "process":
        return ProcessSandbox()
    return build_sandbox(SandboxOptions(layers=settings.layers, allow_weak=settings.allow_weak))


def _task_auc(results: Sequence[LaneResult], task: str) -> float:
    return efficiency([r for r in results if r.task == task])


def _heldout_tables(
    out: Path, settings: MetaSettings, log: Callable[[str], None]
) -> dict[str, Table]:
    path = out / f"tables-{settings.heldout.replace(',', '_')}.json"
    if not path.is_file():
        log(f"building the tables of the held-out tasks ({settings.heldout}) ...")
        path.write_text(json.dumps(build_tables(split(settings.heldout))), encoding="utf-8")
    return load_tables(path)


def _finish(
    out: Path,
    run: Path,
    reason: str,
    best_id: int | None,
    best_train: float | None,
    comparison: Comparison | None,
    audit: Audit,
    *,
    source: str = "",
    why: str = "",
) -> MetaOutcome:
    accepted = comparison is not None and comparison.wins
    policy = out / POLICY_FILE if accepted else None
    if comparison is not None and not why:
        verdict = "beats" if accepted else "does not beat"
        why = (
            f"policy #{best_id} {verdict} the starting policy on held-out tasks "
            f"({comparison.evolved:.4f} vs {comparison.default:.4f} sample efficiency)"
        )
    if policy is not None:  # a refused policy leaves an earlier accepted one in place
        policy.write_text(source, encoding="utf-8")
    record: dict[str, Any] = {
        "accepted": accepted, "candidate": best_id, "train_efficiency": best_train,
        "comparison": None if comparison is None else asdict(comparison),
        "policy": None if policy is None else str(policy), "why": why,
    }  # fmt: skip
    audit.append("meta_acceptance", **record)
    (out / RESULT_FILE).write_text(json.dumps({"run": str(run), **record}, indent=2), "utf-8")
    return MetaOutcome(run, reason, best_id, best_train, comparison, accepted, policy, why)
