"""The commands that take results out of a run or hand it work: ``list`` (its candidates
as a table, CSV or JSON), ``export`` (a candidate, or a stream's serving model, as a
folder) and ``enqueue`` (a configuration to try next)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from evoforge.candidate_rows import CandidateRow, candidate_rows, to_csv, to_json
from evoforge.cli.app import UsageError, app, open_archive
from evoforge.cli.review import RunArgs, split_run_args
from evoforge.cli.stream import stream_export, stream_of
from evoforge.config import ConfigError
from evoforge.textsafe import one_line, printable


@app.command("list")
def list_candidates(
    run: Annotated[str | None, typer.Argument(help="Run folder (default: newest).")] = None,
    csv: Annotated[bool, typer.Option("--csv", help="CSV, one row per candidate.")] = False,
    json: Annotated[bool, typer.Option("--json", help="A JSON list of records.")] = False,
) -> None:
    """The run's candidates: id, parent, proposer, status, declared parameters, metrics
    (held-out ones as heldout.*), flags. Columns as the Python API's Run.dataframe()."""
    if csv and json:
        raise UsageError("--csv and --json exclude each other")
    rd, _ = split_run_args([run] if run else [], want=(0, 0))
    with open_archive(rd) as archive:
        rows = candidate_rows(archive)
        objective = str(archive.get_meta("config", {}).get("task", {}).get("objective", ""))
    if csv:
        print(printable(to_csv(rows)), end="")
    elif json:
        print(printable(to_json(rows)))
    else:
        print(_table(rows, objective))


def _table(rows: list[CandidateRow], objective: str) -> str:
    """A fixed-width table for a terminal: the objective and the declared parameters."""
    lines = [f"{'id':>5} {'parent':>6} {'proposer':<14} {'status':<10} {objective:>12}  params"]
    for r in rows:
        score = r.metrics.get(objective)
        mark = "*" if r.champion else ("+" if r.promoted else " ")
        params = " ".join(f"{k}={v}" for k, v in r.params.items())
        parent = str(r.parents[0]) if r.parents else "-"
        value = "-" if score is None else f"{score:.6g}"
        lines.append(
            one_line(
                f"{r.id:>4}{mark} {parent:>6} {r.proposer[:14]:<14} {r.status:<10} "
                f"{value:>12}  {params}"
            )
        )
    lines.append("(* champion, + a former champion; --csv or --json for every column)")
    return "\n".join(lines)


@app.command()
def export(
    args: RunArgs = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder to write (new or empty).")
    ] = None,
    inputs: Annotated[
        bool, typer.Option(help="Also write the task's public inputs (to run it there).")
    ] = True,
    allow_weak_sandbox: Annotated[bool, typer.Option(help="As for run (a stream).")] = False,
) -> None:
    """Write a candidate (default: the champion) as a folder: its program files, the task's
    public inputs, the artifacts the run kept for it and candidate.json (run, parameters,
    metrics, config). Of a stream: train its serving champion and write the model."""
    from evoforge.export import export_candidate

    rest = list(args or [])
    if out is None:
        if not rest:
            raise UsageError("name the folder to write: evoforge export [RUN] [CAND] --out DIR")
        out = Path(rest.pop())
    stream = stream_of(rest[0]) if rest else None
    if stream is not None:
        if len(rest) > 1:
            raise UsageError("a stream exports its serving champion: give no candidate id")
        stream_export(Path(rest[0]), out, allow_weak=allow_weak_sandbox)
        return
    rd, ids = split_run_args(rest, want=(0, 1))
    try:
        path = export_candidate(rd, out, ids[0] if ids else None, inputs=inputs)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    import json

    note = json.loads((path / "candidate.json").read_text())
    print(f"exported: #{note['candidate']} of {rd.path} into {path}")
    for rel, entry in note["artifacts"].items():
        said = "" if entry["kept"] else "  (not kept: the run keeps its champions' only)"
        print(printable(f"artifact: {path / rel}{said}"))
    command = " ".join(note["command"]).replace("{python}", "python")
    print(printable(f"run it: cd {path} && {command}"))


@app.command()
def enqueue(
    args: Annotated[
        list[str] | None,
        typer.Argument(help="[RUN] then NAME=VALUE for declared parameters.", show_default=False),
    ] = None,
    who: Annotated[str, typer.Option(help="Who asks (recorded in the audit trail).")] = "",
) -> None:
    """Queue a configuration of declared parameters (as Optuna's enqueue_trial): the run
    tries it before its next proposal (a stopped or finished run: when resumed)."""
    import ast
    import getpass
    import os

    from evoforge.governance.queue import enqueue as queue_values
    from evoforge.governance.queue import waiting
    from evoforge.governance.rundir import find_run

    rest = list(args or [])
    run = rest.pop(0) if rest and "=" not in rest[0] else None
    values: dict[str, Any] = {}
    for item in rest:
        name, eq, text = item.partition("=")
        if not eq or not name:
            raise UsageError(f"expected NAME=VALUE, got {item!r}")
        try:
            values[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            values[name] = text  # a bare word: a string choice
    rd = find_run(run)
    try:
        path = queue_values(rd, values, who=who or os.environ.get("USER") or getpass.getuser())
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    state = "running: tried next" if rd.driver_pid() else "tried when resumed"
    print(printable(f"enqueued: {path.name} ({waiting(rd.path)} waiting; {state})"))
