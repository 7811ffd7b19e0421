"""The commands that start or continue work: ``init``, ``run``, ``meta``, ``dashboard``,
``report`` and ``resume``."""

from __future__ import annotations

import shutil
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from evoforge.cli.app import UsageError, app, open_archive
from evoforge.display import make_display
from evoforge.governance.rundir import RunDir, find_run
from evoforge.summary import format_rows, run_summary
from evoforge.textsafe import printable
from evoforge.wiring import load_experiment

if TYPE_CHECKING:
    from evoforge.session import SeedOrigin

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


TEMPLATES = {
    "minimal": "fit a curve by evolving a program's constants (pure Python, seconds)",
    "sklearn": "a scikit-learn classifier on a bundled data set: fixed split, hidden "
    "labels, held-out test metric, conditional parameters, the model kept",
    "stream": "a stream experiment for evoforge watch (batches arrive, drift)",
}


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="Folder to create the experiment in.")],
    template: Annotated[
        str,
        typer.Option(
            help="Template to start from: "
            + "; ".join(f"{name}: {what}" for name, what in TEMPLATES.items())
            + "."
        ),
    ] = "minimal",
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
    config = load_experiment(folder)
    verb = "watch" if config.stream is not None else "run"
    print(f"created {folder} from template {template!r}; run it with: evoforge {verb} {folder}")


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
    start_from: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="RUN[:CAND]: start from a former run's champion (or candidate CAND) "
            "instead of the experiment's program.",
        ),
    ] = None,
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
    config = load_experiment(experiment)
    origin = _seed_origin(start_from) if start_from else None
    with (
        background_dashboard(experiment, enabled=dashboard),
        make_display(config.task.objective) as display,
    ):
        outcome = session.start(
            experiment, observer=display, allow_weak=allow_weak_sandbox, seed_from=origin
        )
    _print_end(outcome.run, outcome.reason)


def _seed_origin(arg: str) -> SeedOrigin:
    from evoforge.session import SeedOrigin

    run, _, cand = arg.rpartition(":") if ":" in arg else (arg, "", "")
    if cand and not cand.lstrip("#").isdigit():
        raise UsageError(f"--from RUN[:CAND]: CAND is a candidate id, got {cand!r}")
    return SeedOrigin(find_run(run or None), int(cand.lstrip("#")) if cand else None)


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
    seeds: Annotated[int, typer.Option(min=1, help="Inner searches per training task.")] = 8,
    accept_seeds: Annotated[int, typer.Option(min=1, help="Searches per held-out task.")] = 10,
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
        rows.append(("heldout_paired_se", f"{result.comparison.se:.4f}"))
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
    """Serve the web dashboard of an experiment's runs (or of its stream); prints the URL
    with its access token."""
    from evoforge.cli.stream import stream_of
    from evoforge.dashboard import serve

    stream = stream_of(run)
    target = stream if stream is not None else find_run(run)
    serve(target, host=host, port=port, token=token or None)


@app.command()
def report(
    run: Annotated[str | None, typer.Argument(help="Run folder (default: newest).")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="HTML file (default: RUN/report.html).")
    ] = None,
) -> None:
    """Write one self-contained HTML report of a run or a stream (plots inline; opens offline)."""
    from evoforge.cli.stream import stream_of
    from evoforge.dashboard.report import write_report

    stream = stream_of(run)
    if stream is not None:
        from evoforge.dashboard.stream_report import write_stream_report

        print(f"report: {write_stream_report(stream, out)}")
        return
    rd = find_run(run)
    path = write_report(rd, out or rd.path / "report.html")
    print(f"report: {path}")


@app.command()
def resume(
    run: Annotated[str | None, typer.Argument(help="Run folder (default: newest).")] = None,
    allow_weak_sandbox: Annotated[bool, typer.Option(help="As for run.")] = False,
    candidates: Annotated[
        str | None,
        typer.Option(help="+N: N more candidates than the run has evaluated (N: a new total)."),
    ] = None,
    wall_minutes: Annotated[
        float | None, typer.Option(help="This many more minutes of wall time.")
    ] = None,
) -> None:
    """Continue a stopped or crashed run where it left off, or extend a finished one
    (--candidates +N, --wall-minutes M; the change is audited)."""
    from evoforge import session

    rd = find_run(run)
    with open_archive(rd) as archive:
        objective = archive.get_meta("config", {}).get("task", {}).get("objective", "")
        evaluated = sum(n for st, n in archive.counts().items() if st.was_evaluated())
        state = str(archive.get_meta("state", ""))
    extend = None
    if candidates is not None or wall_minutes is not None:
        more = _more_candidates(candidates, evaluated) if candidates is not None else None
        extend = session.Extension(candidates=more, wall_minutes=wall_minutes)
    elif state in ("finished", "wall budget spent"):
        raise UsageError(
            f"{rd.path} ended: {state}; give it more budget: evoforge resume {rd.path} "
            "--candidates +N (or --wall-minutes M)"
        )
    with make_display(objective) as display:
        outcome = session.resume(rd, observer=display, allow_weak=allow_weak_sandbox, extend=extend)
    _print_end(outcome.run, outcome.reason)


def _more_candidates(arg: str, evaluated: int) -> int:
    text = arg.strip()
    try:
        n = int(text.removeprefix("+"))
    except ValueError:
        raise UsageError(f"--candidates takes +N (more) or N (a new total), got {arg!r}") from None
    if text.startswith("+"):
        return n
    if n <= evaluated:
        raise UsageError(
            f"--candidates {n}: the run has evaluated {evaluated} already; "
            f"give more (or +N for N more)"
        )
    return n - evaluated


# -- helpers ------------------------------------------------------------------------


def _print_end(rd: RunDir, reason: str) -> None:
    """The closing summary; a run the driver halted (the task's files changed while it
    ran) ends with an error line and exit code 2, not as if all went well."""
    with open_archive(rd) as archive:
        rows = run_summary(archive, run_path=str(rd.path))
    width = shutil.get_terminal_size((80, 20)).columns
    print("-" * min(width, 60))
    print(format_rows(rows))
    if reason.startswith("stopped: "):
        print(f"error: the run was {printable(reason)}", file=sys.stderr)
        sys.exit(2)
    if rows and dict(rows).get("state") == "stopped":
        print(f"resume_with: evoforge resume {rd.path}")
