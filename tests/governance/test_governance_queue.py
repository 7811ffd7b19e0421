"""Enqueued configurations: checked against the seed when queued, tried first when the
run goes on, recorded as the person's (proposer "enqueued", an audit entry)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import evoforge
from evoforge.config import ConfigError
from evoforge.governance.queue import FOLDER, enqueue, take_next, waiting
from evoforge.governance.rundir import RunDir

from experiment_helpers import set_config


def test_a_queued_configuration_runs_first_when_the_run_is_resumed(
    minimal_experiment: Path,
) -> None:
    set_config(minimal_experiment, "candidates = 40", "candidates = 2")
    set_config(minimal_experiment, "[proposer]", '[sandbox]\nlayers = "process"\n\n[proposer]')
    run = evoforge.run(minimal_experiment, progress=False)
    run.enqueue({"A": 1.0, "B": -2.5}, who="ana")
    assert waiting(run.path) == 1
    more = evoforge.resume(run, candidates=2, progress=False)
    rows = more.candidates()
    queued = [r for r in rows if r.proposer == "enqueued"]
    assert len(queued) == 1 and queued[0].params == {"A": 1.0, "B": -2.5, "C": 0.0}
    assert queued[0].id == 3 and queued[0].status == "succeeded"  # before any proposal
    assert waiting(run.path) == 0
    events = [json.loads(x) for x in (run.path / "audit.jsonl").read_text().splitlines()]
    assert any(e["event"] == "enqueued" and e["data"]["who"] == "ana" for e in events)
    with pytest.raises(ConfigError, match=r"no declared parameter named Z \(declared: A, B, C\)"):
        run.enqueue({"Z": 1})
    with pytest.raises(ConfigError, match=r"named AA \(did you mean A\?\)"):
        run.enqueue({"AA": 1})  # a typo
    with pytest.raises(ConfigError, match=r"A: value 9 is outside"):
        run.enqueue({"A": 9})
    with pytest.raises(ConfigError, match="at least one"):
        enqueue(RunDir(run.path), {}, who="x")


def test_garbage_in_the_queue_folder_is_dropped_never_run(tmp_path: Path) -> None:
    folder = tmp_path / FOLDER
    folder.mkdir()
    (folder / "1-a.json").write_text("{not json")
    (folder / "2-b.json").write_text(json.dumps({"values": {"A": 1}}))
    path, body = take_next(tmp_path) or (None, None)
    assert path is not None and path.name == "2-b.json" and body == {"values": {"A": 1}}
    assert not (folder / "1-a.json").exists()
