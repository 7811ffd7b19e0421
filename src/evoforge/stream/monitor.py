"""Watching the champion: drift detectors on its errors and on the inputs.

Fed one batch at a time with the champion's per-example losses (1 - correct, or
squared error), the batch's inputs and its metric. Detectors come from River
(ADWIN and Page-Hinkley on the loss stream); the inputs are compared with those
seen since the last reset by a two-sample Kolmogorov-Smirnov test per feature
(scipy, Bonferroni over features); a degradation threshold compares the batch's
metric with the mean since the reset; a schedule fires every N batches.

The detectors run over the whole stream: a change of champion (a promotion, a
rollback) restarts only the degradation reference, and a round never blinds them,
so a drift right after a promotion is still seen and a change that a declined
round did not fix keeps firing (after the cooldown). The monitor holds no state
that is not rebuilt by feeding it the recorded scores again (the watcher does so
when it starts): nothing of it is pickled or lost when the watcher dies.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from river import drift
from scipy import stats

from evoforge.config import DetectSection

LEVEL_BATCHES = 3
"""The degradation threshold compares a batch with the champion's best mean over this many."""
REFERENCE_BATCHES = 5
"""The input test compares a batch with at most this many batches before it (since the reset)."""


@dataclass(frozen=True)
class Trigger:
    detector: str
    statistic: float
    detail: str


@dataclass
class Monitor:
    settings: DetectSection
    maximize: bool = True
    seen: int = field(init=False, default=0)
    """Batches observed since the stream began."""
    since_change: int = field(init=False, default=0)
    """Batches observed since the champion last changed."""
    _metrics: list[float] = field(init=False, default_factory=list)
    """The serving champion's metric on each batch (the degradation reference)."""
    _recent: deque[float] = field(
        init=False, default_factory=lambda: deque(maxlen=REFERENCE_BATCHES)
    )
    """Mean loss of the last batches (an error detector fires only on a rise above it)."""
    _inputs: deque[npt.NDArray[np.float64]] = field(
        init=False, default_factory=lambda: deque(maxlen=REFERENCE_BATCHES)
    )

    def __post_init__(self) -> None:
        s = self.settings
        self._adwin = drift.ADWIN(delta=s.adwin_delta)  # type: ignore[no-untyped-call]
        self._ph = drift.PageHinkley(
            threshold=s.page_hinkley_threshold, delta=s.page_hinkley_delta, mode="up"
        )

    def new_champion(self) -> None:
        """Another program serves: the degradation reference starts again. The error
        detectors go on (a better champion lowers the errors, which never fires)."""
        self._metrics = []
        self.since_change = 0

    def observe(
        self,
        losses: npt.NDArray[np.floating] | None,
        x: npt.NDArray[np.float64] | None,
        metric: float | None,
    ) -> list[Trigger]:
        """What fires on this batch; then the batch joins the references. Nothing fires
        in the stream's first ``warmup`` batches, and the degradation threshold waits
        ``warmup`` batches after a change of champion. A batch the champion failed to
        predict (``metric`` None) fires ``champion_failed``. ``x`` None (a replay of
        batches older than the input reference): the input test skips the batch."""
        s = self.settings
        armed = self.seen >= s.warmup
        fired: list[Trigger] = []
        if metric is None or losses is None:
            fired.append(Trigger("champion_failed", 1.0, "the champion produced no predictions"))
        else:
            fired += self._loss_detectors(losses, armed=armed)
            settled = self.since_change >= s.warmup
            if armed and settled and s.degradation is not None and self._metrics:
                fired += self._degradation(metric)
        if armed and s.features and self._inputs and x is not None:
            fired += self._feature_test(x)
        self.seen += 1
        self.since_change += 1
        if s.every is not None and self.seen % s.every == 0:
            fired.append(Trigger("schedule", float(self.seen), f"every {s.every} batches"))
        if metric is not None:
            self._metrics.append(metric)
        if losses is not None and losses.size:
            self._recent.append(float(np.mean(losses)))
        if x is not None:
            self._inputs.append(x)
        return fired

    def _loss_detectors(self, losses: npt.NDArray[np.floating], *, armed: bool) -> list[Trigger]:
        s = self.settings
        adwin_hit = ph_hit = False
        for v in losses:
            value = float(v)
            if s.adwin:
                self._adwin.update(value)  # type: ignore[no-untyped-call]
                adwin_hit = adwin_hit or self._adwin.drift_detected
            if s.page_hinkley:
                self._ph.update(value)  # type: ignore[no-untyped-call]
                ph_hit = ph_hit or self._ph.drift_detected
        if not armed:
            return []
        before = float(np.mean(self._recent)) if self._recent else 0.0
        batch = float(np.mean(losses))
        out: list[Trigger] = []
        detail = f"mean loss {batch:.4f} against {before:.4f} in the last batches"
        if adwin_hit and batch > before:  # ADWIN fires on both directions: worse only
            out.append(Trigger("adwin", batch - before, detail))
        if ph_hit:
            out.append(Trigger("page_hinkley", batch - before, detail))
        return out

    def _degradation(self, metric: float) -> list[Trigger]:
        limit = self.settings.degradation
        assert limit is not None
        ref = self._level()
        drop = (ref - metric) if self.maximize else (metric - ref)
        if drop > limit:
            return [
                Trigger("degradation", drop, f"metric {metric:.4f} against its level {ref:.4f}")
            ]
        return []

    def _level(self) -> float:
        """The serving champion's level: its best mean over LEVEL_BATCHES batches in a row.
        Not its mean so far, which sinks with a lasting drop until the drop looks normal:
        against its best, a champion that stays worse keeps firing (once per cooldown),
        and a round that found nothing is tried again."""
        m = np.asarray(self._metrics, dtype=np.float64)
        if len(m) <= LEVEL_BATCHES:
            return float(m.mean())
        runs = np.convolve(m, np.ones(LEVEL_BATCHES) / LEVEL_BATCHES, mode="valid")
        return float(runs.max() if self.maximize else runs.min())

    def _feature_test(self, x: npt.NDArray[np.float64]) -> list[Trigger]:
        ref = np.concatenate(list(self._inputs))
        if ref.shape[1] != x.shape[1]:
            return []
        d = x.shape[1]
        if d == 0:
            return []
        pvalues = [float(stats.ks_2samp(x[:, j], ref[:, j]).pvalue) for j in range(d)]
        j = int(np.argmin(pvalues))
        corrected = min(1.0, pvalues[j] * d)
        if corrected < self.settings.features_alpha:
            return [Trigger("features", corrected, f"feature {j}: KS p={pvalues[j]:.2e} (x{d})")]
        return []
