"""Noise-aware promotion: a challenger must beat the champion beyond noise, then pass approval.

A candidate whose first evaluation beats the *bar* is a *challenger*. The bar is
the champion; in manual mode it is the best of the champion and the unflagged
pending challengers, because there every promotion waits for a person and a
challenger no better than one already waiting could only queue behind it.

A challenger is re-run with fresh seeds, and so is the champion, on the same
seeds (paired). The seeds are fixed for the run and never the seed used during
search, so the champion's re-runs are reused by every later challenger, a change
that only moves a random seed cannot carry its luck over, and the evidence of any
confirmed candidate against any other can be recomputed from stored re-runs
(approval re-checks a pending challenger against the champion of the moment).

The challenger is promoted only if

- the mean paired gain exceeds ``k`` standard errors and ``min_gain`` (seed noise);
- when both have per-example validation scores of the objective (the task's
  optional ``example_scores``), the one-sided ``confidence`` lower bound of a
  paired bootstrap of the mean gain over the examples is above 0 (the finite
  validation set: with deterministic candidates the re-runs agree exactly, and
  one example flipping is a "gain" no re-run can question);
- it loses no more than ``gate_tolerance`` on any gate metric (``[task] gate``).

Test metrics (held-out, not gate) are reported in the evidence and decide nothing.
Then the approval mode decides: promote now, or wait for a person.

One confirmation runs at a time, for the best waiting challenger; a challenger
that no longer beats the bar when its turn comes is declined.

States of an approval record: ``confirming`` -> ``declined`` | ``pending`` |
``promoted``; ``pending`` -> ``approved`` | ``rejected`` (by a person).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from evoforge.archive import Approval, ApprovalState, Archive, Rerun
from evoforge.candidate import Candidate, Evaluation, Status, unpack_examples
from evoforge.config import Direction, PromotionSection, TaskSection
from evoforge.governance.run_audit import Audit, promote
from evoforge.tasks import Task

Run = Candidate | Rerun
"""One evaluation of a program: a candidate's first one, or a confirmation re-run."""


