"""Noise-aware promotion: a challenger must beat the champion beyond noise, then pass approval.

A candidate whose first evaluation beats the champion is a *challenger*. It is
re-run with fresh seeds, and so is the champion, on the same seeds (paired). The
seeds are fixed for the run and never the seed used during search, so the
champion's re-runs are reused by every later challenger and a change that only
moves a random seed cannot carry its luck over. The challenger is promoted only
if the mean paired gain exceeds ``k`` standard errors (and ``min_gain``) and it
does not lose more than ``heldout_tolerance`` on any held-out metric. Then the
approval mode decides: promote now, or wait for a person.

One confirmation runs at a time, for the best waiting challenger; a challenger
that no longer beats the champion when its turn comes is declined.

States of an approval record: ``confirming`` -> ``declined`` | ``pending`` |
``promoted``; ``pending`` -> ``approved`` | ``rejected`` (by a person).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from evoforge.archive import Approval, Archive, Rerun
from evoforge.candidate import Candidate, Evaluation, Status
from evoforge.governance import Audit, promote


@dataclass
class Promoter:
    archive: Archive
    audit: Audit
    objective: str
    maximize: bool
    approval: str = "auto"
    threshold_gain: float = 0.05
    reruns: int = 3
    k: float = 2.0
    min_gain: float = 0.0
    heldout_tolerance: float = 0.01
    base_seed: int = 0
    clock: Callable[[], float] = time.time
    _submitted: set[tuple[int, int]] = field(default_factory=set)

    @property
    def seeds(self) -> list[int]:
        # Fresh: never the search seed. Fixed for the run: champion re-runs are reused.
        return [self.base_seed + 7919 * (i + 1) for i in range(self.reruns)]

    # -- asking -----------------------------------------------------------------
    def consider(self, cand: Candidate) -> None:
        """Called for each successful candidate; queues it if it beats the champion."""
        champ = self.archive.champion()
        if champ is None or not self._better(cand, champ):
            return
        self.archive.put_approval(Approval(cand.id, "confirming", {}, self.clock()))
        if self.reruns == 0:
            self._decide(cand, champ)

    def jobs(self) -> list[tuple[int, int]]:
        """(candidate id, seed) re-runs to start now for the active confirmation."""
        active = self._step()
        champ = self.archive.champion()
        if active is None or champ is None:
            return []
        out: list[tuple[int, int]] = []
        for cid in (active.id, champ.id):
            have = {r.seed for r in self.archive.reruns(cid)}
            for seed in self.seeds:
                if seed not in have and (cid, seed) not in self._submitted:
                    self._submitted.add((cid, seed))
                    out.append((cid, seed))
        return out

    # -- telling ----------------------------------------------------------------
    def record(self, candidate_id: int, seed: int, ev: Evaluation) -> None:
        self._submitted.discard((candidate_id, seed))
        rerun = Rerun(candidate_id, seed, ev.ok, dict(ev.metrics), dict(ev.heldout), ev.failure)
        self.archive.add_rerun(rerun)
        self._step()

    def _step(self) -> Candidate | None:
        """Decide every challenger whose re-runs are complete; return the one still waiting."""
        while (active := self._active()) is not None:
            champ = self.archive.champion()
            if champ is None or not (self._complete(active.id) and self._complete(champ.id)):
                return active
            self._decide(active, champ)
        return None

    # -- deciding ---------------------------------------------------------------
    def _active(self) -> Candidate | None:
        """The best waiting challenger; those that no longer beat the champion are declined."""
        champ = self.archive.champion()
        waiting = [
            self.archive.get(a.candidate_id) for a in self.archive.approvals(states=["confirming"])
        ]
        waiting.sort(key=lambda c: -self._signed(c))
        for cand in waiting:
            if champ is not None and not self._better(cand, champ):
                self._close(cand, "declined", {"reason": f"no longer beats champion #{champ.id}"})
                continue
            return cand
        return None

    def _complete(self, cid: int) -> bool:
        return {r.seed for r in self.archive.reruns(cid)} >= set(self.seeds)

    def _decide(self, chal: Candidate, champ: Candidate) -> None:
        evidence = self.evidence(chal, champ)
        if not evidence["beats_noise"] or not evidence["heldout_ok"]:
            self._close(chal, "declined", evidence)
            self.audit.append(
                "promotion_declined", candidate=chal.id, champion=champ.id, evidence=evidence
            )
            return
        wait = self.approval == "manual" or bool(chal.flags)
        if self.approval == "threshold" and evidence["gain"] > self.threshold_gain:
            wait = True
        if wait:
            self._close(chal, "pending", evidence)
            self.audit.append(
                "approval_requested", candidate=chal.id, champion=champ.id, evidence=evidence
            )
            return
        self._close(chal, "promoted", evidence)
        promote(
            self.archive,
            self.audit,
            chal.id,
            who="evoforge",
            reason=f"auto ({self.approval})",
            evidence=evidence,
        )

    def evidence(self, chal: Candidate, champ: Candidate) -> dict[str, Any]:
        """Paired re-run figures (or the first evaluations when re-runs are off)."""
        if self.reruns == 0:
            pairs = [(chal.metrics, chal.heldout, champ.metrics, champ.heldout)]
            failed: list[str] = []
        else:
            a = {r.seed: r for r in self.archive.reruns(chal.id)}
            b = {r.seed: r for r in self.archive.reruns(champ.id)}
            failed = [
                f"#{r.candidate_id} seed {r.seed}: {r.failure}"
                for r in [*a.values(), *b.values()]
                if not r.ok
            ]
            pairs = [
                (a[s].metrics, a[s].heldout, b[s].metrics, b[s].heldout)
                for s in self.seeds
                if a[s].ok and b[s].ok
            ]
        sign = 1.0 if self.maximize else -1.0
        diffs = [sign * (m1[self.objective] - m2[self.objective]) for m1, _, m2, _ in pairs]
        gain = statistics.fmean(diffs) if diffs else -math.inf
        se = statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) >= 2 else 0.0
        held: dict[str, float] = {}
        for name in sorted({k for _, h1, _, h2 in pairs for k in h1 if k in h2}):
            held[name] = statistics.fmean(sign * (h1[name] - h2[name]) for _, h1, _, h2 in pairs)
        return {
            "champion": champ.id,
            "runs": len(diffs),
            "gain": gain,
            "stderr": se,
            "threshold": max(self.k * se, self.min_gain),
            "beats_noise": not failed and bool(diffs) and gain > max(self.k * se, self.min_gain),
            "heldout_gain": held,
            "heldout_ok": all(v >= -self.heldout_tolerance for v in held.values()),
            "failed_reruns": failed,
            "flags": list(chal.flags),
        }

    def _close(self, cand: Candidate, state: str, evidence: dict[str, Any]) -> None:
        old = next((a for a in self.archive.approvals() if a.candidate_id == cand.id), None)
        requested = old.requested_at if old else self.clock()
        self.archive.put_approval(Approval(cand.id, state, evidence, requested, self.clock()))

    def _signed(self, c: Candidate) -> float:
        s = c.score(self.objective)
        return -math.inf if s is None else (s if self.maximize else -s)

    def _better(self, a: Candidate, b: Candidate) -> bool:
        return a.status == Status.SUCCEEDED and self._signed(a) > self._signed(b)
