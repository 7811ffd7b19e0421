"""One driver session of a run: build the parts from the config and run the loop.

``start`` creates a run folder and runs it; ``resume`` continues a run from its
folder with the config snapshot taken at start (so editing the experiment's
config cannot change the limits of a run in progress).
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from evoforge.archive import Archive, SQLiteArchive
from evoforge.config import Config, ConfigError, load_config, parse_config, seed_files
from evoforge.executors import Executor, InlineExecutor, LocalExecutor, RunContext, evaluate
from evoforge.gates import EvolveRegionGate
from evoforge.loop import Budget, Loop, Observer, Stats
from evoforge.proposers._base import Proposer
from evoforge.rundir import RunDir, create_run
from evoforge.sandbox._base import Limits
from evoforge.selection import AgingTournament


@dataclass(frozen=True)
class Outcome:
    run: RunDir
    reason: str
    stats: Stats
    sandbox: Mapping[str, str]


def start(
    experiment: Path, *, observer: Observer | None = None, allow_weak: bool = False
) -> Outcome:
    experiment = experiment.resolve()
    config = load_config(experiment)
    run = create_run(experiment, config.experiment.name)
    archive = SQLiteArchive(run.archive)
    archive.set_meta("experiment", str(experiment))
    archive.set_meta("started_at", time.time())
    archive.set_meta("config", config.model_dump(mode="json"))
    files = seed_files(experiment, config)
    return _drive(run, archive, config, experiment, files, observer=observer, allow_weak=allow_weak)


def resume(run: RunDir, *, observer: Observer | None = None, allow_weak: bool = False) -> Outcome:
    if run.driver_pid() is not None:
        raise ConfigError(
            f"{run.path}: a driver (pid {run.driver_pid()}) is still running this run"
        )
    archive = SQLiteArchive(run.archive)
    experiment = Path(archive.get_meta("experiment"))
    config = parse_config(archive.get_meta("config"), source=f"{run.path} (config snapshot)")
    files = archive.get_code(archive.get(1).code_hash)
    run.clear_stop()
    return _drive(run, archive, config, experiment, files, observer=observer, allow_weak=allow_weak)


def _drive(
    run: RunDir,
    archive: Archive,
    config: Config,
    experiment: Path,
    files: dict[str, str],
    *,
    observer: Observer | None,
    allow_weak: bool,
) -> Outcome:
    allow_weak = allow_weak or config.sandbox.allow_weak
    strength = sandbox_strength(config.sandbox.layers, allow_weak)
    archive.set_meta("sandbox", dict(strength))
    if allow_weak:
        archive.set_meta("allow_weak", True)
    ctx = run_context(run, config, experiment, allow_weak=allow_weak)
    executor = build_executor(config, ctx)
    elapsed_before = float(archive.get_meta("elapsed_s", 0.0))
    wall = config.budget.wall_minutes
    loop = Loop(
        archive=archive,
        executor=executor,
        proposer=build_proposer(config),
        selector=AgingTournament(
            population=config.selection.population,
            tournament=config.selection.tournament,
            islands=config.selection.islands,
            migration_rate=config.selection.migration_rate,
        ),
        gates=[EvolveRegionGate()],
        seed_files=files,
        objective=config.task.objective,
        maximize=config.maximize,
        budget=Budget(
            candidates=config.budget.candidates,
            deadline=None if wall is None else time.time() + wall * 60 - elapsed_before,
            max_consecutive_rejections=config.budget.max_consecutive_rejections,
        ),
        workers=config.run.workers,
        run_seed=config.experiment.seed,
        max_attempts=config.run.max_attempts,
        stop=run.stop_requested,
        observer=observer,
    )
    began = time.time()
    archive.set_meta("state", "running")
    with _driver_pid(run), _stop_on_signals(run):
        try:
            reason = loop.run()
        finally:
            archive.set_meta("elapsed_s", elapsed_before + time.time() - began)
            executor.shutdown(kill=True)
    archive.set_meta("state", reason)
    run.clear_stop()
    return Outcome(run, reason, loop.stats, strength)


def run_context(run: RunDir, config: Config, experiment: Path, *, allow_weak: bool) -> RunContext:
    lim = config.limits
    scratch = Path(tempfile.gettempdir()) / "evoforge-scratch" / f"{run.name}-{os.getpid()}"
    return RunContext(
        experiment=experiment,
        task_module=config.task.module,
        task_object=config.task.object,
        command=tuple(config.program.command),
        limits=Limits(
            wall_s=lim.wall_seconds,
            cpu_s=lim.cpu_seconds,
            memory_mb=lim.memory_mb,
            file_size_mb=lim.file_size_mb,
            open_files=lim.open_files,
            processes=lim.processes,
            scratch_mb=lim.scratch_mb,
            output_bytes=lim.output_kb * 1024,
        ),
        heldout=tuple(config.task.heldout),
        scratch_root=scratch,
        active_dir=run.active,
        sandbox_layers=config.sandbox.layers,
        allow_weak=allow_weak,
        threads=lim.threads,
    )


def build_executor(config: Config, ctx: RunContext) -> Executor:
    if config.run.executor == "inline":
        return InlineExecutor(lambda job: evaluate(ctx, job))
    return LocalExecutor(ctx, workers=config.run.workers)


def build_proposer(config: Config) -> Proposer:
    from evoforge.proposers.mutate import Mutator

    p = config.proposer
    return Mutator(crossover_rate=p.crossover_rate, multi_rate=p.multi_rate, sigma=p.sigma)


def sandbox_strength(layers: str, allow_weak: bool) -> Mapping[str, str]:
    """Probe the sandbox layers; raises if the sandbox would be too weak to run."""
    if layers == "process":
        from evoforge.sandbox.process import ProcessSandbox

        return ProcessSandbox().strength()
    from evoforge.sandbox import SandboxOptions, build_sandbox

    return build_sandbox(SandboxOptions(layers=layers, allow_weak=allow_weak)).strength()


@contextmanager
def _driver_pid(run: RunDir) -> Iterator[None]:
    run.pid_file.write_text(str(os.getpid()))
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
