"""Aging tournament selection (regularized evolution), with islands.

Why this selector: parents are drawn by tournament from the most recent
``population`` successful candidates of an island, so every candidate ages out
of the pool however good its score was. Training runs are noisy; a lucky
evaluation would otherwise be a parent forever, while aging keeps only
configurations that keep producing good children (Real et al., "Regularized
Evolution for Image Classifier Architecture Search", 2019). It is naturally
steady-state (no generations to wait for) and needs only one indexed query per
pick, so its cost does not grow with the archive. Islands keep separate windows;
``migration_rate`` of picks draw from all islands so good code spreads.

One candidate never ages out: the best challenger waiting for a person's approval
(manual mode promotes nothing meanwhile, and the search should build on it).
"""

from __future__ import annotations

import random

from evoforge.archive import ApprovalState, Archive
from evoforge.candidate import Candidate
from evoforge.config import SelectionSection
from evoforge.selection._base import Selector

_DEFAULTS = SelectionSection()  # the keyword defaults are [selection]'s, written once there


class AgingTournament(Selector):
    def __init__(
        self,
        *,
        population: int = _DEFAULTS.population,
        tournament: int = _DEFAULTS.tournament,
        islands: int = _DEFAULTS.islands,
        migration_rate: float = _DEFAULTS.migration_rate,
    ) -> None:
        self.population = population
        self.tournament = tournament
        self.islands = islands
        self.migration_rate = migration_rate

    def pick(
        self, archive: Archive, *, objective: str, maximize: bool, rng: random.Random, n: int
    ) -> tuple[int, list[Candidate]]:
        island = rng.randrange(self.islands)
        pool = (
            []
            if rng.random() < self.migration_rate
            else archive.recent(island=island, limit=self.population)
        )
        if len(pool) < min(self.tournament, 2):
            pool = archive.recent(island=None, limit=self.population)
        pool = [c for c in pool if c.score(objective) is not None]
        waiting = best_pending(archive, objective=objective, maximize=maximize)
        if waiting is not None and waiting.id not in {c.id for c in pool}:
            pool.append(waiting)
        if not pool:
            return island, []
        sign = 1.0 if maximize else -1.0
        parents: list[Candidate] = []
        for _ in range(n):
            entrants = rng.sample(pool, min(self.tournament, len(pool)))
            parents.append(max(entrants, key=lambda c: (sign * (c.score(objective) or 0.0), -c.id)))
        return island, parents


def best_pending(archive: Archive, *, objective: str, maximize: bool) -> Candidate | None:
    """The pending challenger (waiting for approval) with the best search score, if any."""
    sign = 1.0 if maximize else -1.0
    waiting = [
        archive.get(a.candidate_id) for a in archive.approvals(states=[ApprovalState.PENDING])
    ]
    scored = [c for c in waiting if c.score(objective) is not None]
    return max(scored, key=lambda c: (sign * (c.score(objective) or 0.0), -c.id), default=None)
