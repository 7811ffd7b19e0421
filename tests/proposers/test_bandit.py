import json
import random

from evoforge.proposers.bandit import ThompsonBandit


def test_thompson_prefers_the_arm_that_pays() -> None:
    bandit = ThompsonBandit(["step", "flip"])
    for _ in range(40):
        bandit.reward("step", improved=True, gain=0.1)
        bandit.reward("flip", improved=False)
    rng = random.Random(0)
    picks = [bandit.choose(rng) for _ in range(200)]
    assert picks.count("step") > 190


def test_unknown_arms_are_ignored_and_usable_restricts() -> None:
    bandit = ThompsonBandit(["step", "flip"])
    bandit.reward("llm-diff", improved=True)
    assert bandit.stats() == {}
    assert {bandit.choose(random.Random(i), ["flip"]) for i in range(10)} == {"flip"}


def test_state_round_trips_through_json_and_skips_garbage() -> None:
    bandit = ThompsonBandit(["step", "flip", "choice"])
    bandit.reward("step", improved=True, gain=0.5)
    bandit.reward("step", improved=False)
    bandit.reward("flip", improved=False, gain=-1.0)
    state = json.loads(json.dumps(bandit.state()))
    resumed = ThompsonBandit(["step", "flip", "choice"])
    resumed.load_state({**state, "choice": {"tries": 1, "wins": 5, "gain": 0}, "x": "bad"})
    assert resumed.state() == bandit.state()
    assert resumed.stats()["step"].mean_reward == 0.5
    assert resumed.stats()["flip"].gain == 0.0
