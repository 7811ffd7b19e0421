"""The stream example, run as a user runs it: its shipped batches, the CLI, a real sandbox.
It must show the cycle: accuracy falling at each rule change, a trigger, a round, a
promotion, and recovery."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from evoforge.stream.store import StreamStore

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "stream"


@pytest.mark.slow
def test_the_stream_example_falls_triggers_improves_and_recovers(tmp_path: Path) -> None:
    exp = tmp_path / "stream-example"
    shutil.copytree(EXAMPLE, exp, ignore=shutil.ignore_patterns("stream"))
    proc = subprocess.run(
        [sys.executable, "-m", "evoforge", "watch", str(exp), "--once"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    store = StreamStore(exp / "stream", readonly=True)
    try:
        acc = {r.seq: r.metric or 0.0 for r in store.scores("champion")}
        triggered = {seq for seq, detector, *_ in store.triggers() if detector != "schedule"}
        rounds = store.rounds()
        promoted = [c for c in store.champions() if c.round is not None]
    finally:
        store.close()
    assert len(acc) == 29 and np.mean([acc[s] for s in range(2, 12)]) > 0.9
    assert acc[12] < 0.6 and acc[22] < 0.65  # each rule change hits the champion
    assert 12 in triggered and 22 in triggered  # and is detected on its batch
    assert not triggered & set(range(2, 12))  # and no alarm before it
    assert rounds and promoted, proc.stdout[-3000:]
    first = min(c.since_seq for c in promoted)
    assert first <= 14  # a challenger serves within two batches of the first change
    assert np.mean([acc[s] for s in range(first + 1, first + 5)]) > 0.75  # recovered
