"""One driver session of a run: build the parts from the config and run the loop.

``start`` creates a run folder and runs it; ``resume`` continues a run from its
folder with the config snapshot taken at start (so editing the experiment's
config cannot change the limits of a run in progress).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType

from evoforge.archive import Archive, SQLiteArchive
from evoforge.artifacts import INCOMING, ArtifactStore
from evoforge.candidate import dumps
from evoforge.config import (
    CONFIG_NAME,
    Config,
    ConfigError,
    parse_snapshot,
    seed_files,
)
from evoforge.fidelity import Rungs
from evoforge.gates.detectors import GamingDetectors
from evoforge.governance.audit import AuditLog
from evoforge.governance.audit_verify import format_report
from evoforge.governance.control import take_requests
from evoforge.governance.promotion import validation_caveat
from evoforge.governance.queue import take_next
from evoforge.governance.run_audit import Audit
from evoforge.governance.rundir import RunDir, create_run
from evoforge.loop import Loop
from evoforge.loop_state import Budget, Observer, Stats, TaskError
from evoforge.proposers._base import Proposer
from evoforge.runner import RunContext, exposed_reads, file_hashes, load_task
from evoforge.tasks import Task
from evoforge.tracking import MlflowTracker
from evoforge.wiring import (
    build_executor,
    build_gates,
    build_promoter,
    build_proposer,
    build_selector,
    check_installed,
    declared_metrics,
    load_experiment,
    load_policy,
    run_context,
    sandbox_for,
    sandbox_strength,
)


@dataclass(frozen=True)
class Outcome:
    run: RunDir
    reason: str
    stats: Stats
    sandbox: Mapping[str, str]


@dataclass(frozen=True)
class SeedOrigin:
    """A former run's candidate to start a new run from (``evoforge run --from RUN[:CAND]``);
    ``candidate`` None: that run's champion."""

    run: RunDir
    candidate: int | None = None

    def files(self, experiment: Path, config: Config) -> tuple[dict[str, str], dict[str, object]]:
        """The candidate's program and what the audit trail records of its origin."""
        with SQLiteArchive(self.run.archive, readonly=True) as archive:
            cand = archive.champion() if self.candidate is None else archive.get(self.candidate)
            if cand is None:
                raise ConfigError(f"{self.run.path}: no champion to start from")
            files = archive.get_code(cand.code_hash)
        missing = sorted(set(seed_files(experiment, config)) - set(files))
        if missing:
            raise ConfigError(
                f"{self.run.path} #{cand.id} has no {', '.join(missing)}: it is not a program "
                f"of this experiment's ([program] files)"
            )
        origin = {"run": str(self.run.path), "candidate": cand.id, "code_hash": cand.code_hash}
        return files, origin


def start(
    experiment: Path,
    *,
    observer: Observer | None = None,
    allow_weak: bool = False,
    proposer: Proposer | None = None,
    seed_from: SeedOrigin | None = None,
) -> Outcome:
    """Start a new run; ``proposer`` replaces the one the config names (programmatic use);
    ``seed_from`` makes a former run's candidate the seed instead of the experiment's
    program."""
    experiment = experiment.resolve()
    config = load_experiment(experiment)
    if config.stream is not None:
        raise ConfigError(
            f"{experiment}: a stream experiment ([stream] in its {CONFIG_NAME}) is improved "
            f"batch by batch: evoforge watch {experiment}"
        )
    check_installed(config)
    files, origin = (
        seed_from.files(experiment, config) if seed_from else (seed_files(experiment, config), None)
    )
    run = create_run(experiment, config.experiment.name)
    archive = SQLiteArchive(run.archive)
    archive.set_meta("experiment", str(experiment))
    archive.set_meta("started_at", time.time())
    archive.set_meta("config", config.model_dump(mode="json"))
    if origin is not None:
        archive.set_meta("seed_from", origin)
    with _state_on_error(archive):
        return _drive(
            run, archive, config, experiment, files,
            observer=observer, allow_weak=allow_weak, proposer=proposer,
        )  # fmt: skip


@dataclass(frozen=True)
class Extension:
    """More budget for a resumed run: ``candidates`` more evaluated candidates and/or
    ``wall_minutes`` more wall time than it has spent (``evoforge resume --candidates +N``)."""

    candidates: int | None = None
    wall_minutes: float | None = None

    def __post_init__(self) -> None:
        if self.candidates is not None and self.candidates < 1:
            raise ConfigError(f"--candidates +N needs N >= 1, got {self.candidates}")
        if self.wall_minutes is not None and not self.wall_minutes > 0:
            raise ConfigError(f"--wall-minutes needs a positive number, got {self.wall_minutes}")


