"""Parents chosen by a search policy (``[selection] policy``), the tournament as fallback.

The policy is asked for the parents of each child from the most recent scored
candidates (at most :data:`~evoforge.policy.POOL_CAP`). A policy that fails
mid-run is reported once on stderr and replaced by the fallback: a run is never
lost to it.
"""

from __future__ import annotations

import random
import sys

from evoforge.archive import Archive
from evoforge.candidate import Candidate
from evoforge.policy import POOL_CAP, Decider, Lane, PolicyError
from evoforge.selection._base import Selector
from evoforge.textsafe import printable


class PolicySelector(Selector):
    """Parents chosen by a policy from the most recent successful candidates."""

    def __init__(self, policy: Decider, *, fallback: Selector) -> None:
        self.policy = policy
        self.fallback = fallback
        self.failed = ""

    def pick(
        self, archive: Archive, *, objective: str, maximize: bool, rng: random.Random, n: int
    ) -> tuple[int, list[Candidate]]:
        if self.failed:
            return self.fallback.pick(archive, objective=objective, maximize=maximize, rng=rng, n=n)
        pool = sorted(
            (
                c
                for c in archive.recent(island=None, limit=POOL_CAP)
                if c.score(objective) is not None
            ),
            key=lambda c: c.id,
        )
        if not pool:
            return 0, []
        sign = 1.0 if maximize else -1.0
        records = [
            {"id": c.id, "score": sign * (c.score(objective) or 0.0), "operator": c.operator,
             "parent": c.parent_ids[0] if c.parent_ids else None}
            for c in pool
        ]  # fmt: skip
        lane = Lane(seed=rng.randrange(2**31), children=1, arity=n, pool=records, stats={})
        try:
            picks = self.policy.decide([lane])[0].parents[0]
        except PolicyError as exc:
            self.failed = str(exc)
            why = printable(str(exc))  # an evolved policy's stderr is a candidate's text
            print(f"warning: the policy failed, the tournament takes over: {why}", file=sys.stderr)
            return self.fallback.pick(archive, objective=objective, maximize=maximize, rng=rng, n=n)
        return 0, [pool[i] for i in picks]
