"""The champion's monitor: ADWIN and Page-Hinkley on its losses, a KS test per input
feature, degradation, a schedule, and the warm-up, on seeded synthetic streams."""

from __future__ import annotations

from collections import Counter

import numpy as np
import numpy.typing as npt
import pytest

from evoforge.config import DetectSection
from evoforge.stream.monitor import REFERENCE_BATCHES, Monitor

ROWS = 400
Feed = tuple[npt.NDArray[np.float32], npt.NDArray[np.float64], float]


def feed(rng: np.random.Generator, p: float, *, shift: float = 0.0, feature: int = 0) -> Feed:
    """One batch: Bernoulli(p) losses (0/1 errors), N(0, 1) inputs with ``feature``'s mean
    moved by ``shift``, and the batch's accuracy."""
    losses = (rng.random(ROWS) < p).astype(np.float32)
    x = rng.normal(size=(ROWS, 3))
    x[:, feature] += shift
    return losses, x, float(1.0 - losses.mean())


def observe_all(monitor: Monitor, batches: list[Feed]) -> list[list[str]]:
    """The detectors fired on each batch, in order."""
    return [[t.detector for t in monitor.observe(*b)] for b in batches]


def only(**on: object) -> DetectSection:
    """Every detector off but those given."""
    off: dict[str, object] = {
        "adwin": False,
        "page_hinkley": False,
        "features": False,
        "degradation": None,
    }
    return DetectSection(**{**off, **on})  # type: ignore[arg-type]


# -- false triggers on a stationary stream -----------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 5])
def test_stationary_stream_rarely_triggers_with_the_defaults(seed: int) -> None:
    rng = np.random.default_rng(seed)
    fired = observe_all(Monitor(DetectSection()), [feed(rng, 0.1) for _ in range(100)])
    total = Counter(d for batch in fired for d in batch)
    # seen: seed 0 none, seed 1 one 'features' (batch 4), seed 5 one 'page_hinkley' (batch 81)
    assert sum(total.values()) <= 1, total


# -- real changes -------------------------------------------------------------------------


def test_loss_jump_fires_adwin_page_hinkley_and_degradation_at_once() -> None:
    rng = np.random.default_rng(0)
    batches = [feed(rng, 0.1) for _ in range(20)] + [feed(rng, 0.4) for _ in range(2)]
    fired = observe_all(Monitor(DetectSection()), batches)
    assert all(f == [] for f in fired[:20]), fired[:20]
    after = {d for f in fired[20:] for d in f}
    assert {"adwin", "page_hinkley", "degradation"} <= after, fired[20:]
    assert "features" not in after  # the inputs did not change


def test_loss_jump_statistic_is_the_rise_of_the_mean_loss() -> None:
    rng = np.random.default_rng(0)
    monitor = Monitor(only(adwin=True))
    for _ in range(20):
        assert monitor.observe(*feed(rng, 0.1)) == []
    losses, x, metric = feed(rng, 0.4)
    (trig,) = monitor.observe(losses, x, metric)
    assert trig.detector == "adwin"
    assert 0.25 < trig.statistic < 0.35 and "mean loss" in trig.detail


def test_fewer_errors_do_not_fire_adwin() -> None:
    rng = np.random.default_rng(0)
    settings = only(adwin=True, page_hinkley=True)
    batches = [feed(rng, 0.4) for _ in range(20)] + [feed(rng, 0.05) for _ in range(10)]
    fired = observe_all(Monitor(settings), batches)
    assert fired == [[]] * 30


def test_covariate_shift_fires_features_at_once_naming_the_feature() -> None:
    rng = np.random.default_rng(0)
    monitor = Monitor(DetectSection())
    for _ in range(10):
        assert monitor.observe(*feed(rng, 0.1)) == []
    (trig,) = monitor.observe(*feed(rng, 0.1, shift=1.0, feature=2))
    assert trig.detector == "features"
    assert trig.statistic < DetectSection().features_alpha
    assert trig.detail.startswith("feature 2:")


def test_features_compare_with_the_last_batches_only() -> None:
    rng = np.random.default_rng(0)
    monitor = Monitor(only(features=True))
    batches = [feed(rng, 0.1) for _ in range(5)] + [feed(rng, 0.1, shift=1.0) for _ in range(12)]
    fired = observe_all(monitor, batches)
    assert fired[5] == ["features"]
    # once the reference holds only shifted batches, the new level is the normal one
    assert all(f == [] for f in fired[5 + REFERENCE_BATCHES :]), fired


def test_features_of_another_width_are_not_compared() -> None:
    rng = np.random.default_rng(0)
    monitor = Monitor(only(features=True))
    for _ in range(4):
        monitor.observe(*feed(rng, 0.1))
    losses, _, metric = feed(rng, 0.1)
    assert monitor.observe(losses, rng.normal(size=(ROWS, 5)) + 3, metric) == []


# -- degradation ----------------------------------------------------------------------------


def degradation_after(
    metrics: list[float], last: float, *, maximize: bool = True, limit: float | None = 0.1
) -> list[str]:
    monitor = Monitor(only(degradation=limit), maximize=maximize)
    zeros = np.zeros(10, dtype=np.float32)
    x = np.zeros((10, 2))
    for m in metrics:
        monitor.observe(zeros, x, m)
    return [t.detector for t in monitor.observe(zeros, x, last)]