def resume(
    run: RunDir,
    *,
    observer: Observer | None = None,
    allow_weak: bool = False,
    proposer: Proposer | None = None,
    extend: Extension | None = None,
) -> Outcome:
    if run.driver_pid() is not None:
        raise ConfigError(
            f"{run.path}: a driver (pid {run.driver_pid()}) is still running this run"
        )
    archive = SQLiteArchive(run.archive)
    experiment = Path(archive.get_meta("experiment"))
    config = parse_snapshot(archive.get_meta("config"), source=f"{run.path} (config snapshot)")
    check_installed(config)
    if archive.size() == 0:
        raise ConfigError(
            f"{run.path}: this run ended before its seed was recorded "
            f"({archive.get_meta('state', 'no state')}); start a new one: evoforge run {experiment}"
        )
    files = archive.get_code(archive.get(1).code_hash)
    run.clear_stop()
    with _state_on_error(archive):
        return _drive(
            run, archive, config, experiment, files,
            observer=observer, allow_weak=allow_weak, proposer=proposer, extend=extend,
        )  # fmt: skip


def _drive(
    run: RunDir,
    archive: Archive,
    config: Config,
    experiment: Path,
    files: dict[str, str],
    *,
    observer: Observer | None,
    allow_weak: bool,
    proposer: Proposer | None,
    extend: Extension | None = None,
) -> Outcome:
    allow_weak = allow_weak or config.sandbox.allow_weak
    strength = sandbox_strength(config.sandbox.layers, allow_weak)
    archive.set_meta("sandbox", dict(strength))
    if allow_weak:
        archive.set_meta("allow_weak", True)
    audit = Audit(AuditLog(run.audit), archive)
    task = load_task(experiment, config.task.module, config.task.object)
    policy = load_policy(config, experiment)
    hashes = trusted_hashes(experiment, config, task)
    compat = str(task.compat_mode or "")
    if compat:  # a weaker scoring mode (e.g. OpenEvolve's self-reported metrics): recorded, said
        archive.set_meta("compat_mode", compat)
        print(f"warning: compatibility mode: {compat}", file=sys.stderr)
    _audit_start(archive, audit, config, hashes, strength, allow_weak=allow_weak, compat=compat)
    if extend is not None:  # after the log verified: the extension is its next entry
        config = _extended(archive, config, extend, audit)
    caveat = validation_caveat(
        task, min_gain=config.promotion.min_gain, reruns=config.promotion.reruns
    )
    if caveat:  # said at every start: a person reading the promotions must know it
        print(f"warning: {caveat}", file=sys.stderr)
        audit.append("promotion_caveat", warning=caveat)
    ctx = replace(run_context(run, config, experiment, allow_weak=allow_weak), task_hashes=hashes)
    warn_exposed_reads(task, ctx, audit, seed=config.experiment.seed)
    executor = build_executor(config, ctx, audit)
    elapsed_before = float(archive.get_meta("elapsed_s", 0.0))
    tracker = MlflowTracker(run, config, experiment) if config.tracking.mlflow else None
    if tracker is not None:
        observer = tracker.observer(archive, observer)
    loop = Loop(
        archive=archive,
        executor=executor,
        proposer=proposer or build_proposer(config, experiment, policy=policy),
        selector=build_selector(config, policy),
        gates=build_gates(config, experiment, run, task),
        seed_files=files,
        objective=config.task.objective,
        maximize=config.maximize,
        budget=Budget.of(config.budget, now=time.time(), spent_s=elapsed_before),
        workers=config.run.workers,
        promoter=build_promoter(config, archive, audit),
        audit=audit,
        detectors=GamingDetectors(config.task, config.detectors),
        run_seed=config.experiment.seed,
        max_attempts=config.run.max_attempts,
        max_task_errors=config.run.max_task_errors,
        declared_metrics=declared_metrics(config),
        stop=run.stop_requested,
        requests=lambda: take_requests(run.path),
        queued=lambda: take_next(run.path),
        observer=observer,
        artifacts=_artifact_store(run, config),
        rungs=_rungs(archive, config),
    )
    began = time.time()
    archive.set_meta("session_started_at", began)  # status: elapsed_s + time since this
    archive.set_meta("state", "running")
    archive.set_meta("driver_pid", os.getpid())  # status names it once driver.pid is gone
    with _driver_pid(run), _stop_on_signals(run):
        try:
            reason = loop.run()
        finally:
            archive.set_meta("elapsed_s", elapsed_before + time.time() - began)
            archive.set_meta("session_started_at", None)  # counted in elapsed_s now
            executor.shutdown(kill=True)
            loop.close()
            if tracker is not None:  # what the last interval left, and the final champion
                tracker.sync(archive)
    archive.set_meta("state", reason)
    run.clear_stop()
    return Outcome(run, reason, loop.stats, strength)


