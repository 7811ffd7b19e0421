"""The ``evoforge`` command line: one function per command.

Commands that read a run take an optional RUN (a run folder, or an experiment
folder meaning its newest run; by default the newest run under the current
folder) before the candidate ids, which are integers: ``evoforge show 12``,
``evoforge diff examples/digits 12 3``.
"""

from __future__ import annotations

import getpass
import os
import shutil
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from evoforge.archive import Archive, SchemaError, SQLiteArchive
from evoforge.candidate_view import MissingRecord, approval_rows, print_candidate
from evoforge.config import ConfigError, load_config
from evoforge.display import make_display
from evoforge.governance.rundir import RunDir, RunNotFound, find_run
from evoforge.loop_state import SeedFailed, TaskError
from evoforge.program import unified_diff
from evoforge.summary import format_rows, run_state, run_summary
from evoforge.textsafe import one_line, printable

app = typer.Typer(
    help="evoforge: evolve programs that train models, sandboxed and scored on data they never see.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

RunArgs = Annotated[
    list[str] | None, typer.Argument(help="[RUN] followed by candidate ids.", show_default=False)
]


class UsageError(Exception):
    pass


def main() -> None:
    try:
        app()
    except (
        ConfigError,
        RunNotFound,
        SchemaError,
        SeedFailed,
        TaskError,
        UsageError,
        MissingRecord,
        KeyError,
    ) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        if isinstance(exc, TaskError) and exc.traceback:  # the user's own code: show where
            print(printable(exc.traceback.rstrip()), file=sys.stderr)
        print(f"error: {printable(msg)}", file=sys.stderr)  # e.g. the seed's failure and stderr
        sys.exit(2)


FromOpenEvolve = Annotated[
    Path | None,
    typer.Option(
        "--from-openevolve",
        help="An OpenEvolve folder (initial_program.py, evaluator.py, config.yaml) to convert.",
    ),
]
AllowUnknownKeys = Annotated[
    bool,
    typer.Option(help="With --from-openevolve: list config.yaml keys OpenEvolve lacks, go on."),
]
UseLLM = Annotated[
    bool, typer.Option(help="With --from-openevolve: map config.yaml's llm section (if any).")
]


def _from_openevolve(source: Path, dest: Path | None, *, allow_unknown: bool, llm: bool) -> Path:
    from evoforge.compat import import_openevolve

    imported = import_openevolve(source, dest, allow_unknown=allow_unknown, use_llm=llm)
    print(imported.report())
    return imported.experiment


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="Folder to create the experiment in.")],
    template: Annotated[str, typer.Option(help="Template to start from.")] = "minimal",
    from_openevolve: FromOpenEvolve = None,
    allow_unknown_keys: AllowUnknownKeys = False,
    llm: UseLLM = True,
) -> None:
    """Scaffold a new experiment folder from a template (or convert an OpenEvolve folder)."""
    if from_openevolve is not None:
        dest = _from_openevolve(from_openevolve, folder, allow_unknown=allow_unknown_keys, llm=llm)
        print(f"created {dest} from {from_openevolve}; run it with: evoforge run {dest}")
        return
    source = resources.files("evoforge") / "templates" / template
    if not source.is_dir():
        names = sorted(
            p.name for p in (resources.files("evoforge") / "templates").iterdir() if p.is_dir()
        )
        raise UsageError(f"no template {template!r} (have: {', '.join(names)})")
    if folder.exists() and any(folder.iterdir()):
        raise UsageError(f"{folder} exists and is not empty")
    folder.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.is_file() and not item.name.endswith(".pyc"):
            (folder / item.name).write_bytes(item.read_bytes())
    load_config(folder)
    print(f"created {folder} from template {template!r}; run it with: evoforge run {folder}")