@dataclass
class Promoter:
    """Decides promotions. ``task`` and ``settings`` are the run's ``[task]`` and
    ``[promotion]`` sections, whose defaults are the only ones."""

    archive: Archive
    audit: Audit
    task: TaskSection
    settings: PromotionSection = field(default_factory=PromotionSection)
    base_seed: int = 0
    """The run's seed (``[experiment] seed``): re-run seeds are derived from it."""
    resamples: int = 2000
    clock: Callable[[], float] = time.time
    _submitted: set[tuple[int, int]] = field(default_factory=set)

    @property
    def objective(self) -> str:
        return self.task.objective

    @property
    def maximize(self) -> bool:
        return self.task.direction is Direction.MAXIMIZE

    @property
    def gate(self) -> tuple[str, ...]:
        """The gate metrics: the only held-out metrics that may veto a promotion."""
        return tuple(self.task.gate)

    @property
    def seeds(self) -> list[int]:
        # Fresh: never the search seed. Fixed for the run: champion re-runs are reused.
        return [self.base_seed + 7919 * (i + 1) for i in range(self.settings.reruns)]

    # -- asking -----------------------------------------------------------------
    def consider(self, cand: Candidate) -> None:
        """Called for each successful candidate; queues it if it beats the bar."""
        champ, bar = self.archive.champion(), self._bar()
        if champ is None or bar is None or not self._better(cand, bar):
            return
        self.archive.put_approval(Approval(cand.id, ApprovalState.CONFIRMING, {}, self.clock()))
        if self.settings.reruns == 0:
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
        examples = self.archive.put_blob(ev.examples) if ev.examples else ""
        rerun = Rerun(
            candidate_id, seed, ev.ok, dict(ev.metrics), dict(ev.heldout), ev.failure, examples
        )
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

    # -- people's questions -------------------------------------------------------
    def recheck(self, cid: int) -> dict[str, Any]:
        """The evidence of #cid against the current champion, recomputed from stored runs
        (no new run is needed); its ``why_not`` is "" when it may be promoted now."""
        champ = self.archive.champion()
        if champ is None:
            return {"champion": None, "why_not": "the run has no champion yet"}
        if champ.id == cid:
            return {"champion": cid, "why_not": f"#{cid} is already the champion"}
        return self.evidence(self.archive.get(cid), champ)

    def ranked_pending(self) -> list[Candidate]:
        """Pending challengers, best first by their confirmed score: the mean of their
        re-runs (all on the same seeds, so they compare), or the first evaluation when
        there are no re-runs."""
        return sorted(self._pending(), key=lambda c: -self._confirmed(c))

    # -- deciding ---------------------------------------------------------------
    def _pending(self) -> list[Candidate]:
        return [
            self.archive.get(a.candidate_id)
            for a in self.archive.approvals(states=[ApprovalState.PENDING])
        ]

    def _bar(self) -> Candidate | None:
        """What a new challenger's first evaluation must beat (see the module docstring)."""
        champ = self.archive.champion()
        if champ is None:
            return None
        rivals = [champ]
        if self.settings.approval == "manual":  # flagged ones may be gaming: they must not block
            rivals += [c for c in self._pending() if not c.flags]
        return max(rivals, key=self._signed)  # the first of equals: the champion

    def _active(self) -> Candidate | None:
        """The best waiting challenger; those that no longer beat the bar are declined."""
        champ, bar = self.archive.champion(), self._bar()
        waiting = [
            self.archive.get(a.candidate_id)
            for a in self.archive.approvals(states=[ApprovalState.CONFIRMING])
        ]
        waiting.sort(key=lambda c: -self._signed(c))
        for cand in waiting:
            if bar is not None and not self._better(cand, bar):
                why = (
                    f"no longer beats champion #{bar.id}"
                    if champ is not None and bar.id == champ.id
                    else f"does not beat #{bar.id}, which waits for approval"
                )
                self._close(cand, ApprovalState.DECLINED, {"reason": why})
                continue
            return cand
        return None

    def _complete(self, cid: int) -> bool:
        return {r.seed for r in self.archive.reruns(cid)} >= set(self.seeds)

    def _decide(self, chal: Candidate, champ: Candidate) -> None:
        evidence = self.evidence(chal, champ)
        if evidence["why_not"]:
            self._close(chal, ApprovalState.DECLINED, evidence)
            self.audit.append(
                "promotion_declined", candidate=chal.id, champion=champ.id, evidence=evidence
            )
            return
        wait = self.settings.approval == "manual" or bool(chal.flags)
        if (
            self.settings.approval == "threshold"
            and evidence["gain"] > self.settings.threshold_gain
        ):
            wait = True
        if wait:
            self._close(chal, ApprovalState.PENDING, evidence)
            self.audit.append(
                "approval_requested", candidate=chal.id, champion=champ.id, evidence=evidence
            )
            return
        self._close(chal, ApprovalState.PROMOTED, evidence)
        promote(
            self.archive,
            self.audit,
            chal.id,
            who="evoforge",
            reason=f"auto ({self.settings.approval})",
            evidence=evidence,
        )

    # -- evidence -----------------------------------------------------------------
    def evidence(self, chal: Candidate, champ: Candidate) -> dict[str, Any]:
        """Paired re-run figures (or the first evaluations when re-runs are off), the
        per-example bootstrap when both have examples, gate and test gains, and
        ``why_not``: "" when the challenger may be promoted, else the reason."""
        pairs, failed, missing = self._pairs(chal, champ)
        sign = 1.0 if self.maximize else -1.0
        diffs = [sign * (a.metrics[self.objective] - b.metrics[self.objective]) for a, b in pairs]
        gain = statistics.fmean(diffs) if diffs else -math.inf
        se = statistics.stdev(diffs) / math.sqrt(len(diffs)) if len(diffs) >= 2 else 0.0
        threshold = max(self.settings.k * se, self.settings.min_gain)
        gate_gain = self._held_gains(pairs, self.gate)
        test = {n for a, b in pairs for n in a.heldout if n in b.heldout} - set(self.gate)
        per_example = self._per_example(pairs)
        ev: dict[str, Any] = {
            "champion": champ.id,
            "runs": len(diffs),
            "gain": gain,
            "stderr": se,
            "threshold": threshold,
            "beats_noise": not failed and not missing and bool(diffs) and gain > threshold,
            "per_example": per_example,
            "gate_gain": gate_gain,
            "gate_ok": all(v >= -self.settings.gate_tolerance for v in gate_gain.values()),
            "test_gain": self._held_gains(pairs, sorted(test)),  # reported, never decides
            "failed_reruns": failed,
            "missing_reruns": missing,
            "flags": list(chal.flags),
        }
        ev["why_not"] = self._why_not(ev)
        return ev

    def _pairs(
        self, chal: Candidate, champ: Candidate
    ) -> tuple[list[tuple[Run, Run]], list[str], list[str]]:
        """(challenger, champion) runs on the same seed; failed and missing re-runs."""
        if self.settings.reruns == 0:
            return [(chal, champ)], [], []
        a = {r.seed: r for r in self.archive.reruns(chal.id)}
        b = {r.seed: r for r in self.archive.reruns(champ.id)}
        failed = [
            f"#{r.candidate_id} seed {r.seed}: {r.failure}"
            for r in [*a.values(), *b.values()]
            if not r.ok and r.seed in self.seeds
        ]
        missing = [
            f"#{c.id} seed {s}" for c, runs in ((chal, a), (champ, b)) for s in self.seeds
            if s not in runs
        ]  # fmt: skip
        pairs: list[tuple[Run, Run]] = [
            (a[s], b[s]) for s in self.seeds if s in a and s in b and a[s].ok and b[s].ok
        ]
        return pairs, failed, missing

    def _held_gains(
        self, pairs: Sequence[tuple[Run, Run]], names: Iterable[str]
    ) -> dict[str, float]:
        sign = 1.0 if self.maximize else -1.0
        out: dict[str, float] = {}
        for name in sorted(names):
            d = [sign * (a.heldout[name] - b.heldout[name]) for a, b in pairs
                 if name in a.heldout and name in b.heldout]  # fmt: skip
            if d:
                out[name] = statistics.fmean(d)
        return out

    def _per_example(self, pairs: Sequence[tuple[Run, Run]]) -> dict[str, Any] | None:
        """The paired bootstrap over validation examples, or None when a run lacks them."""
        sign = 1.0 if self.maximize else -1.0
        rows: list[npt.NDArray[np.float64]] = []
        for a, b in pairs:
            x, y = self._examples(a), self._examples(b)
            if x is None or y is None or len(x) != len(y):
                return None
            rows.append(sign * (x - y))
        if not rows:
            return None
        # One gain per example, averaged over the paired seeds: the seeds' noise is the
        # other test's business; this one asks what a different sample of examples gives.
        d = np.mean(rows, axis=0)
        lower = bootstrap_lower(d, self.settings.confidence, self.resamples, seed=self.base_seed)
        return {
            "ok": lower > 0,
            "examples": int(d.size),
            "mean_gain": float(d.mean()),
            "lower": lower,
            "confidence": self.settings.confidence,
            "resamples": self.resamples,
        }

    def _examples(self, run: Run) -> npt.NDArray[np.float64] | None:
        if not run.examples:
            return None
        values = unpack_examples(self.archive.get_blob(run.examples)).get(self.objective)
        return None if values is None else np.asarray(values, dtype=np.float64)

    def _why_not(self, ev: dict[str, Any]) -> str:
        if ev["missing_reruns"]:
            return "re-runs missing, so the paired evidence cannot be computed: " + ", ".join(
                ev["missing_reruns"]
            )
        if ev["failed_reruns"]:
            return "re-runs failed: " + "; ".join(ev["failed_reruns"])
        if not ev["beats_noise"]:
            return (
                f"gain {ev['gain']:.4g} over #{ev['champion']} does not exceed "
                f"max(k·stderr, min_gain) = {ev['threshold']:.4g}"
            )
        pe = ev["per_example"]
        if pe is not None and not pe["ok"]:
            return (
                f"the {pe['confidence']:.0%} lower bound of the gain over #{ev['champion']} "
                f"across {pe['examples']} validation examples is {pe['lower']:.4g}, not above 0"
            )
        lost = {n: v for n, v in ev["gate_gain"].items() if v < -self.settings.gate_tolerance}
        if lost:
            return (
                "loses "
                + ", ".join(f"{v:.4g} on gate metric {n}" for n, v in lost.items())
                + (f" against #{ev['champion']} (gate_tolerance {self.settings.gate_tolerance:g})")
            )
        return ""

    # -- bookkeeping --------------------------------------------------------------
    def _close(self, cand: Candidate, state: ApprovalState, evidence: dict[str, Any]) -> None:
        old = next((a for a in self.archive.approvals() if a.candidate_id == cand.id), None)
        requested = old.requested_at if old else self.clock()
        self.archive.put_approval(Approval(cand.id, state, evidence, requested, self.clock()))

    def _signed(self, c: Candidate) -> float:
        s = c.score(self.objective)
        return -math.inf if s is None else (s if self.maximize else -s)

    def _confirmed(self, c: Candidate) -> float:
        seeds = set(self.seeds)
        runs = [r for r in self.archive.reruns(c.id) if r.ok and r.seed in seeds]
        if not runs:
            return self._signed(c)
        mean = statistics.fmean(r.metrics[self.objective] for r in runs)
        return mean if self.maximize else -mean

    def _better(self, a: Candidate, b: Candidate) -> bool:
        return a.status == Status.SUCCEEDED and self._signed(a) > self._signed(b)


