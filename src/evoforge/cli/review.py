"""The commands that read or decide about a run: ``status``, ``best``, ``show``, ``diff``,
``stop``, ``approve``, ``reject``, ``rollback`` and ``audit``.

Commands that read a run take an optional RUN (a run folder, or an experiment
folder meaning its newest run; by default the newest run under the current
folder) before the candidate ids, which are integers: ``evoforge show 12``,
``evoforge diff examples/digits 12 3``.
"""

from __future__ import annotations

import getpass
import os
import time
from typing import Annotated

import typer

from evoforge.candidate_view import approval_rows, print_candidate
from evoforge.cli.app import UsageError, app, open_archive
from evoforge.cli.stream import stream_audit_verify, stream_decide, stream_of, stream_status
from evoforge.governance.rundir import RunDir, find_run
from evoforge.program import unified_diff
from evoforge.summary import format_rows, run_state, run_summary
from evoforge.textsafe import one_line, printable

RunArgs = Annotated[
    list[str] | None, typer.Argument(help="[RUN] followed by candidate ids.", show_default=False)
]


@app.command()
def status(
    run: Annotated[str | None, typer.Argument(help="Run folder (default: newest).")] = None,
) -> None:
    """Summary of a run, or of a stream, as `key: value` lines (live while it runs)."""
    stream = stream_of(run)
    if stream is not None:
        stream_status(stream)
        return
    rd = find_run(run)
    with open_archive(rd) as archive:
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
    with open_archive(rd) as archive:
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
    rd, ids = split_run_args(args, want=(1, 1))
    with open_archive(rd) as archive:
        print_candidate(archive, archive.get(ids[0]), code=code, prompt=prompt, response=response)


@app.command()
def diff(args: RunArgs = None) -> None:
    """Diff of CAND against OTHER (default: its first parent; the seed's is empty)."""
    rd, ids = split_run_args(args, want=(1, 2))
    with open_archive(rd) as archive:
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
    """Check the audit log's hash chain: reports edited, deleted and reordered lines (of a
    stream: its log, every event in it, and every round's log)."""
    from evoforge.governance.audit import AuditLog
    from evoforge.governance.audit_verify import format_report
    from evoforge.governance.run_audit import Audit

    stream = stream_of(run)
    if stream is not None:
        if not stream_audit_verify(stream):
            raise typer.Exit(1)
        return
    rd = find_run(run)
    with open_archive(rd) as archive:
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

    stream = stream_of(run)
    rd = RunDir(stream) if stream is not None else find_run(run)
    for e in AuditLog(rd.audit).entries():
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.at))
        data = " ".join(f"{k}={v}" for k, v in e.data.items())  # failures of re-runs, reasons
        print(one_line(f"{e.seq:>5} {stamp} {e.event:<20} {data}"))


def _decide(
    action: str, args: list[str] | None, *, reason: str, who: str, best: bool = False
) -> None:
    from evoforge.governance.control import ControlError, decide

    who = who or os.environ.get("USER") or getpass.getuser()
    if not reason:
        raise UsageError(f"{action} needs --reason (it is recorded in the audit trail)")
    stream = stream_of(args[0]) if args else None
    if stream is not None:
        stream_decide(action, stream, list(args or [])[1:], reason=reason, who=who)
        return
    rd, ids = split_run_args(args, want=(0, 0) if best else (1, 1))
    try:
        message = decide(rd, action, ids[0] if ids else 0, who=who, reason=reason, best=best)
        print(printable(message))
        from evoforge.tracking import sync_after_decision

        sync_after_decision(rd)  # [tracking]: the registry's champion alias follows
    except ControlError as exc:
        raise UsageError(str(exc)) from None


# -- helpers ------------------------------------------------------------------------


def split_run_args(args: list[str] | None, *, want: tuple[int, int]) -> tuple[RunDir, list[int]]:
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
