"""The stream's status rows and chart series, from a stream archive written row by row:
the figures shown are the ones recorded (means over the right batches, failures
counted apart), each trigger, round, promotion and rollback is where it happened,
and a watcher that died is told from one that stopped."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from evoforge.stream.batches import Batch
from evoforge.stream.store import ScoreRow, StreamStore
from evoforge.stream.view import (
    live_watcher,
    metric_mean,
    snapshot,
    stream_rows,
    stream_series,
    stream_state,
)
from evoforge.summary import format_rows

T0 = 1_800_000_000.0
# The serving champion's accuracy on batches 1..12 (None: it failed on batch 6).
PRODUCTION = [0.9, 0.8, 0.9, 0.6, 0.7, None, 0.8, 0.9, 0.85, 0.5, 0.75, 0.95]
SHADOW = {5: 0.75, 6: 0.85, 7: 0.85}  # round 1's challenger, side by side on 5..7
CODE_A, CODE_B, CODE_C = "a" * 64, "b" * 64, "c" * 64


def recorded_stream(folder: Path) -> Path:
    """A stream of 12 batches written straight into its archive (as the watcher would):
    champion #1 (the initial program) serves; ADWIN fires at batch 4, round 1 shadows
    its challenger on batches 5-7 and is promoted after batch 7 (champion #2, the
    predecessor #1 scored on 8-9); Page-Hinkley fires at 9, round 2 is declined after
    10; #2 is rolled back after batch 10 (#3 serves #1's program again); the schedule
    fires at 11 and round 3 waits for approval; one file was quarantined."""
    store = StreamStore(folder)
    clock = iter(T0 + i for i in range(1000))
    store.clock = lambda: next(clock)
    with store.transaction():
        store.set_meta("experiment", str(folder.parent))
        store.set_meta("metric", "accuracy")
        store.set_meta("state", "watching")
        store.set_meta("watcher_pid", 2**22 + 12345)  # above pid_max: never a live process
        first = store.add_champion(
            CODE_A, round_id=None, parent=None, since_seq=0, reason="initial"
        )
        for seq, metric in enumerate(PRODUCTION, start=1):
            x, y = np.zeros((10, 2)), np.zeros(10)
            store.add_batch(seq, Batch(f"b{seq:03d}.npz", x, y, f"{seq:064x}"))
            champ = store.champion()
            assert champ is not None
            failure = "" if metric is not None else "timed out after 60 s"
            store.add_score(ScoreRow(seq, "champion", champ.id, champ.code_hash, metric, failure, None))  # fmt: skip
            store.add_event("batch_scored", seq, metric=metric)
            if seq == 4:
                store.add_trigger(4, "adwin", 0.25, "mean loss moved <up>")
                store.add_event("trigger", 4, detector="adwin")
                r1 = store.open_round(4)
                store.add_event("round_start", 4, round=r1)
            if seq in SHADOW:
                store.add_score(ScoreRow(seq, "shadow", None, CODE_B, SHADOW[seq], "", None))
                store.update_round(r1, state="shadow", challenger=CODE_B, shadow_done=seq - 4)
            if seq == 7:
                second = store.add_champion(CODE_B, round_id=r1, parent=first, since_seq=7, reason="auto: beats #1")  # fmt: skip
                store.update_round(r1, state="promoted", ended_seq=7, ended_at=store.clock())
                store.add_event(
                    "promotion", 7, round=r1, champion=second, reason="beats #1 by 0.05"
                )
            if seq in (8, 9):
                store.add_score(ScoreRow(seq, "predecessor", first, CODE_A, 0.7, "", None))
            if seq == 9:
                store.add_trigger(9, "page_hinkley", 3.5, "")
                r2 = store.open_round(9)
            if seq == 10:
                store.update_round(r2, state="declined", ended_seq=10, ended_at=store.clock(), challenger=CODE_C)  # fmt: skip
                store.add_event("promotion_declined", 10, round=r2, reason="within noise of #2")
                third = store.add_champion(CODE_A, round_id=None, parent=second, since_seq=10, reason="ops: rollback to #1: worse")  # fmt: skip
                store.set_champion_state(second, "rolled_back")
                store.add_event("rollback", 10, rolled_back=second, restored=first, champion=third)
            if seq == 11:
                store.add_trigger(11, "schedule", 10.0, "every 10 batches")
                r3 = store.open_round(11)
                store.update_round(r3, state="pending", challenger=CODE_C, result={"evidence": {"gain": 0.1}})  # fmt: skip
                store.add_event("approval_requested", 11, round=r3, reason="manual approval")
        store.add_quarantine("b000.npz", "f" * 64, "b000.npz: x must be 2-D (rows, features)")
        store.add_quarantine("bad.csv", "e" * 64, "bad.csv: label column 'label' missing")
    store.close()
    return folder


@pytest.fixture
def stream(tmp_path: Path) -> Iterator[StreamStore]:
    recorded_stream(tmp_path / "exp" / "stream")
    store = StreamStore(tmp_path / "exp" / "stream", readonly=True)
    yield store
    store.close()


def test_the_rows_show_the_recorded_figures(stream: StreamStore) -> None:
    rows = dict(stream_rows(stream))
    assert rows["stream"] == str(stream.folder)
    assert rows["metric"] == "accuracy (higher is better)"
    assert rows["batches"] == "12"
    assert rows["last_batch"].startswith("#12 b012.npz (10 rows, read ")
    assert rows["quarantined"] == "2 (last: bad.csv: bad.csv: label column 'label' missing)"
    # batches 8..12; then all 12, the failed batch 6 counted apart, never as a zero
    assert rows["production_accuracy_last_5"] == "0.79 (5 batches)"
    assert rows["production_accuracy_last_20"] == "0.786364 (11 batches, 1 failed)"
    assert rows["production_accuracy_overall"] == rows["production_accuracy_last_20"]
    assert rows["champion"].startswith(
        "#3 (code aaaaaaaaaaaa, the initial program, restored #1 by the rollback of #2), "
        "serving after batch 10, since "
    )
    assert rows["round"].startswith("#3 pending, triggered at batch 11, since ")
    assert rows["round"].endswith(", challenger cccccccccccc")
    assert rows["approval"] == (
        f"round 3 pending (triggered at batch 11): evoforge approve {stream.folder} 3"
    )
    assert rows["last_trigger"] == "schedule at batch 11 (statistic 10): every 10 batches"
    assert rows["triggers"] == "3"
    assert (rows["rounds"], rows["rounds_promoted"], rows["rounds_declined"]) == ("3", "1", "1")
    assert (rows["rounds_failed"], rows["rounds_rejected"]) == ("0", "0")
    assert rows["rollbacks"] == (
        "1 (last: #2 rolled back after batch 10, now #3: ops: rollback to #1: worse)"
    )


def test_the_rows_print_as_greppable_lines(stream: StreamStore) -> None:
    text = format_rows(stream_rows(stream, live_pid=4242))
    lines = text.splitlines()
    assert "state: watching" in lines and "watcher_pid: 4242" in lines
    assert all(": " in line for line in lines)
    assert [line.split(": ")[0] for line in lines].count("approval") == 1


def test_a_watcher_gone_while_watching_is_told_apart(stream: StreamStore) -> None:
    pid = 2**22 + 12345
    assert live_watcher(stream) is None
    assert stream_state(stream, live_pid=None) == (
        f"crashed (watcher {pid} is gone; continue with: evoforge watch {stream.folder.parent})"
    )
    assert stream_state(stream, live_pid=7) == "watching"


def test_a_live_watcher_is_found_by_its_recorded_pid(tmp_path: Path) -> None:
    store = StreamStore(tmp_path / "stream")
    with store.transaction():
        store.set_meta("watcher_pid", os.getpid())
        store.set_meta("state", "idle")
    assert live_watcher(store) == os.getpid()
    assert stream_state(store, live_pid=None) == "idle"
    with store.transaction():
        store.set_meta("watcher_pid", "not a pid")
    assert live_watcher(store) is None
    store.close()


def test_an_empty_stream_has_rows_and_an_empty_series(tmp_path: Path) -> None:
    store = StreamStore(tmp_path / "stream")
    rows = dict(stream_rows(store))
    assert rows["batches"] == "0" and rows["champion"] == "none yet"
    assert rows["production_accuracy_last_5"] == "-" and rows["round"] == "none open"
    assert rows["rollbacks"] == "0" and "last_trigger" not in rows
    series = stream_series(store)
    assert series["seq"] == [] and series["roles"] == [] and series["rounds"] == []
    store.close()


def test_the_series_puts_everything_on_the_batch_axis(stream: StreamStore) -> None:
    s = stream_series(stream)
    json.dumps(s, allow_nan=False)  # JSON as it is
    assert s["seq"] == list(range(1, 13)) and s["metric"] == "accuracy" and s["maximize"]
    assert s["roles"] == ["champion", "shadow", "predecessor"]
    assert s["metrics"]["champion"] == PRODUCTION
    assert s["metrics"]["shadow"][4:7] == [0.75, 0.85, 0.85]
    assert s["metrics"]["shadow"][:4] == [None] * 4 and s["metrics"]["shadow"][7:] == [None] * 5
    assert s["metrics"]["predecessor"] == [None] * 7 + [0.7, 0.7] + [None] * 3
    assert s["failed"]["champion"] == [{"seq": 6, "failure": "timed out after 60 s"}]
    assert s["serving"] == [1] * 7 + [2] * 3 + [3] * 2
    assert [(t["seq"], t["detector"]) for t in s["triggers"]] == [
        (4, "adwin"), (9, "page_hinkley"), (11, "schedule")
    ]  # fmt: skip
    assert [(r["id"], r["trigger_seq"], r["ended_seq"], r["state"]) for r in s["rounds"]] == [
        (1, 4, 7, "promoted"), (2, 9, 10, "declined"), (3, 11, None, "pending")
    ]  # fmt: skip
    assert [r["why"] for r in s["rounds"]] == [
        "beats #1 by 0.05", "within noise of #2", "manual approval"
    ]  # fmt: skip
    assert s["rounds"][2]["result"] == {"evidence": {"gain": 0.1}}
    # the restored program (#3) is no promotion; #2 is, after batch 7
    assert s["promotions"] == [{"seq": 7, "champion": 2, "round": 1, "code_hash": CODE_B}]
    assert [(b["seq"], b["rolled_back"], b["champion"], b["restored"]) for b in s["rollbacks"]] == [
        (10, 2, 3, 1)
    ]  # fmt: skip
    assert [c["state"] for c in s["champions"]] == ["retired", "rolled_back", "serving"]
    assert [q["name"] for q in s["quarantine"]] == ["b000.npz", "bad.csv"]


def test_the_mean_says_how_many_batches_it_is_over() -> None:
    def row(metric: float | None) -> ScoreRow:
        return ScoreRow(1, "champion", 1, CODE_A, metric, "" if metric is not None else "x", None)

    assert metric_mean([]) == "-"
    assert metric_mean([row(0.5)]) == "0.5 (1 batch)"
    assert metric_mean([row(None), row(None)]) == "- (0 batches, 2 failed)"
    assert metric_mean([row(0.25), row(0.75), row(None)]) == "0.5 (2 batches, 1 failed)"


def test_the_views_read_one_state_while_the_watcher_commits(tmp_path: Path) -> None:
    folder = recorded_stream(tmp_path / "stream")
    reader, writer = StreamStore(folder, readonly=True), StreamStore(folder)
    try:
        with snapshot(reader):
            before = len(reader.batches())
            with writer.transaction():
                writer.add_batch(13, Batch("b013.npz", np.zeros((1, 2)), np.zeros(1), "0" * 64))
            assert len(reader.batches()) == before == 12  # not half of one state, half another
        assert not reader.db.in_transaction
        assert dict(stream_rows(reader))["batches"] == "13"  # the next view sees it
    finally:
        writer.close()
        reader.close()
