"""What the runner does for one candidate: prepare, run in the sandbox, score.

This runs in a trusted worker process (never in the driver, never in the
candidate): it loads the task once, writes the task's public inputs and the
candidate's files into a fresh scratch folder, runs the candidate in the sandbox,
and has the task read the outputs back as data. Held-out metrics are split off
here, before anything reaches a proposer.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import sys
from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from evoforge.artifacts import INCOMING, collect
from evoforge.candidate import Evaluation, RunResult, pack_examples
from evoforge.gates import Scored
from evoforge.gates.detectors import MetricChecks
from evoforge.runner.exposure import sandbox_hidden
from evoforge.runner.hashing import changed_files
from evoforge.runner.job import Job, RunContext
from evoforge.runner.load import load_task
from evoforge.runner.task_errors import TASK_ERROR, task_raised
from evoforge.sandbox._base import RunSpec, Sandbox
from evoforge.tasks._base import OutputError, Task


@lru_cache(maxsize=4)
def _task_for(experiment: Path, module: str, obj: str) -> Task:
    return load_task(experiment, module, obj)


@lru_cache(maxsize=4)
def _sandbox_for(layers: str, allow_weak: bool) -> Sandbox:
    if layers == "process":
        from evoforge.sandbox.process import ProcessSandbox

        return ProcessSandbox()
    from evoforge.sandbox import SandboxOptions, build_sandbox

    return build_sandbox(SandboxOptions(layers=layers, allow_weak=allow_weak))


def candidate_env(ctx: RunContext, job: Job, scratch: Path) -> dict[str, str]:
    """The whole environment of a candidate: nothing of the driver's leaks in."""
    threads = str(ctx.threads)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(scratch),
        "TMPDIR": str(scratch),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": str(job.seed % (2**32)),
        "EVOFORGE_SEED": str(job.seed),
        "EVOFORGE_FIDELITY": repr(float(job.fidelity)),
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
    }
    return env


def evaluate(
    ctx: RunContext, job: Job, *, sandbox: Sandbox | None = None, task: Task | None = None
) -> Evaluation:
    """Prepare, run and score one candidate. Never raises for a candidate's fault; an
    exception of the task's own prepare or score comes back flagged TASK_ERROR."""
    task = task or _task_for(ctx.experiment, ctx.task_module, ctx.task_object)
    sandbox = sandbox or _sandbox_for(ctx.sandbox_layers, ctx.allow_weak)
    scratch = ctx.scratch_root / job.key
    pidfile = ctx.active_dir / job.key
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        for rel, text in job.files.items():
            dest = scratch / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(text, encoding="utf-8")
        try:
            task.prepare(scratch, seed=job.seed)
        except Exception as exc:
            return task_raised(task, "prepare", exc)
        argv = tuple(sys.executable if a == "{python}" else a for a in ctx.command)
        spec = RunSpec(
            argv=argv,
            workdir=scratch,
            limits=ctx.limits,
            env=candidate_env(ctx, job, scratch),
            hidden_paths=sandbox_hidden(task),
        )

        def on_start(pgid: int) -> None:
            pidfile.write_text(str(pgid))

        run = sandbox.run(spec, on_start=on_start)
        failure = run_failure(run)
        if failure:
            return Evaluation(ok=False, failure=failure, run=run)
        changed = changed_files(ctx.task_hashes, ctx.experiment)
        if changed:
            return Evaluation(
                ok=False,
                failure=f"task files changed since the run started: {', '.join(changed)}",
                run=run,
                flags=("task_tampered",),
            )
        return keep_artifacts(ctx, job, scratch, score(task, scratch, ctx.heldout, run))
    finally:
        with contextlib.suppress(FileNotFoundError):
            pidfile.unlink()
        shutil.rmtree(scratch, ignore_errors=True)