def test_degradation_beyond_the_threshold_fires() -> None:
    assert degradation_after([0.9, 0.9, 0.9, 0.9], 0.78) == ["degradation"]
    assert degradation_after([0.9, 0.9, 0.9, 0.9], 0.82) == []
    assert degradation_after([0.9, 0.9, 0.9, 0.9], 0.99) == []  # better is not a drop


def test_degradation_compares_with_the_mean_since_the_reset() -> None:
    # the mean of 1.0, 0.8, 1.0, 0.8 is 0.9: 0.85 is 0.05 below it, 0.75 is 0.15 below
    assert degradation_after([1.0, 0.8, 1.0, 0.8], 0.85) == []
    assert degradation_after([1.0, 0.8, 1.0, 0.8], 0.75) == ["degradation"]


def test_degradation_statistic_is_the_drop() -> None:
    monitor = Monitor(only(degradation=0.1))
    zeros, x = np.zeros(4, dtype=np.float32), np.zeros((4, 1))
    for _ in range(3):
        monitor.observe(zeros, x, 0.9)
    (trig,) = monitor.observe(zeros, x, 0.6)
    assert trig.statistic == pytest.approx(0.3)


def test_degradation_when_minimizing_is_a_rise() -> None:
    assert degradation_after([1.0] * 4, 1.2, maximize=False) == ["degradation"]
    assert degradation_after([1.0] * 4, 1.05, maximize=False) == []
    assert degradation_after([1.0] * 4, 0.2, maximize=False) == []


def test_degradation_off() -> None:
    assert degradation_after([0.9] * 4, 0.0, limit=None) == []


# -- schedule, warm-up, failures -------------------------------------------------------------


def test_schedule_fires_on_the_fifth_batch() -> None:
    monitor = Monitor(only(every=5))
    zeros, x = np.zeros(4, dtype=np.float32), np.zeros((4, 1))
    fired = [monitor.observe(zeros, x, 1.0) for _ in range(5)]
    assert fired[:4] == [[]] * 4
    (trig,) = fired[4]
    assert (trig.detector, trig.statistic, trig.detail) == ("schedule", 5.0, "every 5 batches")


def test_nothing_fires_during_the_warmup() -> None:
    rng = np.random.default_rng(0)
    wild = [feed(rng, 1.0, shift=5.0) for _ in range(3)]
    batches = [feed(rng, 0.1) for _ in range(2)] + wild
    fired = observe_all(Monitor(DetectSection(warmup=4)), batches)
    assert fired[:4] == [[]] * 4  # the change came during the warm-up: it is the reference
    assert "degradation" in fired[4] and "features" in fired[4]  # once armed it does fire
    fired = observe_all(Monitor(DetectSection(warmup=5)), batches)
    assert fired == [[]] * 5


def test_champion_failed_when_there_is_no_metric() -> None:
    rng = np.random.default_rng(0)
    monitor = Monitor(DetectSection())
    _, x, _ = feed(rng, 0.1)
    (trig,) = monitor.observe(None, x, None)  # even at the first batch
    assert trig.detector == "champion_failed"
    (trig,) = monitor.observe(np.zeros(ROWS, dtype=np.float32), x, None)
    assert trig.detector == "champion_failed"
    (trig,) = monitor.observe(None, x, 0.9)
    assert trig.detector == "champion_failed"
    assert monitor.seen == 3


def test_a_failed_batch_does_not_join_the_metric_reference() -> None:
    monitor = Monitor(only(degradation=0.1))
    zeros, x = np.zeros(4, dtype=np.float32), np.zeros((4, 1))
    for m in (0.9, 0.9, 0.9):
        monitor.observe(zeros, x, m)
    monitor.observe(None, x, None)
    assert monitor.observe(zeros, x, 0.85) == []  # against 0.9, not a mean with a failure


# -- each detector can be switched off ------------------------------------------------------

EVERYTHING = {"adwin", "page_hinkley", "features", "degradation"}


def change_stream() -> list[Feed]:
    """Ten quiet batches, then worse losses and a shifted feature at once."""
    rng = np.random.default_rng(0)
    return [feed(rng, 0.1) for _ in range(10)] + [feed(rng, 0.4, shift=1.0) for _ in range(3)]


def test_the_change_stream_fires_every_detector() -> None:
    fired = observe_all(Monitor(DetectSection()), change_stream())
    assert all(f == [] for f in fired[:10])
    assert set(fired[10]) == EVERYTHING - {"page_hinkley"}  # on the first changed batch
    assert "page_hinkley" in set(fired[10]) | set(
        fired[11]
    )  # its threshold: one batch later at most


@pytest.mark.parametrize(
    ("off", "detector"),
    [
        ({"adwin": False}, "adwin"),
        ({"page_hinkley": False}, "page_hinkley"),
        ({"features": False}, "features"),
        ({"degradation": None}, "degradation"),
    ],
)
def test_a_detector_switched_off_never_fires(off: dict[str, object], detector: str) -> None:
    settings = DetectSection(**off)  # type: ignore[arg-type]
    fired = observe_all(Monitor(settings), change_stream())
    seen = {d for f in fired for d in f}
    assert detector not in seen
    assert EVERYTHING - {detector} <= set(fired[10]) | set(fired[11])  # the others still do


def test_all_detectors_off_fire_nothing() -> None:
    fired = observe_all(Monitor(only()), change_stream())
    assert fired == [[]] * len(fired)


def test_batches_without_features_do_not_crash_the_monitor() -> None:
    monitor = Monitor(DetectSection())
    x = np.zeros((4, 0))
    for _ in range(4):
        assert monitor.observe(np.zeros(4, dtype=np.float32), x, 1.0) == []
