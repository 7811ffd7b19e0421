"""The stream command ``watch``, and the stream side of ``export``, ``status``,
``approve``, ``reject``, ``rollback``, ``audit`` and ``report`` (which call here when
given a stream: an experiment with a ``stream/`` folder, or that folder)."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Annotated

import typer

from evoforge.cli.app import UsageError, app
from evoforge.stream.moves import StreamError
from evoforge.textsafe import printable


@app.command()
def watch(
    experiment: Annotated[
        Path,
        typer.Argument(
            help="Stream experiment folder (with a \\[stream] section in evoforge.toml)."
        ),
    ],
    once: Annotated[
        bool, typer.Option(help="Process the batches that have arrived, then exit (cron, tests).")
    ] = False,
    allow_weak_sandbox: Annotated[bool, typer.Option(help="As for run.")] = False,
) -> None:
    """Watch a stream of labelled batches: score the champion on each new batch, detect
    drift, run an improvement round, promote without forgetting, roll back (Ctrl-C stops;
    the next watch goes on where this one stopped)."""
    from evoforge.stream.setup import build_watcher

    stopping: list[int] = []

    def handler(signum: int, frame: object) -> None:
        stopping.append(signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    watcher = build_watcher(
        experiment, allow_weak=allow_weak_sandbox, say=lambda line: print(printable(line), flush=True),
        stop=lambda: bool(stopping),
    )  # fmt: skip
    store = watcher.store
    print(f"stream: {store.folder}\nsource: {watcher.source.describe()}", flush=True)
    store.set_meta("watcher_pid", os.getpid())
    store.set_meta("state", "watching")
    try:
        reason = watcher.run(once=once)
    except BaseException as exc:
        store.set_meta("state", f"failed: {exc}".splitlines()[0])
        raise
    finally:
        store.set_meta("watcher_pid", None)
        for s, h in old.items():
            signal.signal(s, h)
    store.set_meta("state", "idle" if reason == "done" else reason)
    n = len(store.batches())
    print(f"state: {reason}\nbatches: {n}\nstatus_with: evoforge status {store.folder}")


def stream_export(experiment: Path, out: Path, *, allow_weak: bool) -> None:
    """``evoforge export STREAM --out DIR``: train the serving champion on the current
    window and write its model (data files), trained_on.json and its code."""
    from evoforge.stream.export import export_model
    from evoforge.stream.setup import build_watcher

    if out.exists() and any(out.iterdir()):
        raise UsageError(f"{out} exists and is not empty")
    watcher = build_watcher(experiment, allow_weak=allow_weak)
    try:
        path = export_model(watcher, out)
    except StreamError as exc:
        raise UsageError(str(exc)) from None
    print(f"exported: {path}\nmodel: {path / 'model'}\nnote: {path / 'trained_on.json'}")


def stream_of(arg: str | None) -> Path | None:
    from evoforge.stream.setup import stream_folder

    return None if arg is None else stream_folder(Path(arg))


def stream_status(folder: Path) -> None:
    from evoforge.stream.store import StreamStore
    from evoforge.stream.view import live_watcher, stream_rows
    from evoforge.summary import format_rows

    store = StreamStore(folder, readonly=True)
    try:
        print(format_rows(stream_rows(store, live_pid=live_watcher(store))))
    finally:
        store.close()


def stream_decide(action: str, folder: Path, ids: list[str], *, reason: str, who: str) -> None:
    from evoforge.stream import moves
    from evoforge.stream.store import StreamStore

    store = StreamStore(folder)
    try:
        with store.transaction():
            if action == "rollback":
                to = int(ids[0].lstrip("#")) if ids else None
                cid = moves.rollback(store, who=who, reason=reason, to=to)
                message = f"rolled back: champion #{cid} serves from the next batch"
            else:
                if len(ids) != 1 or not ids[0].isdigit():
                    raise UsageError(
                        f"{action} on a stream takes one round number: evoforge {action} {folder} ROUND"
                    )
                rnd = moves.pending_round(store, int(ids[0]))
                if action == "approve":
                    cid = moves.promote_round(store, rnd, who=who, reason=reason)
                    message = f"approved: round {rnd.id}'s challenger is champion #{cid}"
                else:
                    moves.decline_round(store, rnd, why=f"{who}: {reason}", state="rejected")
                    message = f"rejected: round {rnd.id}'s challenger; the champion stays"
        moves.flush_audit(store)
    except StreamError as exc:
        raise UsageError(str(exc)) from None
    finally:
        store.close()
    print(printable(message))


def stream_audit_verify(folder: Path) -> bool:
    from evoforge.stream.store import StreamStore
    from evoforge.stream.verify import verify_stream

    store = StreamStore(folder, readonly=True)
    try:
        ok, lines = verify_stream(store)
    finally:
        store.close()
    print(printable("\n".join(lines)))
    return ok