@app.command()
def run(
    experiment: Annotated[
        Path | None,
        typer.Argument(
            help="Experiment folder (holds evoforge.toml); with --from-openevolve, where to "
            "write it (default: DIR/evoforge-experiment).",
            show_default=False,
        ),
    ] = None,
    allow_weak_sandbox: Annotated[
        bool, typer.Option(help="Run even with neither namespaces nor Landlock (recorded).")
    ] = False,
    dashboard: Annotated[
        bool, typer.Option(help="Serve the web dashboard of the experiment while it runs.")
    ] = False,
    from_openevolve: FromOpenEvolve = None,
    allow_unknown_keys: AllowUnknownKeys = False,
    llm: UseLLM = True,
) -> None:
    """Start a new run of an experiment and show its progress."""
    from evoforge import session
    from evoforge.dashboard import background_dashboard

    if from_openevolve is not None:
        experiment = _from_openevolve(
            from_openevolve, experiment, allow_unknown=allow_unknown_keys, llm=llm
        )
    if experiment is None:
        raise UsageError("name the experiment folder (or --from-openevolve DIR)")
    config = load_config(experiment)
    with (
        background_dashboard(experiment, enabled=dashboard),
        make_display(config.task.objective) as display,
    ):
        outcome = session.start(experiment, observer=display, allow_weak=allow_weak_sandbox)
    _print_end(outcome.run, outcome.reason)


@app.command()
def meta(
    out: Annotated[Path, typer.Option(help="Folder of the meta-run and its result.")] = Path(
        "meta-run"
    ),
    train: Annotated[str, typer.Option(help="Training split or comma list of tasks.")] = "train",
    heldout: Annotated[
        str, typer.Option(help="Held-out split or tasks, used only to accept the result.")
    ] = "heldout",
    candidates: Annotated[int, typer.Option(min=1, help="Policies evaluated.")] = 150,
    inner: Annotated[int, typer.Option(min=1, help="Children per inner search.")] = 48,
    batch: Annotated[int, typer.Option(min=1, help="Children per policy decision round.")] = 8,
    seeds: Annotated[int, typer.Option(min=1, help="Inner searches per training task.")] = 4,
    accept_seeds: Annotated[int, typer.Option(min=1, help="Searches per held-out task.")] = 5,
    workers: Annotated[int, typer.Option(min=1, help="Policies evaluated at once.")] = 2,
    start_from: Annotated[
        Path | None, typer.Option("--from", help="Policy file to start from (default: shipped).")
    ] = None,
    allow_weak_sandbox: Annotated[
        bool, typer.Option(help="Run even with neither namespaces nor Landlock (recorded).")
    ] = False,
    sandbox: Annotated[
        str, typer.Option(help='"auto" (every layer) or "process" (supervisor and rlimits).')
    ] = "auto",
) -> None:
    """Evolve the search policy on training tasks; keep it only if it wins on held-out ones."""
    from evoforge.meta.metarun import MetaSettings, run_meta
    from evoforge.meta.metatask import OBJECTIVE

    settings = MetaSettings(
        train=train, heldout=heldout, candidates=candidates, inner=inner, batch=batch,
        seeds=seeds, accept_seeds=accept_seeds, workers=workers,
        allow_weak=allow_weak_sandbox, start_from=start_from, layers=sandbox,
    )  # fmt: skip
    if sandbox not in ("auto", "process"):
        raise UsageError(f'--sandbox must be "auto" or "process", got {sandbox!r}')
    log = lambda line: print(printable(line), file=sys.stderr)  # noqa: E731
    try:
        with make_display(OBJECTIVE) as display:
            result = run_meta(out, settings, observer=display, log=log)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    rows = [("meta_run", str(result.run)), ("state", result.reason)]
    rows.append(("best_policy", "-" if result.best_id is None else f"#{result.best_id}"))
    if result.best_train is not None:
        rows.append(("train_efficiency", f"{result.best_train:.4f}"))
    if result.comparison is not None:
        rows.append(("heldout_efficiency_start", f"{result.comparison.default:.4f}"))
        rows.append(("heldout_efficiency_evolved", f"{result.comparison.evolved:.4f}"))
    rows.append(("accepted", "yes" if result.accepted else "no"))
    rows.append(("policy_file", str(result.policy) if result.policy else "-"))
    rows.append(("why", result.why))
    print(format_rows(rows))


