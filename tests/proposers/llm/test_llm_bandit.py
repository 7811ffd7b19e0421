"""The model bandit (wins per unit of cost)."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from evoforge.proposers.llm import ModelBandit


def picks(
    bandit: ModelBandit, n: int = 400, available: tuple[str, ...] = ("a", "b")
) -> Counter[str]:
    rng = random.Random(3)
    return Counter(bandit.choose(list(available), rng) for _ in range(n))


def train(bandit: ModelBandit, name: str, pulls: int, wins: int, cost_each: float) -> None:
    for i in range(pulls):
        bandit.answered(name, cost_each)
        if i < wins:
            bandit.won(name)


def test_with_no_data_weights_decide() -> None:
    counts = picks(ModelBandit({"a": 1.0, "b": 4.0}))
    assert counts["b"] > 2 * counts["a"] > 0


def test_more_wins_at_equal_cost_win_more_often() -> None:
    bandit = ModelBandit({"a": 1.0, "b": 1.0})
    train(bandit, "a", 40, 4, 0.01)
    train(bandit, "b", 40, 20, 0.01)
    assert picks(bandit)["b"] > 350


def test_equal_wins_at_a_tenth_of_the_cost_win_more_often() -> None:
    bandit = ModelBandit({"a": 1.0, "b": 1.0})
    train(bandit, "a", 40, 10, 0.10)
    train(bandit, "b", 40, 10, 0.01)
    assert picks(bandit)["b"] > 350


def test_a_free_model_is_preferred_but_not_blindly() -> None:
    bandit = ModelBandit({"paid": 1.0, "free": 1.0})
    train(bandit, "paid", 50, 30, 0.02)
    train(bandit, "free", 50, 1, 0.0)
    assert picks(bandit, available=("paid", "free"))["paid"] > 300
    even = ModelBandit({"paid": 1.0, "free": 1.0})
    train(even, "paid", 50, 20, 0.02)
    train(even, "free", 50, 20, 0.0)
    assert picks(even, available=("paid", "free"))["free"] > 300


def test_only_available_models_are_chosen() -> None:
    assert picks(ModelBandit({"a": 1.0, "b": 100.0}), 50, ("a",)) == Counter({"a": 50})
    with pytest.raises(ValueError):
        ModelBandit({"a": 1.0}).choose([], random.Random(0))


def test_state_round_trips_and_forgets_removed_models() -> None:
    bandit = ModelBandit({"a": 1.0, "b": 1.0})
    train(bandit, "a", 3, 1, 0.5)
    again = ModelBandit({"a": 1.0, "c": 1.0})
    again.load_state({**bandit.state(), "gone": {"pulls": 9}})
    assert again.state() == {
        "a": {"pulls": 3, "wins": 1, "cost": 1.5},
        "c": {"pulls": 0, "wins": 0, "cost": 0.0},
    }
