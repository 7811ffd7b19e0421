"""Building a watcher from a stream experiment's folder (the wiring of ``evoforge watch``)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from evoforge.candidate import dumps
from evoforge.config import CONFIG_NAME, Config, ConfigError, seed_files
from evoforge.governance.rundir import RunDir
from evoforge.stream import moves
from evoforge.stream.sources import source_for
from evoforge.stream.store import DB, STREAM_DIR, StreamStore
from evoforge.stream.watch import Watcher
from evoforge.wiring import load_experiment, run_context, sandbox_for, sandbox_strength


def stream_folder(path: Path) -> Path | None:
    """The stream folder ``path`` names: itself, or an experiment's ``stream/``."""
    for p in (path, path / STREAM_DIR):
        if (p / DB).is_file():
            return p
    return None


def load_stream_experiment(experiment: Path) -> Config:
    config = load_experiment(experiment)
    if config.stream is None:
        raise ConfigError(
            f"{experiment / CONFIG_NAME}: no [stream] section: this experiment is a one-off "
            f"run (evoforge run {experiment}); a stream experiment declares where batches come from"
        )
    return config


def build_watcher(
    experiment: Path,
    *,
    allow_weak: bool = False,
    say: Callable[[str], None] = print,
    stop: Callable[[], bool] = lambda: False,
) -> Watcher:
    experiment = experiment.resolve()
    config = load_stream_experiment(experiment)
    assert config.stream is not None
    allow_weak = allow_weak or config.sandbox.allow_weak
    strength = sandbox_strength(config.sandbox.layers, allow_weak)
    folder = experiment / STREAM_DIR
    folder.mkdir(exist_ok=True)
    store = StreamStore(folder)
    _check_config(store, config, experiment)
    store.set_meta("sandbox", dict(strength))
    run = RunDir(folder)
    run.active.mkdir(exist_ok=True)
    ctx = replace(
        run_context(run, config, experiment, allow_weak=allow_weak),
        heldout=(),  # the production metric is the whole score of a batch
    )
    source = source_for(experiment, config.stream)
    hidden = [folder, experiment / config.stream.folder, experiment / config.stream.module]
    return Watcher(
        experiment=experiment, config=config, store=store, source=source,
        sandbox=sandbox_for(config.sandbox.layers, allow_weak), ctx=ctx,
        seed_files=seed_files(experiment, config), hidden=hidden, allow_weak=allow_weak,
        say=say, stop=stop,
    )  # fmt: skip


def _check_config(store: StreamStore, config: Config, experiment: Path) -> None:
    """The stream's config is fixed at its first watch: a changed one is refused (the
    records would mix two streams' rules), except for the round's budget and proposer."""
    dump = config.model_dump(mode="json")
    fixed = {k: dump[k] for k in ("program", "stream", "task")}
    digest = hashlib.sha256(dumps(fixed).encode()).hexdigest()
    before = store.get_meta("stream_config_sha256")
    if before is None:
        with store.transaction():
            store.set_meta("experiment", str(experiment))
            store.set_meta("stream_config_sha256", digest)
            store.set_meta("config", dump)
            store.add_event("watch_config", None, config_sha256=digest, pid=os.getpid())
        moves.flush_audit(store)
        return
    if before != digest:
        raise ConfigError(
            f"{experiment / CONFIG_NAME}: [program] or [stream] changed since this stream "
            f"started ({store.folder}); move that folder away to start a new stream"
        )
