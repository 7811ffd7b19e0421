"""Trials of a challenger and of a new champion on the batches that follow a round.

A challenger in shadow predicts each batch beside the champion; after
``shadow_batches`` it must have done better, then the approval mode applies. A
new champion is scored beside its predecessor for ``rollback_batches``; if it did
worse by more than the tolerance it is rolled back (the fail-safe). Each step
runs inside the watcher's transaction for the batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from evoforge.config import PromotionSection, StreamSection
from evoforge.stream import moves
from evoforge.stream.store import RoundRow, StreamStore


@dataclass
class Trials:
    store: StreamStore
    stream: StreamSection
    promotion: PromotionSection
    note: Callable[[str], None]

    def approve_or_wait(self, rnd: RoundRow) -> None:
        p = self.promotion
        evidence = rnd.result.get("evidence", {})
        gain = float(evidence.get("gain", 0.0) or 0.0)
        flags = list(evidence.get("flags") or [])
        if (
            flags
            or p.approval == "manual"
            or (p.approval == "threshold" and gain > p.threshold_gain)
        ):
            why = f"flagged: {', '.join(flags)}" if flags else f"approval = {p.approval!r}"
            moves.request_approval(self.store, rnd, why=why)
            self.note(
                f"round {rnd.id}: challenger waits for approval: evoforge approve {self.store.folder} {rnd.id}"
            )
            return
        cid = moves.promote_round(self.store, rnd, who="evoforge", reason=f"auto ({p.approval})")
        self.note(f"round {rnd.id}: challenger promoted: champion #{cid}")

    def shadow_step(self, rnd: RoundRow) -> None:
        done = rnd.shadow_done + 1
        self.store.update_round(rnd.id, shadow_done=done)
        if done < self.stream.shadow_batches:
            return
        champ, shadow = self._paired_means("champion", "shadow", done)
        better = shadow > champ if self.stream.maximize else shadow < champ
        verdict = {"champion": champ, "shadow": shadow, "batches": done}
        self.store.update_round(rnd.id, result={**rnd.result, "shadow": verdict})
        rnd = _round(self.store, rnd.id)
        if not better:
            moves.decline_round(
                self.store, rnd,
                why=f"lost in shadow: {shadow:.4f} against the champion's {champ:.4f} over {done} batches",
            )  # fmt: skip
            return
        self.store.add_event("shadow_won", None, round=rnd.id, **verdict)
        self.approve_or_wait(rnd)

    def rollback_step(self, cid: int, done: int) -> None:
        self.store.set_watch_done(cid, done)
        if done < self.stream.rollback_batches:
            return
        mine, theirs = self._paired_means("champion", "predecessor", done)
        tol = self.stream.rollback_tolerance
        worse = mine < theirs - tol if self.stream.maximize else mine > theirs + tol
        verdict = {"champion": cid, "metric": mine, "predecessor_metric": theirs, "batches": done}
        if worse and self.stream.rollback:
            moves.rollback(
                self.store, who="evoforge", to=None,
                reason=f"fail-safe: {mine:.4f} against the predecessor's {theirs:.4f} over {done} batches",
            )  # fmt: skip
            self.note(f"champion #{cid}: rolled back (it did worse than its predecessor)")
        else:
            self.store.add_event("trial_passed" if not worse else "trial_lost", None, **verdict)

    def _paired_means(self, a: str, b: str, n: int) -> tuple[float, float]:
        """Mean metric of roles ``a`` and ``b`` over the last ``n`` batches both scored
        (the current batch's rows are in this transaction already)."""
        rows_a = {r.seq: r.metric for r in self.store.scores(a)}
        rows_b = {r.seq: r.metric for r in self.store.scores(b)}
        both = sorted(set(rows_a) & set(rows_b))[-n:]
        worst = 0.0 if self.stream.maximize else float("inf")
        va = [worst if (v := rows_a[s]) is None else v for s in both]
        vb = [worst if (v := rows_b[s]) is None else v for s in both]
        return float(np.mean(va)), float(np.mean(vb))


def _round(store: StreamStore, rid: int) -> RoundRow:
    return next(r for r in store.rounds() if r.id == rid)
