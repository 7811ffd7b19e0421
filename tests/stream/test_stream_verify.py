"""The stream's audit check finds a line removed, an event logged twice, a round's log edited."""

from __future__ import annotations

from pathlib import Path

from evoforge.stream.setup import build_watcher
from evoforge.stream.store import StreamStore
from evoforge.stream.verify import verify_stream

from stream_helpers import NEW, OLD, SetRecent, config, make_stream


def watched(tmp_path: Path) -> Path:
    exp = make_stream(
        tmp_path / "exp", [OLD] * 6 + [NEW] * 2, toml=config(stream="forget_tolerance = 0.9")
    )
    w = build_watcher(exp, say=lambda _: None)
    w.proposer_for = lambda folder: SetRecent(1)
    w.run(once=True)
    w.store.close()
    return exp / "stream"


def check(folder: Path) -> tuple[bool, str]:
    store = StreamStore(folder, readonly=True)
    try:
        ok, lines = verify_stream(store)
    finally:
        store.close()
    return ok, "\n".join(lines)


def test_a_whole_stream_verifies_and_each_kind_of_tampering_is_found(tmp_path: Path) -> None:
    folder = watched(tmp_path)
    ok, report = check(folder)
    assert ok, report
    assert "round 1:" in report
    log = folder / "audit.jsonl"
    good = log.read_bytes()
    lines = good.splitlines(keepends=True)
    log.write_bytes(b"".join(lines[:4] + lines[5:]))  # one batch's record removed
    assert not check(folder)[0]
    log.write_bytes(good)
    store = StreamStore(folder, readonly=True)
    rnd = store.rounds()[0]
    store.close()
    round_log = Path(rnd.result["run"]) / "audit.jsonl"
    text = round_log.read_text()
    round_log.write_text(text.replace('"reason":', '"reasons":', 1))
    ok, report = check(folder)
    assert not ok and "round 1" in report and "FAILED" in report