def _extended(archive: Archive, config: Config, extend: Extension, audit: Audit) -> Config:
    """The run's config with its budget raised past what it has spent; the new snapshot
    is stored (a later resume keeps it) and the change is audited."""
    budget = config.budget
    evaluated = sum(n for status, n in archive.counts().items() if status.was_evaluated())
    changes: dict[str, float | int] = {}
    if extend.candidates is not None:
        changes["candidates"] = evaluated + extend.candidates
    if extend.wall_minutes is not None:
        spent = float(archive.get_meta("elapsed_s", 0.0)) / 60
        changes["wall_minutes"] = round(spent + extend.wall_minutes, 4)
    if not changes:
        return config
    new = config.model_copy(update={"budget": budget.model_copy(update=changes)})
    archive.set_meta("config", new.model_dump(mode="json"))
    audit.append(
        "budget_extended",
        **{f"{k}_before": getattr(budget, k) for k in changes},
        **changes,
    )
    return new


def _rungs(archive: Archive, config: Config) -> Rungs | None:
    """``[fidelity]``'s rungs, with the results recorded so far (a resume goes on with them)."""
    f = config.fidelity
    if f is None:
        return None
    return Rungs.of_archive(
        archive, f.rungs, f.eta, objective=config.task.objective, maximize=config.maximize
    )


def _artifact_store(run: RunDir, config: Config) -> ArtifactStore | None:
    if not config.program.artifacts:
        return None
    store = ArtifactStore(
        run.path / "artifacts", objective=config.task.objective, maximize=config.maximize
    )
    # What workers copied for candidates the last session never recorded: run again now.
    shutil.rmtree(store.root / INCOMING, ignore_errors=True)
    return store


@contextmanager
def _state_on_error(archive: Archive) -> Iterator[None]:
    """A driver session that ends with an error records it as the run's state, so that
    `status` never shows an ended run as running."""
    try:
        yield
    except Exception as exc:
        lines = [line for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
        state = f"stopped: {exc}" if isinstance(exc, TaskError) else f"failed: {lines[0]}"
        with suppress(Exception):  # a broken archive must not hide the error itself
            archive.set_meta("state", state)
        raise


def _audit_start(
    archive: Archive,
    audit: Audit,
    config: Config,
    hashes: Mapping[str, str],
    strength: Mapping[str, str],
    *,
    allow_weak: bool,
    compat: str = "",
) -> None:
    """The run's first audit entry, or on resume a check that nothing trusted changed."""
    started = archive.get_meta("task_hashes")
    if started is None:
        archive.set_meta("task_hashes", dict(hashes))
        audit.append(
            "run_start",
            config_sha256=hashlib.sha256(
                dumps(config.model_dump(mode="json")).encode()
            ).hexdigest(),
            task_hashes=dict(hashes),
            sandbox=dict(strength),
            allow_weak=allow_weak,
            **({"compat_mode": compat} if compat else {}),
            **({"seed_from": origin} if (origin := archive.get_meta("seed_from")) else {}),
        )
        return
    report = audit.verify()
    if not report.ok:
        # Appending now would move the anchor and hide a cut at the end: refuse instead.
        raise ConfigError(
            "the run's audit log does not verify, so it cannot be resumed:\n"
            + format_report(report)
        )
    changed = sorted(k for k in set(started) | set(hashes) if started.get(k) != hashes.get(k))
    if changed:
        audit.append("task_tampered", when="resume", files=changed)
        raise ConfigError(
            f"the task's files changed since the run started: {', '.join(changed)}; "
            "a run is scored by the task it started with (start a new run instead)"
        )
    audit.append("resume", sandbox=dict(strength), allow_weak=allow_weak)


def trusted_hashes(experiment: Path, config: Config, task: Task) -> dict[str, str]:
    """sha256 of the task module, the files the task declares (its data) and the policy file."""
    paths = [experiment / config.task.module, *task.files()]
    if config.selection.policy:  # it steers the search: hashed and checked like the task
        paths.append(Path(config.selection.policy))
    return file_hashes(paths, experiment)


def warn_exposed_reads(task: Task, ctx: RunContext, audit: Audit, *, seed: int) -> list[Path]:
    """Warn (stderr and audit log) about each file the task reads that a candidate
    could read too; returns them. Done at every driver start: it costs one
    ``prepare`` and one sandboxed probe."""
    sandbox = sandbox_for(ctx.sandbox_layers, ctx.allow_weak)
    exposed = exposed_reads(task, sandbox, limits=ctx.limits, seed=seed)
    if exposed:
        names = ", ".join(str(p) for p in exposed)
        print(
            f"warning: the task reads files that candidates can read too: {names}; "
            "list them in the task's hidden_paths() or files() (README: the task contract)",
            file=sys.stderr,
        )
        audit.append("task_reads_visible", files=[str(p) for p in exposed])
    return exposed


@contextmanager
def _driver_pid(run: RunDir) -> Iterator[None]:
    run.write_driver_pid()
    try:
        yield
    finally:
        run.pid_file.unlink(missing_ok=True)


@contextmanager
def _stop_on_signals(run: RunDir) -> Iterator[None]:
    """SIGTERM and SIGINT stop the run at once, resumable (like `evoforge stop`)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        run.request_stop("now")

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
