"""The policy contract: a request's lanes as JSON, and the check of a policy's answer against them."""

from __future__ import annotations

import pytest

from evoforge.policy import Lane, PolicyError, read_answer
from evoforge.policy._base import MAX_SIGMA


def _lane(children: int = 2, size: int = 4) -> Lane:
    pool = [{"id": i, "score": float(i), "operator": "step", "parent": None} for i in range(size)]
    return Lane(seed=1, children=children, arity=2, pool=pool, stats={})


@pytest.mark.parametrize(
    "answer",
    [
        None,
        {"lanes": []},
        {"lanes": [{"parents": [[0, 1]], "weights": {"step": 1}, "sigma": 0.5}]},
        {"lanes": [{"parents": [[0, 9], [0]], "weights": {"step": 1}, "sigma": 0.5}]},
        {"lanes": [{"parents": [[0], [True]], "weights": {"step": 1}, "sigma": 0.5}]},
        {"lanes": [{"parents": [[0], [1]], "weights": {"warp": 1}, "sigma": 0.5}]},
        {"lanes": [{"parents": [[0], [1]], "weights": {"step": -1}, "sigma": 0.5}]},
        {"lanes": [{"parents": [[0], [1]], "weights": {"step": 0}, "sigma": 0.5}]},
        {"lanes": [{"parents": [[0], [1]], "weights": {"step": 1}, "sigma": float("nan")}]},
        {"lanes": [{"parents": [[0], [1]], "weights": {"step": 1}, "sigma": 1e9}]},
    ],
)
def test_garbage_answers_are_policy_errors(answer: object) -> None:
    with pytest.raises(PolicyError):
        read_answer(answer, [_lane()])


def test_a_valid_answer_becomes_one_decision_per_lane() -> None:
    answer = {
        "lanes": [
            {
                "parents": [[3, 1], [0]],
                "weights": {"step": 2, "crossover": 0.5},
                "sigma": MAX_SIGMA,
            },
            {"parents": [[2]], "weights": {"step": 1}, "sigma": 1},
        ]
    }
    first, second = read_answer(answer, [_lane(), _lane(children=1)])
    assert first.parents == ((3, 1), (0,))
    assert first.weights == {"step": 2.0, "crossover": 0.5} and first.sigma == MAX_SIGMA
    assert second.parents == ((2,),) and isinstance(second.sigma, float)


def test_each_wrong_answer_says_which_lane_and_what_is_wrong() -> None:
    wrong = {"parents": [[0], [1, 2, 3]], "weights": {"step": 1}, "sigma": 0.5}
    with pytest.raises(PolicyError, match=r"^lane 0: each child needs 1 to 2 parent indices"):
        read_answer({"lanes": [wrong]}, [_lane()])
    with pytest.raises(PolicyError, match="the answer has 2 lanes, the request 1"):
        read_answer({"lanes": [wrong, wrong]}, [_lane()])


def test_a_lane_is_sent_as_plain_json_copies() -> None:
    pool = [{"id": 7, "score": 0.5, "operator": "step", "parent": None}]
    stats = {"step": {"tries": 3.0}}
    lane = Lane(seed=4, children=1, arity=2, pool=pool, stats=stats)
    sent = lane.as_json()
    assert sent == {"seed": 4, "children": 1, "arity": 2, "pool": pool, "stats": stats,
                    "kind": "params", "makers": ["mutate"], "maker_stats": {}}  # fmt: skip
    sent["pool"][0]["score"] = 9.0
    sent["stats"]["step"]["tries"] = 0.0
    assert pool[0]["score"] == 0.5 and stats["step"]["tries"] == 3.0


def _maker_lane() -> Lane:
    pool = [{"id": i, "score": float(i), "operator": "step", "parent": None} for i in range(3)]
    return Lane(seed=1, children=2, arity=2, pool=pool, stats={}, makers=("mutate", "tpe"))


BASE = {"parents": [[0], [1]], "weights": {"step": 1}, "sigma": 0.5}


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({"makers": ["tpe"]}, "'makers' must name the maker of each of 2 children"),
        (
            {"makers": ["tpe", "random"]},
            "maker 'random' is not available here; available: mutate, tpe",
        ),
        ({"makers": "tpe"}, "'makers' must name"),
        ({"settings": {"tpe": {"startup": 0}}}, r"tpe.startup must be an integer in \[1, 64\]"),
        ({"settings": {"tpe": {"startup": 5.0}}}, "tpe.startup must be an integer"),
        ({"settings": {"tpe": {"gamma": 5}}}, "unknown setting tpe.gamma"),
        ({"settings": {"gp": {}}}, "no settings for maker 'gp'"),
        ({"settings": [1]}, "'settings' must map makers"),
    ],
)
def test_wrong_makers_or_settings_are_policy_errors_that_say_why(
    extra: dict[str, object], why: str
) -> None:
    with pytest.raises(PolicyError, match=why):
        read_answer({"lanes": [{**BASE, **extra}]}, [_maker_lane()])


def test_makers_and_settings_are_read_and_an_answer_without_them_means_the_mutator() -> None:
    answer = {**BASE, "makers": ["tpe", "mutate"], "settings": {"tpe": {"startup": 3}}}
    (decision,) = read_answer({"lanes": [answer]}, [_maker_lane()])
    assert [decision.maker(0), decision.maker(1)] == ["tpe", "mutate"]
    assert decision.settings == {"tpe": {"startup": 3}}
    (plain,) = read_answer({"lanes": [BASE]}, [_maker_lane()])
    assert plain.maker(1) == "mutate" and plain.settings == {}
