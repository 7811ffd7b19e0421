"""The proposer contract: the errors and signals a proposer raises, the records it is
given and returns, and the defaults of :class:`Proposer`."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from evoforge.candidate import Candidate, Status
from evoforge.config import Direction
from evoforge.proposers import (
    Feedback,
    Parent,
    Proposal,
    ProposalError,
    Proposer,
    ProposerBusy,
    ProposerExhausted,
    ProposerSignal,
)


class Minimal(Proposer):
    """A proposer that defines only what it must."""

    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        return Proposal({"p.py": "X = 1\n"}, "same")


FEEDBACK = Feedback(objective="score", direction=Direction.MAXIMIZE)


def test_a_proposal_error_keeps_a_copy_of_its_meta() -> None:
    meta = {"response": "no diff here", "tokens": 12}
    exc = ProposalError("no edit found", meta=meta)
    meta["tokens"] = 99
    assert str(exc) == "no edit found"
    assert exc.meta == {"response": "no diff here", "tokens": 12}
    assert ProposalError("nothing spent").meta == {}


def test_signals_are_not_proposal_errors() -> None:
    busy = ProposerBusy("every model cools down", retry_after=2.5)
    done = ProposerExhausted("budget spent", meta={"tokens": 7})
    for signal in (busy, done):
        assert isinstance(signal, ProposerSignal)
        assert not isinstance(signal, ProposalError | RuntimeError)
    assert busy.retry_after == 2.5
    assert done.meta == {"tokens": 7} and ProposerExhausted("spent").meta == {}


def test_a_proposer_must_define_propose() -> None:
    class Incomplete(Proposer):
        pass

    with pytest.raises(TypeError, match="propose"):
        Incomplete()  # type: ignore[abstract]


def test_the_defaults_ask_for_one_parent_and_keep_no_state() -> None:
    proposer = Minimal()
    child = Candidate(2, "h2", parent_ids=(1,), status=Status.SUCCEEDED, metrics={"score": 1.0})
    assert proposer.name == "proposer"
    assert proposer.wants_context is False
    assert proposer.operators == ()
    assert proposer.arity == 1
    assert proposer.state() == {}
    assert proposer.progress() == ""
    proposer.tell(child, [], FEEDBACK)
    proposer.observe(child, FEEDBACK)
    proposer.load_state({"ignored": True})
    proposer.close()
    assert proposer.state() == {}


def test_feedback_and_proposals_start_empty_and_never_share_their_defaults() -> None:
    one, two = Feedback("score", Direction.MINIMIZE), Feedback("score", Direction.MINIMIZE)
    assert (one.seed, one.best, one.inspirations, one.recent_failures) == ({}, None, (), ())
    assert one.seed is not two.seed
    proposal = Proposal({"p.py": ""}, "step")
    assert (proposal.note, proposal.meta) == ("", {})
    assert proposal.meta is not Proposal({"p.py": ""}, "step").meta