def bootstrap_lower(
    gains: npt.NDArray[np.float64], confidence: float, resamples: int, *, seed: int
) -> float:
    """One-sided percentile-bootstrap lower bound of the mean of ``gains`` (seeded, so the
    same runs always give the same verdict)."""
    rng = np.random.default_rng(seed)
    n = int(gains.size)
    chunk = max(1, 1_000_000 // n)  # bounded memory for large validation sets
    means: list[npt.NDArray[np.float64]] = []
    for start in range(0, resamples, chunk):
        idx = rng.integers(0, n, size=(min(chunk, resamples - start), n))
        means.append(gains[idx].mean(axis=1))
    return float(np.quantile(np.concatenate(means), 1.0 - confidence))


def validation_caveat(task: Task, *, min_gain: float, reruns: int) -> str:
    """The warning for a run whose promotions nothing guards against the finite
    validation set ("" when per-example scores or ``min_gain`` do)."""
    if min_gain > 0 or type(task).example_scores is not Task.example_scores:
        return ""
    guard = (
        f"the {reruns} paired re-runs guard against seed noise only, not"
        if reruns
        else "with promotion.reruns = 0 nothing guards against seed noise nor"
    )
    return (
        f"{guard} against the finite validation set: the task gives no example_scores and "
        "promotion.min_gain is 0, so a gain of a single validation example can be promoted"
    )
