"""The portfolio's bandit: payoff per second, discounted, saved exactly."""

from __future__ import annotations

import json
import random

import pytest

from evoforge.proposers.payoff import PayoffBandit


def share(bandit: PayoffBandit, arm: str, draws: int = 400) -> float:
    rng = random.Random(0)
    return sum(bandit.order(rng, bandit.arms)[0] == arm for _ in range(draws)) / draws


def test_the_member_that_improves_more_per_second_is_drawn_more() -> None:
    bandit = PayoffBandit(["a", "b"])
    for i in range(20):
        bandit.reward("a", improved=i % 2 == 0, gain=1.0, seconds=1.0)
        bandit.reward("b", improved=i % 5 == 0, gain=1.0, seconds=1.0)
    assert share(bandit, "a") > 0.8
    slow = PayoffBandit(["a", "b"])  # the same chances, but a costs ten times as much
    for i in range(20):
        slow.reward("a", improved=i % 2 == 0, seconds=10.0)
        slow.reward("b", improved=i % 2 == 0, seconds=1.0)
    assert share(slow, "b") > 0.8


def test_results_fade_so_a_member_that_stopped_paying_loses_its_lead() -> None:
    fading, lasting = PayoffBandit(["a", "b"], discount=0.8), PayoffBandit(["a", "b"], discount=1.0)
    for bandit in (fading, lasting):
        for _ in range(30):
            bandit.reward("a", improved=True, seconds=1.0)
        for i in range(15):  # then a stops paying and b pays half the time
            bandit.reward("a", improved=False, seconds=1.0)
            bandit.reward("b", improved=i % 2 == 0, seconds=1.0)
    assert share(fading, "b") > 0.8  # what pays now
    assert share(lasting, "a") > 0.6  # without the discount a lives on its early wins
    assert fading.stats()["a"].total_pulls == 45 and fading.stats()["a"].total_wins == 30


def test_a_cheap_failure_is_not_drawn_for_being_cheap() -> None:
    """Children that fail at once cost almost nothing: the floor keeps them from winning."""
    bandit = PayoffBandit(["fails-at-once", "works"])
    for i in range(10):
        bandit.reward("fails-at-once", improved=False, seconds=0.01)
        bandit.reward("works", improved=i % 2 == 0, seconds=1.0)
    assert share(bandit, "works") > 0.7
    assert bandit.mean_seconds() == pytest.approx((10 * 0.01 + 10 * 1.0) / 20, rel=0.2)


def test_state_round_trips_exactly_and_malformed_entries_are_dropped() -> None:
    bandit = PayoffBandit(["a", "b"])
    for i in range(7):
        bandit.reward("a" if i % 3 else "b", improved=i % 2 == 0, gain=0.1 * i, seconds=0.3 * i)
    again = PayoffBandit(["a", "b"])
    again.load_state(json.loads(json.dumps(bandit.state())))
    assert again.stats() == bandit.stats()
    assert [again.order(random.Random(i), ["a", "b"]) for i in range(20)] == [
        bandit.order(random.Random(i), ["a", "b"]) for i in range(20)
    ]
    again.load_state(
        {"a": {"pulls": "many"}, "b": {**bandit.state()["b"], "wins": -1.0}, "zzz": {}}
    )
    assert again.stats()["a"].total_pulls == 0 and again.stats()["b"].total_pulls == 0


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="discount"):
        PayoffBandit(["a"], discount=0.0)
    with pytest.raises(ValueError, match="no usable arm"):
        PayoffBandit(["a"]).order(random.Random(0), ["b"])