@app.command()
def dashboard(
    run: Annotated[
        str | None, typer.Argument(help="Run or experiment folder (default: newest run).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8765,
    token: Annotated[
        str,
        typer.Option(help="Access token (default: a fresh random one).", envvar="EVOFORGE_TOKEN"),
    ] = "",
) -> None:
    """Serve the web dashboard of an experiment's runs; prints the URL with its access token."""
    from evoforge.dashboard import serve

    rd = find_run(run)
    serve(rd, host=host, port=port, token=token or None)


@app.command()
def report(
    run: Annotated[str | None, typer.Argument(help="Run folder (default: newest).")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="HTML file (default: RUN/report.html).")
    ] = None,
) -> None:
    """Write one self-contained HTML report of a run (plots inline; opens offline)."""
    from evoforge.report import write_report

    rd = find_run(run)
    path = write_report(rd, out or rd.path / "report.html")
    print(f"report: {path}")


@app.command()
def resume(
    run: Annotated[str | None, typer.Argument(help="Run folder (default: newest).")] = None,
    allow_weak_sandbox: Annotated[bool, typer.Option(help="As for run.")] = False,
) -> None:
    """Continue a stopped or crashed run where it left off."""
    from evoforge import session

    rd = find_run(run)
    with _open(rd) as archive:
        objective = archive.get_meta("config", {}).get("task", {}).get("objective", "")
    with make_display(objective) as display:
        outcome = session.resume(rd, observer=display, allow_weak=allow_weak_sandbox)
    _print_end(outcome.run, outcome.reason)


@app.command()
def status(
    run: Annotated[str | None, typer.Argument(help="Run folder (default: newest).")] = None,
) -> None:
    """Summary of a run as `key: value` lines (live while it runs)."""
    rd = find_run(run)
    with _open(rd) as archive:
        pid = rd.driver_pid()
        state = run_state(archive, live_pid=pid, run_path=str(rd.path))
        rows = run_summary(archive, run_path=str(rd.path), state=state)
        if pid:
            rows.append(("driver_pid", str(pid)))
        rows.extend(approval_rows(archive))
        print(format_rows(rows))


@app.command()
def best(
    run: Annotated[str | None, typer.Argument(help="Run folder (default: newest).")] = None,
) -> None:
    """The champion's metrics and code."""
    rd = find_run(run)
    with _open(rd) as archive:
        champ = archive.champion()
        if champ is None:
            raise UsageError(f"{rd.path}: no champion yet")
        print_candidate(archive, champ, code=True)


@app.command()
def show(
    args: RunArgs = None,
    code: Annotated[bool, typer.Option(help="Print the full code.")] = False,
    prompt: Annotated[bool, typer.Option(help="Print the LLM prompt that wrote it.")] = False,
    response: Annotated[bool, typer.Option(help="Print the LLM's raw answer.")] = False,
) -> None:
    """One candidate: lineage, status, metrics, failure, output tails and diff to its parent."""
    rd, ids = _split_run_args(args, want=(1, 1))
    with _open(rd) as archive:
        print_candidate(archive, archive.get(ids[0]), code=code, prompt=prompt, response=response)


@app.command()
def diff(args: RunArgs = None) -> None:
    """Diff of CAND against OTHER (default: its first parent; the seed's is empty)."""
    rd, ids = _split_run_args(args, want=(1, 2))
    with _open(rd) as archive:
        cand = archive.get(ids[0])
        if len(ids) == 2:
            other = archive.get(ids[1])
        elif cand.parent_ids:
            other = archive.get(cand.parent_ids[0])
        else:
            other = cand
        code = unified_diff(archive.get_code(other.code_hash), archive.get_code(cand.code_hash))
        print(printable(code), end="")  # the candidates' code: hostile text


@app.command()
def stop(
    run: Annotated[str | None, typer.Argument(help="Run folder (default: newest).")] = None,
    drain: Annotated[bool, typer.Option(help="Let running candidates finish first.")] = False,
    now: Annotated[
        bool, typer.Option(help="Kill running candidates at once (the default).")
    ] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the driver to exit.")] = 30.0,
) -> None:
    """Stop a run: running candidates are killed (or drained) and the run stays resumable."""
    if drain and now:
        raise UsageError("--drain and --now exclude each other")
    from evoforge.governance.control import stop as stop_run

    rd = find_run(run)
    state = stop_run(rd, drain=drain, wait=wait)
    if state == "not running":
        print(
            f"run: {rd.path}\nstate: not running (a stop request was left for the next resume to clear)"
        )
        return
    print(f"run: {rd.path}\nstate: {state}\nresume_with: evoforge resume {rd.path}")


Who = Annotated[str, typer.Option(help="Who decides (recorded in the audit trail).")]
Reason = Annotated[str, typer.Option(help="Why (recorded in the audit trail).")]


@app.command()
def approve(
    args: RunArgs = None,
    reason: Reason = "",
    who: Who = "",
    best: Annotated[
        bool, typer.Option(help="Approve the best pending challenger (give no candidate id).")
    ] = False,
) -> None:
    """Approve a pending promotion: re-checked against the current champion, then the
    candidate becomes champion (audited)."""
    _decide("approve", args, reason=reason, who=who, best=best)


@app.command()
def reject(args: RunArgs = None, reason: Reason = "", who: Who = "") -> None:
    """Reject a pending promotion; the champion stays (audited)."""
    _decide("reject", args, reason=reason, who=who)


@app.command()
def rollback(args: RunArgs = None, reason: Reason = "", who: Who = "") -> None:
    """Move the champion back to a former champion (audited; the history is kept)."""
    _decide("rollback", args, reason=reason, who=who)


audit_app = typer.Typer(help="The run's audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(
    run: Annotated[str | None, typer.Argument(help="Run folder (default: newest).")] = None,
) -> None:
    """Check the audit log's hash chain: reports edited, deleted and reordered lines."""
    from evoforge.governance.audit import AuditLog, format_report
    from evoforge.governance.run_audit import Audit

    rd = find_run(run)
    with _open(rd) as archive:
        report = Audit(AuditLog(rd.audit), archive).verify()
    print(printable(format_report(report)))
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("show")
def audit_show(
    run: Annotated[str | None, typer.Argument(help="Run folder (default: newest).")] = None,
) -> None:
    """Print the audit log, one event per line."""
    from evoforge.governance.audit import AuditLog

    rd = find_run(run)
    for e in AuditLog(rd.audit).entries():
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.at))
        data = " ".join(f"{k}={v}" for k, v in e.data.items())  # failures of re-runs, reasons
        print(one_line(f"{e.seq:>5} {stamp} {e.event:<20} {data}"))


