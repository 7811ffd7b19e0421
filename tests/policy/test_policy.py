import pytest

from evoforge.policy import (
    InProcessPolicy,
    Lane,
    PolicyError,
    check_policy,
    default_policy_source,
    read_answer,
)


def _lane(children: int = 2, size: int = 4) -> Lane:
    pool = [{"id": i, "score": float(i), "operator": "step", "parent": None} for i in range(size)]
    return Lane(seed=1, children=children, arity=2, pool=pool, stats={})


def test_the_shipped_default_is_a_valid_policy() -> None:
    assert check_policy(default_policy_source()) == []


def test_changed_frame_and_forbidden_block_code_are_refused() -> None:
    source = default_policy_source()
    frame = source.replace("def select(", "import os\n\n\ndef select(")
    assert any("frame" in p or "outside" in p for p in check_policy(frame))
    block = source.replace("ADAPT = 0.0", "import subprocess\nADAPT = 0.0")
    assert any("subprocess" in p for p in check_policy(block))
    assert check_policy(source.replace("POPULATION = 20", "POPULATION = 7")) == []


def test_in_process_policy_answers_with_valid_decisions() -> None:
    policy = InProcessPolicy(default_policy_source().replace("GREEDY = 0.0", "GREEDY = 1.0"))
    (decision,) = policy.decide([_lane()])
    assert decision.parents == ((3, 3), (3, 3))  # always the best
    assert decision.sigma == 0.5 and decision.weights["step"] == 3.0


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


def test_a_policy_that_raises_is_a_policy_error() -> None:
    broken = default_policy_source().replace("POPULATION = 20", "POPULATION = 1 // 0")
    with pytest.raises(PolicyError, match="does not load"):
        InProcessPolicy(broken).decide([_lane()])


def test_the_shipped_meta_evolved_policy_passes_the_checks() -> None:
    from importlib import resources

    evolved = resources.files("evoforge.policy").joinpath("shipped/evolved.py").read_text()
    assert evolved != default_policy_source()
    assert check_policy(evolved) == []
