"""Mixing proposers in one run, and the config that builds the mix and the Optuna proposer."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from evoforge.candidate import Candidate, Status
from evoforge.config import ConfigError, parse_config
from evoforge.proposers import (
    Mutator,
    ProposalError,
    ProposerExhausted,
)
from evoforge.proposers.mix import MixedProposer
from evoforge.proposers.optuna import OptunaProposer
from evoforge.session import build_proposer

from proposer_helpers import FEEDBACK, PARENT, Fixed


def test_members_are_drawn_by_weight_and_named_in_the_operator() -> None:
    a, b = Fixed("a", 2), Fixed("b", 3)
    mix = MixedProposer([(a, 3.0), (b, 1.0)])
    ops = [mix.propose([PARENT], FEEDBACK, random.Random(i)).operator for i in range(400)]
    assert set(ops) == {"a-set", "b-set"}
    assert 0.65 < ops.count("a-set") / len(ops) < 0.85
    assert mix.operators == ("a-set", "b-set")
    assert mix.propose([PARENT], FEEDBACK, random.Random(0)).meta["mix"] in ("a", "b")


def test_tell_goes_to_the_author_with_its_operator_and_state_is_per_member() -> None:
    a, b = Fixed("a", 2), Fixed("b", 3)
    optuna = OptunaProposer(sampler="random")
    mix = MixedProposer([(a, 1.0), (b, 1.0), (optuna, 1.0)])
    child = Candidate(2, "h2", parent_ids=(1,), operator="b-set", status=Status.SUCCEEDED,
                      metrics={"score": 4.0}, extra={"mix": "b"})  # fmt: skip
    mix.tell(child, [], FEEDBACK)
    assert not a.told and [c.operator for c in b.told] == ["set"]
    assert optuna.state()["known"] == {"h2": 4.0}  # observed, though not its own child
    state = mix.state()
    assert state["b"] == {"told": 1} and "optuna" in state
    fresh_a, fresh_b = Fixed("a", 2), Fixed("b", 3)
    MixedProposer([(fresh_a, 1.0), (fresh_b, 1.0)]).load_state(state)
    assert fresh_b.restored == {"told": 1} and fresh_a.restored == {"told": 0}


def test_an_exhausted_member_leaves_the_mix_and_the_last_one_ends_it() -> None:
    mix = MixedProposer([(Fixed("a", 2, exhausted=True), 1.0), (Fixed("b", 3), 1e-9)])
    with pytest.raises(ProposalError, match="a: a spent its budget"):
        mix.propose([PARENT], FEEDBACK, random.Random(0))
    assert mix.propose([PARENT], FEEDBACK, random.Random(0)).operator == "b-set"
    alone = MixedProposer([(Fixed("a", 2, exhausted=True), 1.0)])
    with pytest.raises(ProposerExhausted, match="every proposer of the mix"):
        alone.propose([PARENT], FEEDBACK, random.Random(0))
    with pytest.raises(ValueError, match="named twice"):
        MixedProposer([(Fixed("a", 2), 1.0), (Fixed("a", 3), 1.0)]).propose(
            [PARENT], FEEDBACK, random.Random(0)
        )


BASE: dict[str, Any] = {
    "program": {"files": ["p.py"], "command": ["{python}", "p.py"]},
    "task": {"objective": "score"},
}


def config(proposer: dict[str, Any]) -> Any:
    return parse_config({**BASE, "proposer": proposer})


def test_config_builds_the_optuna_proposer_and_mixes() -> None:
    built = build_proposer(
        config({"kind": "optuna", "optuna": {"sampler": "random", "base": "parent"}}), Path(".")
    )
    assert isinstance(built, OptunaProposer)
    assert (built.sampler, built.base) == ("random", "parent")
    assert isinstance(build_proposer(config({"kind": "optuna"}), Path(".")), OptunaProposer)
    mix = build_proposer(
        config({"kind": "mix", "mix": [{"kind": "mutate", "weight": 2}, {"kind": "optuna"}]}),
        Path("."),
    )
    assert isinstance(mix, MixedProposer)
    assert [(type(p), w) for p, w in mix.members] == [(Mutator, 2.0), (OptunaProposer, 1.0)]


@pytest.mark.parametrize(
    ("proposer", "error"),
    [
        ({"kind": "mutate", "optuna": {}}, r'\[proposer.optuna\] is set but kind = "mutate"'),
        ({"kind": "optuna", "optuna": {"options": {"seed": 3}}}, "seeded from experiment.seed"),
        ({"kind": "optuna", "optuna": {"sampler": "tpe!"}}, "proposer.optuna.sampler"),
        ({"kind": "optuna", "optuna": {"smapler": "tpe"}}, "proposer.optuna.smapler: unknown key"),
        ({"kind": "mix"}, "naming each proposer kind once"),
        ({"kind": "mix", "mix": [{"kind": "optuna"}, {"kind": "optuna"}]}, "once"),
        ({"kind": "mutate", "mix": [{"kind": "optuna"}]}, 'mix is set but kind = "mutate"'),
        ({"kind": "mix", "mix": [{"kind": "llm"}]}, r"needs a \[proposer.llm\] table"),
    ],
)
def test_config_errors_name_the_key_and_the_fix(proposer: dict[str, Any], error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        config(proposer)