def _decide(
    action: str, args: list[str] | None, *, reason: str, who: str, best: bool = False
) -> None:
    from evoforge.governance.control import ControlError, decide

    rd, ids = _split_run_args(args, want=(0, 0) if best else (1, 1))
    who = who or os.environ.get("USER") or getpass.getuser()
    if not reason:
        raise UsageError(f"{action} needs --reason (it is recorded in the audit trail)")
    try:
        message = decide(rd, action, ids[0] if ids else 0, who=who, reason=reason, best=best)
        print(printable(message))
    except ControlError as exc:
        raise UsageError(str(exc)) from None


# -- helpers ------------------------------------------------------------------------


def _open(rd: RunDir) -> Archive:
    return SQLiteArchive(rd.archive, readonly=True)


def _split_run_args(args: list[str] | None, *, want: tuple[int, int]) -> tuple[RunDir, list[int]]:
    args = list(args or [])
    run: str | None = None
    if args and not args[0].lstrip("#").isdigit():
        run = args.pop(0)
    try:
        ids = [int(a.lstrip("#")) for a in args]
    except ValueError:
        raise UsageError(f"candidate ids are integers, got {args}") from None
    lo, hi = want
    if not lo <= len(ids) <= hi:
        raise UsageError(
            f"expected {lo}{'' if lo == hi else f' to {hi}'} candidate id(s), got {len(ids)}"
        )
    return find_run(run), ids


def _print_end(rd: RunDir, reason: str) -> None:
    """The closing summary; a run the driver halted (the task's files changed while it
    ran) ends with an error line and exit code 2, not as if all went well."""
    with _open(rd) as archive:
        rows = run_summary(archive, run_path=str(rd.path))
    width = shutil.get_terminal_size((80, 20)).columns
    print("-" * min(width, 60))
    print(format_rows(rows))
    if reason.startswith("stopped: "):
        print(f"error: the run was {printable(reason)}", file=sys.stderr)
        sys.exit(2)
    if rows and dict(rows).get("state") == "stopped":
        print(f"resume_with: evoforge resume {rd.path}")


if __name__ == "__main__":
    main()
