"""Trials after a round: the approval modes, and a failed batch counted as the worst."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from evoforge.config import PromotionSection, StreamSection
from evoforge.stream.batches import batch_of
from evoforge.stream.store import ScoreRow, StreamStore
from evoforge.stream.trials import Trials


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StreamStore]:
    s = StreamStore(tmp_path / "stream")
    with s.transaction():
        s.add_batch(1, batch_of("b1", np.zeros((2, 1)), np.zeros(2)))
        s.add_champion(s.put_code({"p.py": "A = 1\n"}), round_id=None, parent=None, since_seq=0,
                       reason="seed")  # fmt: skip
    yield s
    s.close()


def pending(s: StreamStore, evidence: dict[str, object]) -> int:
    with s.transaction():
        rid = s.open_round(1)
        s.update_round(
            rid, challenger=s.put_code({"p.py": "A = 2\n"}), result={"evidence": evidence}
        )
    return rid


@pytest.mark.parametrize(
    ("approval", "evidence", "promoted"),
    [
        ("auto", {"gain": 0.5}, True),
        ("manual", {"gain": 0.5}, False),
        ("threshold", {"gain": 0.01}, True),
        ("threshold", {"gain": 0.5}, False),
        ("auto", {"gain": 0.01, "flags": ["too_fast"]}, False),  # a flag always waits
    ],
)
def test_the_approval_mode_applies_after_the_round(
    store: StreamStore, approval: str, evidence: dict[str, object], promoted: bool
) -> None:
    rid = pending(store, evidence)
    said: list[str] = []
    trials = Trials(store, StreamSection(), PromotionSection(approval=approval), said.append)  # type: ignore[arg-type]
    with store.transaction():
        trials.approve_or_wait(next(r for r in store.rounds() if r.id == rid))
    state = store.rounds()[0].state
    assert state == ("promoted" if promoted else "pending")
    assert ("evoforge approve" in said[0]) is not promoted


def test_a_batch_the_new_champion_failed_counts_as_its_worst(store: StreamStore) -> None:
    with store.transaction():
        for seq, mine, theirs in ((2, 0.9, 0.8), (3, None, 0.8)):
            store.add_score(
                ScoreRow(seq, "champion", 2, "h", mine, "" if mine else "crashed", None)
            )
            store.add_score(ScoreRow(seq, "predecessor", 1, "h", theirs, "", None))
    trials = Trials(store, StreamSection(rollback_batches=2), PromotionSection(), lambda _: None)
    mine, theirs = trials._paired_means("champion", "predecessor", 2)
    assert mine == pytest.approx(0.45) and theirs == pytest.approx(0.8)
