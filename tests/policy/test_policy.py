from typing import Any

from evoforge.policy import check_policy, default_policy_source


def test_the_shipped_default_is_a_valid_policy() -> None:
    assert check_policy(default_policy_source()) == []


def test_the_shipped_meta_evolved_policy_passes_the_checks() -> None:
    from importlib import resources

    evolved = resources.files("evoforge.policy").joinpath("shipped/evolved.py").read_text()
    assert evolved != default_policy_source()
    assert check_policy(evolved) == []


def _decide(lane: dict[str, object], source: str | None = None) -> dict[str, Any]:
    namespace: dict[str, object] = {"__name__": "policy_under_test"}
    exec(compile(source or default_policy_source(), "policy.py", "exec"), namespace)
    answer = namespace["decide"]({"lanes": [lane]})  # type: ignore[operator]
    lanes: list[dict[str, Any]] = answer["lanes"]
    return lanes[0]


POOL = [{"id": i, "score": float(i % 3), "operator": "step", "parent": None} for i in range(6)]


def _lane(**over: object) -> dict[str, object]:
    lane: dict[str, object] = {"seed": 3, "children": 400, "arity": 2, "pool": POOL, "stats": {},
                               "kind": "params", "makers": ["mutate", "tpe", "random"],
                               "maker_stats": {}}  # fmt: skip
    return {**lane, **over}


def test_the_default_policy_moves_children_to_the_maker_that_beats_the_best() -> None:
    even = _decide(_lane())["makers"]
    assert set(even) == {"mutate", "tpe"}  # random's prior weight is 0
    assert abs(even.count("tpe") - 200) < 40
    stats = {"tpe": {"tries": 20, "wins": 8, "gain": 1.0}, "mutate": {"tries": 20, "wins": 1}}
    leaning = _decide(_lane(maker_stats=stats))["makers"]
    assert leaning.count("tpe") > 300


def test_the_default_policy_chooses_only_available_makers_and_sets_tpe_only_with_tpe() -> None:
    only = _decide(_lane(makers=["mutate"], kind="instructions"))
    assert set(only["makers"]) == {"mutate"} and "settings" not in only
    with_tpe = _decide(_lane())
    assert with_tpe["settings"] == {"tpe": {"startup": 10}}
    none_left = _decide(_lane(makers=["random"]))
    assert set(none_left["makers"]) == {"random"}  # every prior 0: the one maker there


def test_the_step_size_is_chosen_per_kind_of_program() -> None:
    source = default_policy_source().replace("SIGMA_INSTRUCTIONS = 0.5", "SIGMA_INSTRUCTIONS = 2.0")
    assert check_policy(source) == []
    assert _decide(_lane(kind="instructions", makers=["mutate"]), source)["sigma"] == 2.0
    assert _decide(_lane(), source)["sigma"] == 0.5


def test_an_old_request_without_makers_gets_the_mutator() -> None:
    old = {"seed": 3, "children": 5, "arity": 2, "pool": POOL, "stats": {}}
    assert _decide(old)["makers"] == ["mutate"] * 5
