"""Parents chosen by a search policy, and the tournament taking over once the policy fails."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from evoforge.archive import Archive
from evoforge.archive.memory import MemoryArchive
from evoforge.candidate import Candidate, Status
from evoforge.policy import (
    Decider,
    Decision,
    InProcessPolicy,
    Lane,
    PolicyError,
    default_policy_source,
)
from evoforge.selection import AgingTournament, PolicySelector


def _archive(*scores: float) -> MemoryArchive:
    archive = MemoryArchive()
    for score in scores:
        code = archive.put_code({"p.py": f"X = {score}\n"})
        c = archive.add(Candidate(id=0, code_hash=code))
        archive.update(c.id, status=Status.SUCCEEDED, metrics={"s": score}, finished_at=1.0)
    return archive


def _pick(selector: PolicySelector, archive: Archive) -> list[Candidate]:
    return selector.pick(archive, objective="s", maximize=True, rng=random.Random(0), n=1)[1]


class Recording(Decider):
    """Picks the first candidate of the pool, and keeps the lanes it was asked about."""

    def __init__(self) -> None:
        self.asked: list[Lane] = []

    def decide(self, lanes: Sequence[Lane]) -> list[Decision]:
        self.asked.extend(lanes)
        return [Decision(((0,),), {"step": 1.0}, 0.5) for _ in lanes]


def test_policy_selector_picks_by_the_policy_and_falls_back_when_it_fails() -> None:
    archive = _archive(0.1, 0.9, 0.4)
    greedy = InProcessPolicy(default_policy_source().replace("GREEDY = 0.0", "GREEDY = 1.0"))
    selector = PolicySelector(greedy, fallback=AgingTournament())
    _, parents = selector.pick(archive, objective="s", maximize=True, rng=random.Random(0), n=2)
    assert [p.metrics["s"] for p in parents] == [0.9, 0.9]
    _, low = selector.pick(archive, objective="s", maximize=False, rng=random.Random(0), n=1)
    assert low[0].metrics["s"] == 0.1
    broken = InProcessPolicy("def decide(request):\n    return 1\n")
    selector = PolicySelector(broken, fallback=AgingTournament())
    _, parents = selector.pick(archive, objective="s", maximize=True, rng=random.Random(0), n=1)
    assert len(parents) == 1 and "lanes" in selector.failed


def test_the_policy_sees_scored_candidates_oldest_first_signed_so_higher_is_better() -> None:
    archive = _archive(0.1, 0.9)
    failed = archive.add(Candidate(id=0, code_hash=archive.put_code({"p.py": "X = None\n"})))
    archive.update(failed.id, status=Status.FAILED, failure="boom", finished_at=1.0)
    policy = Recording()
    selector = PolicySelector(policy, fallback=AgingTournament())
    selector.pick(archive, objective="s", maximize=False, rng=random.Random(0), n=2)
    (lane,) = policy.asked
    assert [(r["id"], r["score"]) for r in lane.pool] == [(1, -0.1), (2, -0.9)]
    assert (lane.children, lane.arity) == (1, 2)


def test_an_archive_without_scored_candidates_gives_no_parents_and_asks_no_policy() -> None:
    policy = Recording()
    assert PolicySelector(policy, fallback=AgingTournament()).pick(
        MemoryArchive(), objective="s", maximize=True, rng=random.Random(0), n=1
    ) == (0, [])
    assert policy.asked == []


def test_a_failed_policy_is_reported_once_and_never_asked_again(
    capsys: pytest.CaptureFixture[str],
) -> None:
    archive = _archive(0.1, 0.9)
    calls: list[int] = []

    class Failing(Decider):
        def decide(self, lanes: Sequence[Lane]) -> list[Decision]:
            calls.append(1)
            raise PolicyError("policy.py: decide() raised \x1b[31mboom")

    selector = PolicySelector(Failing(), fallback=AgingTournament())
    assert len(_pick(selector, archive)) == 1
    assert len(_pick(selector, archive)) == 1
    assert calls == [1]
    err = capsys.readouterr().err
    assert err.count("warning: the policy failed, the tournament takes over") == 1
    assert "\x1b" not in err and "boom" in err
