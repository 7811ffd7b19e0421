from __future__ import annotations

import random

from evoforge.archive import Approval, ApprovalState, MemoryArchive
from evoforge.candidate import Candidate, Status
from evoforge.selection import AgingTournament


def filled(scores: list[float], islands: int = 1) -> MemoryArchive:
    a = MemoryArchive()
    for i, s in enumerate(scores):
        c = a.add(Candidate(id=0, code_hash=a.put_code({"p": str(i)}), island=i % islands))
        a.update(c.id, status=Status.SUCCEEDED, metrics={"m": s}, finished_at=float(i))
    return a


def test_empty_archive_gives_no_parents() -> None:
    _, parents = AgingTournament().pick(
        MemoryArchive(), objective="m", maximize=True, rng=random.Random(0), n=2
    )
    assert parents == []


def test_full_tournament_picks_the_best_of_the_window() -> None:
    a = filled([0.1, 0.9, 0.5, 0.3])
    sel = AgingTournament(population=4, tournament=4)
    _, (best,) = sel.pick(a, objective="m", maximize=True, rng=random.Random(1), n=1)
    assert best.metrics["m"] == 0.9
    _, (low,) = sel.pick(a, objective="m", maximize=False, rng=random.Random(1), n=1)
    assert low.metrics["m"] == 0.1


def test_old_candidates_age_out_however_good() -> None:
    a = filled([0.99] + [0.1 + i / 100 for i in range(10)])
    sel = AgingTournament(population=5, tournament=5)
    for seed in range(20):
        _, (p,) = sel.pick(a, objective="m", maximize=True, rng=random.Random(seed), n=1)
        assert p.metrics["m"] < 0.99 and p.id > 6


def test_islands_pick_within_their_island() -> None:
    a = filled([float(i) for i in range(20)], islands=2)
    sel = AgingTournament(population=20, tournament=3, islands=2, migration_rate=0.0)
    for seed in range(30):
        island, parents = sel.pick(a, objective="m", maximize=True, rng=random.Random(seed), n=2)
        assert all(p.island == island for p in parents)


def test_the_best_pending_challenger_stays_selectable_after_it_ages_out() -> None:
    a = filled([0.5, 0.9, 0.8] + [0.1 + i / 100 for i in range(10)])
    pending = ApprovalState.PENDING
    a.put_approval(Approval(2, pending, {}, 1.0))  # waits for a person: never ages out
    a.put_approval(Approval(3, pending, {}, 2.0))  # a worse one waiting: ages out as usual
    sel = AgingTournament(population=5, tournament=6)
    picked = {
        sel.pick(a, objective="m", maximize=True, rng=random.Random(s), n=1)[1][0].id
        for s in range(20)
    }
    assert picked == {2}
