"""Mixing proposers in one run: the weighted draw, the operator and meta naming the member,
tell to the author and observe to the others, state per member, members leaving the mix; and
the config errors of the mix and Optuna sections. The bandit over the members
(``adapt = true``) is in test_mix_bandit.py."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import pytest

from evoforge.candidate import Candidate, Status
from evoforge.config import ConfigError, parse_config
from evoforge.proposers import (
    Feedback,
    Parent,
    Proposal,
    ProposalError,
    Proposer,
    ProposerExhausted,
)
from evoforge.proposers.mix import MixedProposer
from evoforge.proposers.optuna import OptunaProposer

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


class Recorder(Proposer):
    """Wants ``arity`` parents and context; remembers the parents it got; may fail with meta."""

    def __init__(
        self,
        name: str,
        *,
        arity: int = 1,
        context: bool = False,
        line: str = "",
        fail: bool = False,
    ) -> None:
        self.name = name
        self.wants_context = context
        self._arity = arity
        self.line = line
        self.fail = fail
        self.got: list[int] = []
        self.closed = False

    @property
    def arity(self) -> int:
        return self._arity

    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        self.got.append(len(parents))
        if self.fail:
            raise ProposalError("no edit in the answer", meta={"response": "sorry"})
        return Proposal(dict(PARENT.files), "edit", note="n", meta={"model": "m"})

    def progress(self) -> str:
        return self.line

    def close(self) -> None:
        self.closed = True


def test_the_mix_takes_the_most_parents_and_the_context_any_member_wants() -> None:
    one, three = Recorder("one"), Recorder("three", arity=3, context=True)
    mix = MixedProposer([(one, 1.0), (three, 1.0)])
    assert mix.arity == 3 and mix.wants_context
    assert not MixedProposer([(Recorder("a"), 1.0)]).wants_context
    for i in range(30):
        proposal = mix.propose([PARENT] * 3, FEEDBACK, random.Random(i))
        assert proposal.meta == {"model": "m", "mix": proposal.meta["mix"]}
        assert proposal.note == "n"
    assert set(one.got) == {1} and set(three.got) == {3}


def test_a_member_error_names_the_member_and_keeps_its_meta() -> None:
    mix = MixedProposer([(Recorder("llm", fail=True), 1.0)])
    with pytest.raises(ProposalError, match=r"^llm: no edit in the answer$") as caught:
        mix.propose([PARENT], FEEDBACK, random.Random(0))
    assert caught.value.meta == {"response": "sorry", "mix": "llm"}
    plain = MixedProposer([(Fixed("a", fails=ProposalError), 1.0)])
    with pytest.raises(ProposalError) as without:
        plain.propose([PARENT], FEEDBACK, random.Random(0))
    assert without.value.meta == {}


@pytest.mark.parametrize(
    ("members", "why"),
    [
        ([], "at least one proposer"),
        ([(Fixed("a"), 0.0)], "must be positive"),
        ([(Fixed("a"), 1.0), (Fixed("b"), -1.0)], "must be positive"),
        ([(Fixed("a"), float("nan"))], "must be positive"),
    ],
)
def test_a_mix_without_members_or_with_bad_weights_is_refused(
    members: list[tuple[Proposer, float]], why: str
) -> None:
    with pytest.raises(ValueError, match=why):
        MixedProposer(members).propose([PARENT], FEEDBACK, random.Random(0))


def test_progress_joins_the_members_lines_and_close_reaches_every_member() -> None:
    quiet, busy = Recorder("quiet"), Recorder("busy", line="12 trials/s")
    other = Recorder("other", line="3 models cooling")
    mix = MixedProposer([(quiet, 1.0), (busy, 1.0), (other, 1.0)])
    assert mix.progress() == "12 trials/s; 3 models cooling"
    mix.close()
    assert quiet.closed and busy.closed and other.closed


BASE: dict[str, Any] = {
    "program": {"files": ["p.py"], "command": ["{python}", "p.py"]},
    "task": {"objective": "score"},
}


def config(proposer: dict[str, Any]) -> Any:
    return parse_config({**BASE, "proposer": proposer})


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
