"""Policy files run in this process: the check a file must pass, loading it, and its answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from evoforge.policy import (
    InProcessPolicy,
    Lane,
    PolicyError,
    check_policy,
    default_policy_source,
)
from evoforge.policy.inprocess import load_policy_file


def _lane(children: int = 2, size: int = 4) -> Lane:
    pool = [{"id": i, "score": float(i), "operator": "step", "parent": None} for i in range(size)]
    return Lane(seed=1, children=children, arity=2, pool=pool, stats={})


def test_changed_frame_and_forbidden_block_code_are_refused() -> None:
    source = default_policy_source()
    frame = source.replace("def select(", "import os\n\n\ndef select(")
    assert any("frame" in p or "outside" in p for p in check_policy(frame))
    block = source.replace("ADAPT = 0.0", "import subprocess\nADAPT = 0.0")
    assert any("subprocess" in p for p in check_policy(block))
    assert check_policy(source.replace("POPULATION = 20", "POPULATION = 7")) == []


def test_a_policy_that_does_not_parse_is_refused_for_that_alone() -> None:
    problems = check_policy(default_policy_source().replace("POPULATION = 20", "POPULATION = ("))
    assert len(problems) == 1 and "syntax error" in problems[0]


def test_in_process_policy_answers_with_valid_decisions() -> None:
    policy = InProcessPolicy(default_policy_source().replace("GREEDY = 0.0", "GREEDY = 1.0"))
    (decision,) = policy.decide([_lane()])
    assert decision.parents == ((3, 3), (3, 3))  # always the best
    assert decision.sigma == 0.5 and decision.weights["step"] == 3.0


def test_a_policy_that_raises_is_a_policy_error() -> None:
    broken = default_policy_source().replace("POPULATION = 20", "POPULATION = 1 // 0")
    with pytest.raises(PolicyError, match="does not load"):
        InProcessPolicy(broken).decide([_lane()])


def test_a_policy_without_decide_or_whose_decide_raises_is_a_policy_error_naming_it() -> None:
    with pytest.raises(PolicyError, match=r"^mine\.py: the policy defines no decide"):
        InProcessPolicy("decide = 3\n", origin="mine.py").decide([_lane()])
    raising = InProcessPolicy("def decide(request):\n    raise KeyError('lanes')\n")
    with pytest.raises(PolicyError, match=r"decide\(\) raised KeyError\('lanes'\)"):
        raising.decide([_lane()])


def test_the_policy_receives_the_lanes_as_json_and_its_answer_is_checked() -> None:
    echo = (
        "def decide(request):\n"
        "    lane = request['lanes'][0]\n"
        "    last = len(lane['pool']) - 1\n"
        "    return {'lanes': [{'parents': [[last]] * lane['children'],\n"
        "                       'weights': {'step': 1}, 'sigma': 2}]}\n"
    )
    (decision,) = InProcessPolicy(echo).decide([_lane(children=3, size=5)])
    assert decision.parents == ((4,), (4,), (4,)) and decision.sigma == 2.0
    with pytest.raises(PolicyError, match="the answer has 1 lanes, the request 2"):
        InProcessPolicy(echo).decide([_lane(), _lane()])


def test_a_policy_file_is_read_and_checked(tmp_path: Path) -> None:
    good = tmp_path / "policy.py"
    good.write_text(default_policy_source())
    assert load_policy_file(good) == default_policy_source()
    bad = tmp_path / "bad.py"
    bad.write_text(default_policy_source().replace("ADAPT = 0.0", "import socket\nADAPT = 0.0"))
    with pytest.raises(PolicyError, match=r"bad\.py: not a usable policy:\n  .*socket"):
        load_policy_file(bad)
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        load_policy_file(tmp_path / "absent.py")
