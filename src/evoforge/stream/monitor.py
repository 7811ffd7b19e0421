"""Watching the champion: drift detectors on its errors and on the inputs.

Fed one batch at a time with the champion's per-example losses (1 - correct, or
squared error), the batch's inputs and its metric. Detectors come from River
(ADWIN and Page-Hinkley on the loss stream); the inputs are compared with those
seen since the last reset by a two-sample Kolmogorov-Smirnov test per feature
(scipy, Bonferroni over features); a degradation threshold compares the batch's
metric with the mean since the reset; a schedule fires every N batches.

The monitor watches one champion: it is reset when the champion changes (a
promotion, a rollback), not when a round opens, so a change that a declined round
did not fix keeps firing (after the cooldown) and a scheduled round never blinds
the detectors. It holds no state that is not rebuilt by feeding it the recorded
batches since the last reset again (the watcher does so when it starts): nothing
of it is pickled or lost when the watcher dies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from river import drift
from scipy import stats

from evoforge.config import DetectSection

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
    _metrics: list[float] = field(init=False, default_factory=list)
    _losses: list[float] = field(init=False, default_factory=list)
    _inputs: list[npt.NDArray[np.float64]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        s = self.settings
        self._adwin = drift.ADWIN(delta=s.adwin_delta)  # type: ignore[no-untyped-call]
        self._ph = drift.PageHinkley(
            threshold=s.page_hinkley_threshold, delta=s.page_hinkley_delta, mode="up"
        )

    def observe(
        self,
        losses: npt.NDArray[np.floating] | None,
        x: npt.NDArray[np.float64],
        metric: float | None,
    ) -> list[Trigger]:
        """What fires on this batch (nothing during the warm-up); then the batch joins
        the reference. A batch the champion failed to predict (``metric`` None) fires
        ``champion_failed``."""
        s = self.settings
        armed = self.seen >= s.warmup
        fired: list[Trigger] = []
        if metric is None or losses is None:
            fired.append(Trigger("champion_failed", 1.0, "the champion produced no predictions"))
        else:
            fired += self._loss_detectors(losses, armed=armed)
            if armed and s.degradation is not None and self._metrics:
                fired += self._degradation(metric)
        if armed and s.features and self._inputs:
            fired += self._feature_test(x)
        self.seen += 1
        if s.every is not None and self.seen % s.every == 0:
            fired.append(Trigger("schedule", float(self.seen), f"every {s.every} batches"))
        if metric is not None:
            self._metrics.append(metric)
        if losses is not None:
            self._losses.extend(float(v) for v in losses)
        self._inputs = [*self._inputs, x][-REFERENCE_BATCHES:]
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
        mean_before = float(np.mean(self._losses)) if self._losses else 0.0
        batch = float(np.mean(losses))
        out: list[Trigger] = []
        if adwin_hit and batch > mean_before:  # ADWIN fires on both directions: worse only
            out.append(Trigger("adwin", batch - mean_before,
                               f"mean loss {batch:.4f} against {mean_before:.4f} before"))  # fmt: skip
        if ph_hit:
            out.append(Trigger("page_hinkley", batch - mean_before,
                               f"mean loss {batch:.4f} against {mean_before:.4f} before"))  # fmt: skip
        return out

    def _degradation(self, metric: float) -> list[Trigger]:
        limit = self.settings.degradation
        assert limit is not None
        ref = float(np.mean(self._metrics))
        drop = (ref - metric) if self.maximize else (metric - ref)
        if drop > limit:
            return [Trigger("degradation", drop, f"metric {metric:.4f} against mean {ref:.4f}")]
        return []

    def _feature_test(self, x: npt.NDArray[np.float64]) -> list[Trigger]:
        ref = np.concatenate(self._inputs)
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
