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
   budgets, the same searches: a pair per task and seed). The training score of
   the best policy is optimistic (it is the best of many noisy scores), so
   acceptance asks for more than a higher mean: the mean paired difference in
   sample efficiency must exceed ``ACCEPT_Z`` standard errors of itself (a
   one-sided test at about 5%). Only a policy that passes is
   written to ``out/policy.py``; the decision and its figures are appended to the
   meta-run's audit log and to ``out/meta-result.json`` either way.
"""

from __future__ import annotations

import json
import math
import statistics
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
ACCEPT_Z = 1.645
"""Standard errors by which the paired held-out difference must exceed zero."""


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
    seeds: int = 8
    """Inner searches per training task, per meta candidate. The objective's spread
    across seed sets (``bench/meta_noise.py``): 0.021 at 4 seeds, 0.018 at 8, 0.008 at
    16, against policy gains of a few hundredths."""
    accept_seeds: int = 10
    """Inner searches per held-out task in the acceptance comparison."""
    workers: int = 2
    layers: str = "auto"
    allow_weak: bool = False
    start_from: Path | None = None
    """A policy file to start from (default: the shipped default policy)."""


@dataclass(frozen=True)
class Comparison:
    """Held-out sample efficiency of the starting policy (``default``) and the evolved one,
    with the paired difference's standard error (``se``, 0 when not measured)."""

    default: float
    evolved: float
    per_task: dict[str, tuple[float, float]] = field(default_factory=dict)
    se: float = 0.0

    @property
    def margin(self) -> float:
        return self.evolved - self.default

    @property
    def wins(self) -> bool:
        return self.margin > 0 and self.margin > ACCEPT_Z * self.se


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
kind = "auto"

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
        se=paired_se(figures["default"], figures["evolved"]),
    )


def paired_se(default: Sequence[LaneResult], evolved: Sequence[LaneResult]) -> float:
    """Standard error of the difference in efficiency, from the per-search differences
    (same task and seed); 0 when the evolved policy failed (nothing to pair)."""
    mine = {(r.task, r.seed): r.auc for r in evolved}
    diffs: dict[str, list[float]] = {}
    for r in default:
        if (r.task, r.seed) in mine:
            diffs.setdefault(r.task, []).append(mine[r.task, r.seed] - r.auc)
    if not diffs:
        return 0.0
    var = sum(statistics.variance(d) / len(d) if len(d) > 1 else 0.0 for d in diffs.values())
    return math.sqrt(var) / len(diffs)


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
            f"({comparison.evolved:.4f} vs {comparison.default:.4f} sample efficiency"
            + (f", paired difference {comparison.margin:+.4f} ± {comparison.se:.4f} se"
               if comparison.se else "")
            + ")"
        )  # fmt: skip
    if policy is not None:  # a refused policy leaves an earlier accepted one in place
        policy.write_text(source, encoding="utf-8")
    record: dict[str, Any] = {
        "accepted": accepted, "candidate": best_id, "train_efficiency": best_train,
        "comparison": None if comparison is None else {
            **asdict(comparison), "margin": comparison.margin, "accept_z": ACCEPT_Z},
        "policy": None if policy is None else str(policy), "why": why,
    }  # fmt: skip
    audit.append("meta_acceptance", **record)
    (out / RESULT_FILE).write_text(json.dumps({"run": str(run), **record}, indent=2), "utf-8")
    return MetaOutcome(run, reason, best_id, best_train, comparison, accepted, policy, why)
