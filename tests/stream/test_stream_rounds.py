"""A round's data window, its experiment folder and config, its result and its warm start."""

from __future__ import annotations

import random
import tomllib
from pathlib import Path

import numpy as np

from evoforge.candidate import Candidate
from evoforge.config import Direction, load_config, parse_config
from evoforge.config.toml_text import toml_text
from evoforge.proposers._base import Feedback, Parent, Proposal, Proposer
from evoforge.stream.batches import batch_of
from evoforge.stream.rounds import WarmStart, prepare_round, round_toml, round_window
from evoforge.stream.store import StreamStore

from stream_helpers import OLD, config, make_stream


def filled_store(folder: Path, n: int, rows: int = 40) -> StreamStore:
    store = StreamStore(folder)
    with store.transaction():
        for seq in range(1, n + 1):
            x = np.full((rows, 2), float(seq))  # each row says which batch it came from
            b = batch_of(f"b{seq}", x, np.arange(rows) % 2)
            store.save_data(seq, b)
            store.add_batch(seq, b)
    return store


def test_the_window_trains_on_older_batches_and_holds_the_memory_rows_out(tmp_path: Path) -> None:
    cfg = parse_config(
        tomllib.loads(config(stream="window = 5\nnewest = 2\nmemory = 2\nmemory_rows = 20"))
    )
    assert cfg.stream is not None
    store = filled_store(tmp_path / "s", 9)
    try:
        w = round_window(store, cfg.stream, 9, seed=0)
    finally:
        store.close()
    newest = w.eval_x[w.eval_part == 0][:, 0]
    memory = w.eval_x[w.eval_part == 1][:, 0]
    assert set(newest) == {8.0, 9.0} and len(newest) == 80  # the newest two, whole
    assert set(memory) == {6.0, 7.0} and len(memory) == 20  # sampled from the two before
    train = w.train_x[:, 0]
    assert set(train) == {5.0, 6.0, 7.0}  # window 5 = 3 older + 2 newest
    assert len(train) == 3 * 40 - 20  # the memory rows are not trained on
    assert dict(zip(train.tolist(), w.train_age.tolist(), strict=False)) == {5.0: 2, 6.0: 1, 7.0: 0}
    # the same seed gives the same memory rows: a resumed round sees the same data
    store = StreamStore(tmp_path / "s")
    try:
        again = round_window(store, cfg.stream, 9, seed=0)
    finally:
        store.close()
    assert np.array_equal(again.eval_x, w.eval_x)


def test_the_round_folder_is_an_ordinary_experiment(tmp_path: Path) -> None:
    exp = make_stream(
        tmp_path / "exp",
        [OLD] * 3,
        toml=config('approval = "manual"', stream="forget_tolerance = 0.2"),
    )
    cfg = load_config(exp)
    assert cfg.stream is not None
    store = filled_store(tmp_path / "s", 4)
    try:
        w = round_window(store, cfg.stream, 4, seed=0)
    finally:
        store.close()
    folder = tmp_path / "r0001"
    prepare_round(folder, cfg, cfg.stream, {"train.py": (exp / "train.py").read_text()}, w,
                  hidden=[exp / "batches"])  # fmt: skip
    rcfg = load_config(folder)
    assert rcfg.stream is None and rcfg.task.objective == "newest_accuracy"
    assert rcfg.task.gate == ["memory_accuracy"] and rcfg.task.direction == Direction.MAXIMIZE
    assert rcfg.promotion.approval == "auto"  # the stream applies "manual" after the round
    assert rcfg.promotion.gate_tolerance == 0.2 and rcfg.detectors.heldout_drop == 0.2
    assert rcfg.budget == cfg.budget and rcfg.limits == cfg.limits and rcfg.proposer == cfg.proposer
    assert str(exp / "batches") in (folder / "task.py").read_text()
    # prepared once: a second call (a resumed round) leaves it as it is
    (folder / "train.py").write_text("changed")
    prepare_round(folder, cfg, cfg.stream, {"train.py": "other"}, w, hidden=[])
    assert (folder / "train.py").read_text() == "changed"


def test_toml_text_round_trips_a_whole_config(tmp_path: Path) -> None:
    cfg = parse_config(tomllib.loads(config()))
    assert cfg.stream is not None
    text = round_toml(cfg, cfg.stream)
    back = parse_config(tomllib.loads(text))
    assert back.model_dump(exclude={"stream", "task", "promotion", "detectors"}) == cfg.model_dump(
        exclude={"stream", "task", "promotion", "detectors"}
    )
    assert tomllib.loads(toml_text({"a": {"b": [{"c": 1}, {"c": 2}]}, "d": True})) == {
        "a": {"b": [{"c": 1}, {"c": 2}]}, "d": True,
    }  # fmt: skip


class Echo(Proposer):
    def __init__(self) -> None:
        self.told: list[str] = []
        self.loaded: dict[str, object] = {}

    def propose(self, parents: list[Parent], feedback: Feedback, rng: random.Random) -> Proposal:  # type: ignore[override]
        return Proposal({"p.py": "inner"}, "inner-op")

    def tell(self, child: Candidate, parents: object, feedback: Feedback) -> None:
        self.told.append(child.operator)

    def state(self) -> dict[str, object]:
        return {"k": 1}

    def load_state(self, state: object) -> None:
        self.loaded = dict(state)  # type: ignore[call-overload]


def test_warm_start_gives_the_elites_first_then_its_proposer() -> None:
    inner = Echo()
    warm = WarmStart(inner, [{"p.py": "elite 1"}, {"p.py": "elite 2"}])
    fb = Feedback(objective="o", direction=Direction.MAXIMIZE)
    rng = random.Random(0)
    got = [warm.propose([], fb, rng) for _ in range(3)]
    assert [p.files["p.py"] for p in got] == ["elite 1", "elite 2", "inner"]
    assert [p.operator for p in got] == ["elite", "elite", "inner-op"]
    warm.tell(Candidate(id=2, code_hash="h", operator="elite"), [], fb)
    warm.tell(Candidate(id=3, code_hash="h", operator="inner-op"), [], fb)
    assert inner.told == ["inner-op"]  # the inner proposer learns only from its own
    resumed = WarmStart(Echo(), [{"p.py": "elite 1"}, {"p.py": "elite 2"}])
    resumed.load_state(warm.state())
    assert resumed.propose([], fb, rng).files["p.py"] == "inner"  # elites not given twice
    assert resumed.inner.loaded == {"k": 1}  # type: ignore[attr-defined]
