"""Multi-fidelity evaluation: the rungs of ``[fidelity]`` and the rule that decides who
goes on (asynchronous successive halving, as ASHA and Optuna's SuccessiveHalvingPruner).

Each new candidate runs first at the lowest rung (a share of the full training
budget). When it finishes a rung its objective there is compared with every result
recorded at that rung so far, its own included: it goes on to the next rung when it
ranks in the top ``max(1, n // eta)`` of those ``n``, else it is STOPPED. Rank is the
number of results strictly better, so ties go on together. A failure at a rung is a
failure of the candidate (recorded, told) and not a result of the rung. The last rung
is the full run: only its results are metrics, compared, promoted or confirmed.

The results live in the candidates' records (``extra["rungs"]``: rung, share, the
search metrics, seconds), so the rule reads the same after a resume as before.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evoforge.archive import Archive
from evoforge.candidate import Candidate


@dataclass(frozen=True)
class Verdict:
    goes_on: bool
    rank: int  # 0 = best
    of: int  # results at the rung, this one included
    top: int  # how many of them go on
    seq: int  # the how-manieth result of any rung this was (the order of the decisions)


@dataclass
class Rungs:
    shares: Sequence[float]
    eta: float
    objective: str
    maximize: bool
    results: dict[int, dict[int, float]] = field(default_factory=dict)
    """rung -> candidate id -> objective at that rung."""
    seen: int = 0
    """Results judged so far (every rung): numbers each verdict, in the order made."""

    @classmethod
    def of_archive(
        cls, archive: Archive, shares: Sequence[float], eta: float, *, objective: str,
        maximize: bool,
    ) -> Rungs:  # fmt: skip
        rungs = cls(list(shares), eta, objective, maximize)
        for cand in archive.candidates():
            for rung, value in rung_values(cand, objective).items():
                rungs.results.setdefault(rung, {})[cand.id] = value
            rungs.seen = max([rungs.seen, *(int(e.get("seq") or 0) for e in recorded(cand))])
        return rungs

    @property
    def last(self) -> int:
        return len(self.shares) - 1

    def next_rung(self, cand: Candidate) -> int:
        """The rung ``cand`` runs at next: the one after the last it went on from, or
        that last one again when its verdict was not recorded whole (a crash between
        the two writes); the seed runs at full fidelity."""
        if cand.proposer == "seed":
            return self.last
        entries = recorded(cand)
        if not entries:
            return 0
        rung = int(entries[-1]["rung"])
        return min(rung + 1, self.last) if entries[-1].get("goes_on") else rung

    def judge(self, cand_id: int, rung: int, value: float) -> Verdict:
        """Record ``value`` at ``rung`` and say whether ``cand_id`` goes on."""
        at = self.results.setdefault(rung, {})
        at[cand_id] = value
        better = sum(1 for v in at.values() if (v > value if self.maximize else v < value))
        top = max(1, int(len(at) // self.eta))
        self.seen += 1
        return Verdict(better < top, better, len(at), top, self.seen)


def recorded(cand: Candidate) -> list[Mapping[str, Any]]:
    """The candidate's low-rung results, in rung order."""
    entries = cand.extra.get("rungs", [])
    return list(entries) if isinstance(entries, list) else []


def rung_values(cand: Candidate, objective: str) -> dict[int, float]:
    """The candidate's objective at each rung it finished (failed rungs left out)."""
    out: dict[int, float] = {}
    for entry in recorded(cand):
        value = entry.get("metrics", {}).get(objective) if entry.get("ok") else None
        if isinstance(value, int | float) and math.isfinite(value):
            out[int(entry["rung"])] = float(value)
    return out
