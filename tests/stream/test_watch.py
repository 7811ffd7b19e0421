"""The living loop end to end on a small stream: the cycle, the forgetting guard, shadow
batches, the automatic rollback, quarantine, and the audit trail across it all."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from evoforge.stream.setup import build_watcher
from evoforge.stream.store import StreamStore
from evoforge.stream.verify import verify_stream
from evoforge.stream.watch import Watcher

from stream_helpers import NEW, OLD, SetRecent, config, make_stream, write_batch


def watch(exp: Path, *, proposer: int | None = None) -> tuple[Watcher, list[str]]:
    lines: list[str] = []
    w = build_watcher(exp, say=lines.append)
    if proposer is not None:
        w.proposer_for = lambda folder: SetRecent(proposer)
    assert w.run(once=True) == "done"
    return w, lines


def metrics(store: StreamStore, role: str = "champion") -> dict[int, float | None]:
    return {r.seq: r.metric for r in store.scores(role)}


def test_drift_trigger_round_promotion_recovery(tmp_path: Path) -> None:
    toml = config(stream="forget_tolerance = 0.9")
    exp = make_stream(tmp_path / "exp", [OLD] * 6 + [NEW] * 6, toml=toml)
    w, lines = watch(exp, proposer=1)
    store = w.store
    m = metrics(store)
    assert sorted(m) == list(range(2, 13))  # batch 1 has nothing before it to train on
    assert min(m[s] or 0 for s in range(2, 7)) > 0.9
    assert (m[7] or 0) < 0.5  # the change: the champion is wrong on most rows
    trig = store.triggers()
    assert trig and trig[0][0] == 7, trig
    rounds = store.rounds()
    assert [r.state for r in rounds] == ["promoted"]
    assert rounds[0].trigger_seq == 7 and rounds[0].ended_seq == 8
    champ = store.champion()
    assert champ is not None and champ.round == 1 and champ.since_seq == 8
    assert np.mean([m[s] for s in range(9, 13)]) > 0.9  # recovered
    # the predecessor was scored side by side on the batches after the promotion
    assert sorted(metrics(store, "predecessor")) == [9, 10, 11]
    ok, report = verify_stream(store)
    assert ok, report
    assert any("round 1: challenger promoted" in line for line in lines)


def test_forgetting_guard_declines_a_challenger_that_loses_the_memory_set(tmp_path: Path) -> None:
    # Round at batch 8: memory rows from batches 5, 6 (old concept) and 7 (new). Keeping
    # only the newest batch wins batch 8 but forgets the old concept.
    strict = config(stream="memory = 3\nforget_tolerance = 0.05")
    exp = make_stream(tmp_path / "strict", [OLD] * 6 + [NEW] * 2, toml=strict)
    w, _ = watch(exp, proposer=1)
    (rnd,) = w.store.rounds()
    assert rnd.state == "declined", rnd
    assert w.store.champion() is not None and w.store.champion().id == 1  # type: ignore[union-attr]
    # the round's own record says why: the gate metric (the memory set) vetoed it
    lenient = config(stream="memory = 3\nforget_tolerance = 0.9")
    exp2 = make_stream(tmp_path / "lenient", [OLD] * 6 + [NEW] * 2, toml=lenient)
    w2, _ = watch(exp2, proposer=1)
    (rnd2,) = w2.store.rounds()
    assert rnd2.state == "promoted", rnd2  # the same challenger passes a lenient guard
    memory = rnd2.result["evidence"]["gate_gain"]["memory_accuracy"]
    assert -0.9 < memory < -0.05  # it did lose on the memory set, by more than 0.05
    # the stream's archive keeps the round's candidates, with the lineage across rounds
    rows = w2.store.round_candidates()
    seed = next(r for r in rows if r["id"] == 1)
    assert seed["round"] == 1 and seed["from_champion"] == 1
    assert seed["code_hash"] == w2.store.champion_by_id(1).code_hash
    child = next(r for r in rows if r["code_hash"] == w2.store.champion().code_hash)  # type: ignore[union-attr]
    assert child["parents"] == [1] and child["metrics"]["newest_accuracy"] > 0.9
    assert "memory_accuracy" in child["heldout"]


def test_shadow_batches_decline_a_challenger_that_loses_them(tmp_path: Path) -> None:
    toml = config(stream="shadow_batches = 2\nforget_tolerance = 1.0")
    exp = make_stream(tmp_path / "exp", [OLD] * 6 + [NEW] * 2 + [OLD] * 4, toml=toml)
    w, _ = watch(exp, proposer=1)
    store = w.store
    (rnd,) = store.rounds()
    assert rnd.state == "declined"
    assert rnd.result["shadow"]["batches"] == 2
    assert rnd.result["shadow"]["shadow"] < rnd.result["shadow"]["champion"]
    assert sorted(metrics(store, "shadow")) == [9, 10]
    assert [c.id for c in store.champions()] == [1]  # never promoted
    kinds = [e.kind for e in store.events()]
    assert "shadow_start" in kinds and "promotion" not in kinds


def test_a_promoted_champion_that_falls_behind_is_rolled_back(tmp_path: Path) -> None:
    toml = config(stream="rollback_batches = 2\nforget_tolerance = 1.0")
    exp = make_stream(tmp_path / "exp", [OLD] * 6 + [NEW] * 2 + [OLD] * 4, toml=toml)
    w, lines = watch(exp, proposer=1)
    store = w.store
    champs = store.champions()
    assert [(c.id, c.state) for c in champs] == [(1, "retired"), (2, "rolled_back"), (3, "serving")]
    assert champs[2].code_hash == champs[0].code_hash and champs[2].since_seq == 10
    rollback = [e for e in store.events() if e.kind == "rollback"]
    assert len(rollback) == 1 and rollback[0].data["who"] == "evoforge"
    assert "fail-safe" in rollback[0].data["reason"]
    ok, report = verify_stream(store)
    assert ok, report
    assert any("rolled back" in line for line in lines)


def test_rollback_off_keeps_the_champion_and_records_the_lost_trial(tmp_path: Path) -> None:
    toml = config(stream="rollback_batches = 2\nrollback = false\nforget_tolerance = 1.0")
    exp = make_stream(tmp_path / "exp", [OLD] * 6 + [NEW] * 2 + [OLD] * 2, toml=toml)
    w, _ = watch(exp, proposer=1)
    assert [c.state for c in w.store.champions()] == ["retired", "serving"]
    assert any(e.kind == "trial_lost" for e in w.store.events())


def test_malformed_batches_are_quarantined_with_their_reason(tmp_path: Path) -> None:
    exp = make_stream(tmp_path / "exp", [OLD] * 3)
    b = exp / "batches"
    rng = np.random.default_rng(1)
    y = np.ones(50)
    y[3] = np.nan
    np.savez(b / "b004.npz", x=rng.normal(size=(50, 3)), y=y)
    np.savez(b / "b005.npz", x=rng.normal(size=(50, 4)), y=np.ones(50))
    (b / "b006.csv").write_text("a,b,c,target\n1,2,3,0\n")
    (b / "b007.npz").write_bytes(b"PK\x03\x04 truncated")
    write_batch(b, 8, OLD)
    (b / "b009.npz.tmp").write_bytes(b"half written")
    old = time.time() - 60
    for p in b.iterdir():
        os.utime(p, (old, old))
    w, lines = watch(exp)
    store = w.store
    reasons = dict(store.quarantined())
    assert set(reasons) == {"b004.npz", "b005.npz", "b006.csv", "b007.npz"}
    assert "1 labels are NaN" in reasons["b004.npz"]
    assert "4 features, but the stream's batches have 3" in reasons["b005.npz"]
    assert "no column named 'label'" in reasons["b006.csv"]
    assert "not a readable .npz" in reasons["b007.npz"]
    assert [(r.seq, r.name) for r in store.batches()] == [
        (1, "b001.npz"), (2, "b002.npz"), (3, "b003.npz"), (4, "b008.npz"),
    ]  # fmt: skip
    assert sum(e.kind == "batch_quarantined" for e in store.events()) == 4
    assert any("quarantined" in line for line in lines)
    # quarantined once: a second watch reads nothing again
    w2, _ = watch(exp)
    assert len(w2.store.quarantined()) == 4 and len(w2.store.batches()) == 4


def test_a_file_still_being_written_waits_for_the_next_poll(tmp_path: Path) -> None:
    exp = make_stream(tmp_path / "exp", [OLD] * 2, toml=config(stream="settle_seconds = 30"))
    write_batch(exp / "batches", 3, OLD)  # modified just now
    w, _ = watch(exp)
    assert [r.name for r in w.store.batches()] == ["b001.npz", "b002.npz"]


def test_a_stationary_stream_raises_no_trigger(tmp_path: Path) -> None:
    exp = make_stream(tmp_path / "exp", [OLD] * 16, seed=3)
    w, _ = watch(exp)
    assert w.store.triggers() == []
    assert w.store.rounds() == []


def test_a_changed_stream_config_is_refused(tmp_path: Path) -> None:
    from evoforge.config import ConfigError

    exp = make_stream(tmp_path / "exp", [OLD] * 2)
    watch(exp)
    toml = (exp / "evoforge.toml").read_text().replace("window = 6", "window = 5")
    (exp / "evoforge.toml").write_text(toml)
    with pytest.raises(ConfigError, match=r"\[stream\] changed since this stream started"):
        build_watcher(exp)


def test_a_program_cannot_read_the_stream_s_labels(tmp_path: Path) -> None:
    exp = make_stream(tmp_path / "exp", [OLD] * 3)
    # A hostile program: reads the batch files (with the labels of the batch it predicts)
    hostile = f"""import glob, numpy as np
files = sorted(glob.glob({str(exp / "batches")!r} + "/*.npz")) + sorted(glob.glob({str(exp / "stream" / "data")!r} + "/*.npz"))
px = np.load("predict_x.npy")
for f in files:
    d = np.load(f)
    if d["x"].shape == px.shape and np.allclose(d["x"], px):
        np.save("predict_pred.npy", d["y"].astype(np.int64)); raise SystemExit(0)
raise SystemExit("no labels found")
# EVOLVE-BLOCK-START
A = 1
# EVOLVE-BLOCK-END
"""
    (exp / "train.py").write_text(hostile)
    w, _ = watch(exp)
    rows = w.store.scores("champion")
    assert rows and all(r.metric is None for r in rows), [(r.metric, r.failure) for r in rows]
    assert all("no labels found" in r.failure or "No such file" in r.failure for r in rows)