def keep_artifacts(ctx: RunContext, job: Job, scratch: Path, ev: Evaluation) -> Evaluation:
    """``ev`` with the artifacts of a scored candidate collected (first evaluations only;
    a problem copying them is said, never the candidate's failure)."""
    if not (ev.ok and ctx.artifacts and ctx.artifact_root) or job.purpose != "candidate":
        return ev
    dest = ctx.artifact_root / INCOMING / job.key
    try:
        kept = collect(scratch, ctx.artifacts, dest, max_bytes=ctx.artifact_max_bytes)
    except OSError as exc:
        return replace(ev, artifacts_skipped=(f"could not copy the artifacts: {exc}",))
    return replace(ev, artifacts=kept.files, artifacts_skipped=kept.skipped)


def run_failure(run: RunResult) -> str:
    if run.killed_by == "timeout":
        return (
            f"timed out after {run.wall_s:.1f} s (wall limit); the whole process group was killed"
        )
    if run.killed_by == "cpu":
        return f"CPU time limit reached after {run.cpu_s:.1f} s"
    if run.killed_by:
        return f"stopped: {run.killed_by}"
    if run.exit_code is None:
        return "could not start: " + run.stderr_tail.strip()[-500:]
    if run.exit_code != 0:
        last = _last_line(run.stderr_tail)
        how = (
            f"killed by signal {-run.exit_code}"
            if run.exit_code < 0
            else f"exit code {run.exit_code}"
        )
        return f"{how}" + (f": {last}" if last else "")
    return ""


def score(task: Task, scratch: Path, heldout: tuple[str, ...], run: RunResult) -> Evaluation:
    try:
        raw = task.score(scratch)
    except OutputError as exc:
        return Evaluation(ok=False, failure=f"malformed output: {exc}", run=run)
    except Exception as exc:  # trusted code broke: the run's problem, not the candidate's
        return task_raised(task, "score", exc, run)
    metrics: dict[str, float] = {}
    held: dict[str, float] = {}
    for name, value in dict(raw).items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            return Evaluation(
                ok=False, failure=f"metric {name!r} is not a number: {value!r}", run=run
            )
        (held if name in heldout else metrics)[name] = number
    values = {**metrics, **held}
    flags = MetricChecks(task.bounds).check(Scored(metrics, held))
    if flags:
        why = "; ".join(_explain(f, values, task.bounds) for f in flags)
        return Evaluation(
            ok=False, failure=why, metrics=metrics, heldout=held, run=run, flags=flags
        )
    return with_examples(task, scratch, Evaluation(ok=True, metrics=metrics, heldout=held, run=run))


def with_examples(task: Task, scratch: Path, ev: Evaluation) -> Evaluation:
    """``ev`` with the task's per-example scores of its search metrics, checked and packed
    (held-out names are dropped: only search metrics' examples are ever stored)."""
    try:
        raw = task.example_scores(scratch)
    except OutputError as exc:
        return replace(ev, ok=False, failure=f"malformed output: {exc}")
    except Exception as exc:  # trusted code broke, as in score
        return task_raised(task, "example_scores", exc, ev.run)
    scores: dict[str, list[float]] = {}
    for name, values in dict(raw).items():
        if name not in ev.metrics:
            continue
        try:
            floats = [float(v) for v in values]
        except (TypeError, ValueError):
            floats = []
        if not floats or not all(math.isfinite(v) for v in floats):
            why = f"task.example_scores: {name!r} must be a non-empty list of finite numbers"
            return replace(ev, ok=False, failure=why, flags=(*ev.flags, TASK_ERROR))
        scores[name] = floats
    return replace(ev, examples=pack_examples(scores)) if scores else ev


def _explain(
    flag: str, values: Mapping[str, float], bounds: Mapping[str, tuple[float, float]]
) -> str:
    kind, name = flag.split(":", 1)
    if kind == "non_finite":
        return f"non-finite metric: {name}={values[name]}"
    lo, hi = bounds[name]
    return f"metric {name}={values[name]:.6g} outside the task's bounds [{lo:g}, {hi:g}]"


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""
