"""kill -9 of the watcher (its whole process group: the round's workers and sandboxes
too) at many points, then watch again: every batch is processed exactly once, no
round is lost or run twice, and the audit trail verifies across it all."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evoforge.governance.audit import AuditLog
from evoforge.stream.store import ROUND_LIVE, StreamStore
from evoforge.stream.verify import verify_stream

from stream_helpers import NEW, OLD, config, make_stream

WATCH = [sys.executable, "-m", "evoforge", "watch"]
DELAYS = (0.4, 1.1, 1.9, 2.6, 3.4, 4.3, 5.5, 7.0, 9.0)
"""Seconds after each start at which the watcher is killed (the last run is not)."""


@pytest.mark.slow
def test_kill_9_at_any_point_loses_and_repeats_nothing(tmp_path: Path) -> None:
    toml = config(stream="forget_tolerance = 0.9\nrollback_batches = 2")
    exp = make_stream(tmp_path / "exp", [OLD] * 5 + [NEW] * 6, toml=toml)
    kills = 0
    seen: set[tuple[int, str]] = set()
    for delay in DELAYS:
        proc = subprocess.Popen(
            [*WATCH, str(exp), "--once"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            kills += 1
            seen.add(_where(exp))
            continue
        break  # it finished before this delay: the run below checks it ends well
    final = subprocess.run(
        [*WATCH, str(exp), "--once"], capture_output=True, text=True, timeout=300
    )
    assert final.returncode == 0, final.stderr
    assert kills >= 3  # the test did interrupt it, more than once
    assert len({n for n, _ in seen}) >= 3, seen  # after different numbers of batches
    assert any(state == "open" for _, state in seen), seen  # and once in a round

    store = StreamStore(exp / "stream", readonly=True)
    names = [f"b{i:03d}.npz" for i in range(1, 12)]
    assert [(b.seq, b.name) for b in store.batches()] == list(enumerate(names, start=1))
    champion = collections.Counter(r.seq for r in store.scores("champion"))
    assert sorted(champion) == list(range(2, 12)) and set(champion.values()) == {1}
    scored = collections.Counter(e.seq or 0 for e in store.events() if e.kind == "batch_scored")
    assert sorted(scored) == list(range(1, 12)) and set(scored.values()) == {1}
    logged = collections.Counter(
        e.data.get("event_id") for e in AuditLog(exp / "stream" / "audit.jsonl").entries()
    )
    assert set(logged.values()) == {1}  # no event written twice
    assert set(logged) == {e.id for e in store.events()}  # and none missing
    rounds = store.rounds()
    assert rounds, "the drift at batch 6 opens a round"
    assert all(r.state not in ROUND_LIVE for r in rounds), [(r.id, r.state) for r in rounds]
    for r in rounds:
        runs = [p for p in (store.round_folder(r.id) / "runs").iterdir() if p.is_dir()]
        assert len(runs) == 1, runs  # resumed, never started twice
        assert r.result.get("run") == str(runs[0])
    ok, report = verify_stream(store)
    assert ok, "\n".join(report)


def _where(exp: Path) -> tuple[int, str]:
    """(batches committed, the live round's state or "") when the watcher was killed."""
    db = exp / "stream" / "stream.sqlite"
    if not db.exists():
        return (0, "")
    store = StreamStore(exp / "stream", readonly=True)
    try:
        live = store.live_round()
        return (len(store.batches()), live.state if live else "")
    finally:
        store.close()


@pytest.mark.slow
def test_sigterm_during_a_round_stops_and_the_next_watch_resumes_it(tmp_path: Path) -> None:
    toml = config(stream="forget_tolerance = 0.9").replace("candidates = 6", "candidates = 40")
    exp = make_stream(tmp_path / "exp", [OLD] * 5 + [NEW] * 3, toml=toml)
    proc = subprocess.Popen(
        [*WATCH, str(exp), "--once"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    runs = exp / "stream" / "rounds" / "r0001" / "runs"
    deadline = time.monotonic() + 120
    while not (runs.is_dir() and any(runs.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # the round is under way
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "round 1: stopped; the next watch resumes it" in out and "state: stopped" in out
    assert _where(exp) == (7, "open")  # batch 8 waits; the round is still open
    again = subprocess.run(
        [*WATCH, str(exp), "--once"], capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0, again.stderr
    store = StreamStore(exp / "stream", readonly=True)
    try:
        (rnd,) = store.rounds()
        assert rnd.state not in ROUND_LIVE and len(store.batches()) == 8
        assert len(list(runs.iterdir())) == 1  # the same run, resumed
    finally:
        store.close()
