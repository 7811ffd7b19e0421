"""Multi-fidelity runs end to end: every rung decision follows the top-1/eta rule
(two workers, a kill -9 of the driver and a resume in between), a candidate stopped
at a low rung is never compared nor promoted, and the program is told its share."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import evoforge
from evoforge.archive import SQLiteArchive
from evoforge.candidate import Status
from evoforge.fidelity import Rungs, recorded

from experiment_helpers import set_config

EVOFORGE = [sys.executable, "-m", "evoforge.cli"]
SHARES = [0.2, 0.5, 1.0]


def _experiment(exp: Path, candidates: int) -> Path:
    prog = exp / "program.py"
    text = prog.read_text().replace(
        "import json\n",
        'import json\nimport os\nimport time\n\nSHARE = float(os.environ["EVOFORGE_FIDELITY"])\n'
        "time.sleep(0.15)\n",
    )  # at a low share the predictions are off by a bias: rung scores are not comparable
    prog.write_text(
        text.replace(
            "return A * x * x + B * x + C", "return A * x * x + B * x + C + (1 - SHARE) * 2"
        )
    )
    set_config(exp, "candidates = 40", f"candidates = {candidates}")
    set_config(exp, "[proposer]", '[sandbox]\nlayers = "process"\n\n[fidelity]\n'
               f"rungs = {SHARES}\neta = 2\n\n[proposer]")  # fmt: skip
    return exp


def _check_every_decision(run_path: Path) -> int:
    """Replays every recorded rung result in the order it was judged; returns how many."""
    with SQLiteArchive(run_path / "archive.sqlite", readonly=True) as archive:
        cands = archive.candidates()
        champions = {m.candidate_id for m in archive.champion_history()}
    results = sorted(
        ((e["seq"], c.id, e) for c in cands for e in recorded(c) if e["ok"]), key=lambda t: t[0]
    )
    assert [s for s, _, _ in results] == list(range(1, len(results) + 1))  # none lost, none twice
    replay = Rungs(SHARES, 2, "neg_mse", maximize=True)
    for _, cid, entry in results:
        verdict = replay.judge(cid, entry["rung"], entry["metrics"]["neg_mse"])
        assert verdict.goes_on == entry["goes_on"], (cid, entry)
    for c in cands:
        entries = recorded(c)
        if c.status == Status.STOPPED:
            assert not c.metrics and c.id not in champions
            assert entries and not entries[-1]["goes_on"]
        elif c.status == Status.SUCCEEDED and c.proposer != "seed":
            assert [e["rung"] for e in entries] == [0, 1] and all(e["goes_on"] for e in entries)
        for a, b in itertools.pairwise(entries):
            assert b["rung"] == a["rung"] + 1 and a["goes_on"]
    return len(results)


def test_rung_decisions_follow_the_rule_across_a_kill_and_a_resume(
    minimal_experiment: Path,
) -> None:
    exp = _experiment(minimal_experiment, candidates=24)
    driver = subprocess.Popen(
        [*EVOFORGE, "run", str(exp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    run_path = None
    while time.monotonic() < deadline:  # kill it once some have gone through rungs
        runs = exp / "runs"
        run_path = next(runs.iterdir(), None) if runs.is_dir() else None
        if run_path is not None and (run_path / "archive.sqlite").exists():
            try:
                with SQLiteArchive(run_path / "archive.sqlite", readonly=True) as archive:
                    if sum(len(recorded(c)) for c in archive.candidates()) >= 8:
                        break
            except Exception:  # the driver is creating it
                pass
        time.sleep(0.05)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    assert run_path is not None
    _check_every_decision(run_path)  # what the killed driver left is consistent already

    run = evoforge.resume(evoforge.open_run(run_path), progress=False)
    assert run.state == "finished"
    judged = _check_every_decision(run_path)
    rows = run.candidates()
    assert sum(r.status in ("succeeded", "failed", "stopped") for r in rows) == 24
    stopped = [r for r in rows if r.status == "stopped"]
    assert stopped and judged > 24  # some went on through several rungs, some stopped


def test_promotion_and_its_reruns_are_at_full_fidelity(minimal_experiment: Path) -> None:
    exp = _experiment(minimal_experiment, candidates=14)
    set_config(exp, "workers = 2", "workers = 1")
    run = evoforge.run(exp, progress=False)
    champion = run.champion()
    assert champion is not None and champion.id != 1
    with SQLiteArchive(run.path / "archive.sqlite", readonly=True) as archive:
        champ = archive.get(champion.id)
        seed = archive.get(1)
    # full-fidelity scores carry no bias: a rung's score of the same program is lower
    assert all(e["metrics"]["neg_mse"] < champ.metrics["neg_mse"] for e in recorded(champ))
    assert not recorded(seed)  # the seed runs in full only
    assert {"stopped", "succeeded"} <= {r.status for r in run.candidates()}
