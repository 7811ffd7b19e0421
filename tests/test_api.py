"""The Python API end to end, as a user drives it: from a heredoc (``python -``), a
script without a ``__main__`` guard, and in-process (approve, stop, extend, start from)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import evoforge
from evoforge.archive import SQLiteArchive

from experiment_helpers import set_config


def _small(exp: Path, candidates: int = 5) -> Path:
    set_config(exp, "candidates = 40", f"candidates = {candidates}")
    set_config(exp, "[proposer]", '[sandbox]\nlayers = "process"\n\n[proposer]')
    program = exp / "program.py"  # the candidate keeps a file of its own: an artifact
    program.write_text(
        program.read_text()
        + '\nwith open("model.json", "w") as fh:\n    json.dump([A, B, C], fh)\n'
    )
    set_config(exp, 'command = ["{python}", "program.py"]\n',
               'command = ["{python}", "program.py"]\nartifacts = ["model.json"]\n')  # fmt: skip
    return exp


SCRIPT = """
import json, sys
import evoforge

run = evoforge.run(sys.argv[1], progress=False)
rows = run.candidates()
champ = run.champion()
out = run.export(sys.argv[2])
frame = run.dataframe()
print(json.dumps({
    "state": run.state, "n": len(rows), "champion": champ.id,
    "champion_score": champ.metrics["neg_mse"],
    "best": max(r.metrics["neg_mse"] for r in rows if r.status == "succeeded"),
    "params": sorted(champ.params), "columns": list(frame.columns),
    "code": sorted(run.code()), "exported": sorted(p.name for p in out.iterdir()),
}))
"""


def test_a_heredoc_runs_an_experiment_and_reads_lists_and_exports_it(
    minimal_experiment: Path, tmp_path: Path
) -> None:
    exp = _small(minimal_experiment)
    out = tmp_path / "champion"
    proc = subprocess.run(
        [sys.executable, "-", str(exp), str(out)], input=SCRIPT, capture_output=True,
        text=True, timeout=240, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["state"] == "finished" and got["n"] >= 5
    assert got["champion_score"] == got["best"]  # no re-runs: the best is champion
    assert got["params"] == ["A", "B", "C"]
    assert {"params.A", "metrics.neg_mse", "heldout.heldout_neg_mse", "proposer"} <= set(
        got["columns"]
    )
    assert got["code"] == ["program.py"]
    assert {"program.py", "model.json", "candidate.json", "inputs.json"} <= set(got["exported"])
    kept = json.loads((out / "model.json").read_text())  # the champion's own constants
    note = json.loads((out / "candidate.json").read_text())
    assert kept == [note["params"][k] for k in ("A", "B", "C")]


def test_a_script_without_a_main_guard_runs_once(minimal_experiment: Path, tmp_path: Path) -> None:
    # Spawned workers re-import an unguarded script as __mp_main__ unless evoforge's
    # workers start without the caller's main module: then every worker would start
    # a run of its own.
    exp = _small(minimal_experiment, candidates=3)
    script = tmp_path / "go.py"
    script.write_text(
        f"import evoforge\nevoforge.run({str(exp)!r}, progress=False)\nprint('ran')\n"
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=240, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("ran") == 1
    assert len(list((exp / "runs").iterdir())) == 1


def test_resume_extends_a_finished_run_and_the_audit_trail_says_so(
    minimal_experiment: Path,
) -> None:
    exp = _small(minimal_experiment, candidates=3)
    run = evoforge.run(exp, progress=False)
    assert run.state == "finished"
    more = evoforge.resume(run, candidates=4, progress=False)
    assert more.path == run.path and more.state == "finished"
    assert sum(r.status in ("succeeded", "failed") for r in more.candidates()) == 7
    events = [json.loads(line) for line in (run.path / "audit.jsonl").read_text().splitlines()]
    ext = [e for e in events if e["event"] == "budget_extended"]
    assert len(ext) == 1 and ext[0]["data"]["candidates"] == 7
    assert ext[0]["data"]["candidates_before"] == 3
    with SQLiteArchive(run.path / "archive.sqlite", readonly=True) as archive:
        assert archive.get_meta("config")["budget"]["candidates"] == 7  # kept for a later resume


def test_a_new_run_starts_from_a_former_champion(minimal_experiment: Path) -> None:
    exp = _small(minimal_experiment, candidates=4)
    first = evoforge.run(exp, progress=False)
    champ = first.champion()
    assert champ is not None
    second = evoforge.run(exp, progress=False, start_from=first)
    seed = second.candidates()[0]
    assert seed.proposer == "seed" and seed.params == champ.params
    assert seed.metrics == champ.metrics  # the same code, the same fixed seed
    events = [json.loads(line) for line in (second.path / "audit.jsonl").read_text().splitlines()]
    origin = events[0]["data"]["seed_from"]
    assert origin["candidate"] == champ.id and origin["run"] == str(first.path)
    with pytest.raises(ValueError, match="start_from"):
        evoforge.run(exp, progress=False, candidate=2)


def test_decisions_need_a_reason_and_a_rollback_moves_the_champion(
    minimal_experiment: Path,
) -> None:
    exp = _small(minimal_experiment, candidates=8)
    set_config(exp, "workers = 2", "workers = 1")  # one worker: the same draws every time
    run = evoforge.run(exp, progress=False)
    promoted = [r.id for r in run.candidates() if r.promoted]
    assert len(promoted) >= 2, "the search found no improvement to roll back from"
    with pytest.raises(ValueError, match="reason"):
        run.rollback(promoted[0], reason="")
    run.rollback(promoted[0], reason="the newer one overfits", who="tester")
    champion = run.champion()
    assert champion is not None and champion.id == promoted[0]
    assert run.stop() == "not running"
