"""The bandit over the members of a mix (``kind = "mix"`` with ``adapt = true``)."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from evoforge import session
from evoforge.archive import SQLiteArchive
from evoforge.candidate import Candidate, Status
from evoforge.config import Direction
from evoforge.proposers import (
    Feedback,
    Proposal,
    ProposalError,
)
from evoforge.proposers._base import ProposerBusy
from evoforge.proposers.bandit import improvement
from evoforge.proposers.mix import MixedProposer
from evoforge.summary import run_summary

from proposer_helpers import FEEDBACK, PARENT, PARENT_RECORD, Fixed


def child_of(proposal: Proposal, cid: int, score: float | None) -> Candidate:
    """The finished child as the loop records it (the proposal's meta lands in ``extra``)."""
    status = Status.SUCCEEDED if score is not None else Status.FAILED
    metrics = {} if score is None else {"score": score}
    return Candidate(cid, f"h{cid}", parent_ids=(1,), operator=proposal.operator,
                     status=status, metrics=metrics, extra=dict(proposal.meta))  # fmt: skip


def run_rounds(mix: MixedProposer, rng: random.Random, rounds: int) -> list[str]:
    """Proposals told back at once: member "good" always beats the parent, "bad" never."""
    drawn = []
    for i in range(rounds):
        proposal = mix.propose([PARENT], FEEDBACK, rng)
        owner = proposal.meta["mix"]
        drawn.append(owner)
        mix.tell(child_of(proposal, i + 2, 0.5 if owner == "good" else -0.5), [PARENT_RECORD],
                 FEEDBACK)  # fmt: skip
    return drawn


def test_the_bandit_shifts_draws_toward_the_member_that_keeps_improving() -> None:
    good, bad = Fixed("good"), Fixed("bad")
    mix = MixedProposer([(bad, 1.0), (good, 1.0)], adapt=True)
    drawn = run_rounds(mix, random.Random(0), 80)
    assert drawn[40:].count("good") >= 36  # the members are still told their own children
    assert len(good.told) + len(bad.told) == 80
    stats = mix.bandit.stats()
    assert stats["good"].wins == stats["good"].tries > 0 and stats["bad"].wins == 0
    assert stats["good"].mean_gain == pytest.approx(0.5)


def test_weights_scale_the_draws_and_exhausted_members_leave_the_draw() -> None:
    mix = MixedProposer([(Fixed("a"), 3.0), (Fixed("b"), 1.0)], adapt=True)
    rng = random.Random(1)
    drawn = [mix.propose([PARENT], FEEDBACK, rng).meta["mix"] for _ in range(600)]
    # No stats yet: P(3u > v) for u, v uniform on [0, 1] is 5/6.
    assert 0.78 < drawn.count("a") / len(drawn) < 0.89
    tired = MixedProposer([(Fixed("a", exhausted=True), 100.0), (Fixed("b"), 1.0)], adapt=True)
    with pytest.raises(ProposalError, match="a spent its budget"):
        tired.propose([PARENT], FEEDBACK, rng)
    assert {tired.propose([PARENT], FEEDBACK, rng).meta["mix"] for _ in range(20)} == {"b"}


def test_a_member_error_is_a_loss_and_busy_passes_through() -> None:
    mix = MixedProposer([(Fixed("broken", fails=ProposalError), 1.0)], adapt=True)
    for _ in range(3):
        with pytest.raises(ProposalError, match="broken: broken wrote nothing usable"):
            mix.propose([PARENT], FEEDBACK, random.Random(0))
    assert mix.state()["mix_bandit"] == {"broken": {"tries": 3, "wins": 0, "gain": 0.0}}
    busy = MixedProposer([(Fixed("llm", fails=ProposerBusy), 1.0)], adapt=True)
    with pytest.raises(ProposerBusy) as caught:
        busy.propose([PARENT], FEEDBACK, random.Random(0))
    assert caught.value.retry_after == 3.0 and busy.bandit.stats() == {}


def test_state_round_trips_and_a_resumed_mix_continues_from_it() -> None:
    good, bad = Fixed("good"), Fixed("bad")
    mix = MixedProposer([(bad, 1.0), (good, 1.0)], adapt=True)
    run_rounds(mix, random.Random(0), 12)
    state = json.loads(json.dumps(mix.state()))
    assert state["good"] == {"told": len(good.told)} and state["bad"] == {"told": len(bad.told)}
    tries = {k: v["tries"] for k, v in state["mix_bandit"].items()}
    assert tries == {"good": len(good.told), "bad": len(bad.told)}
    fresh_good, fresh_bad = Fixed("good"), Fixed("bad")
    resumed = MixedProposer([(fresh_bad, 1.0), (fresh_good, 1.0)], adapt=True)
    resumed.load_state(state)
    assert fresh_good.restored == {"told": len(good.told)}  # member states are read as before
    assert resumed.bandit.state() == mix.bandit.state()
    # Same stats, same generator: the resumed mix draws what the original would have.
    assert run_rounds(resumed, random.Random(7), 10) == run_rounds(mix, random.Random(7), 10)
    assert resumed.state()["mix_bandit"] == mix.state()["mix_bandit"]


def test_without_adapt_the_draw_and_the_state_are_as_before() -> None:
    a, b = Fixed("a"), Fixed("b")
    mix = MixedProposer([(a, 3.0), (b, 1.0)])
    for seed in range(60):
        expected = random.Random(seed).choices(["a", "b"], weights=[3.0, 1.0])[0]
        proposal = mix.propose([PARENT], FEEDBACK, random.Random(seed))
        assert proposal.meta["mix"] == expected
        mix.tell(child_of(proposal, seed + 2, 1.0), [PARENT_RECORD], FEEDBACK)
    assert mix.bandit.stats() == {}
    assert set(mix.state()) == {"a", "b"}
    with pytest.raises(ValueError, match="may not be named 'mix_bandit'"):
        MixedProposer([(Fixed("mix_bandit"), 1.0)]).propose([PARENT], FEEDBACK, random.Random(0))


def test_improvement_is_the_gain_over_the_first_parent() -> None:
    low = Candidate(3, "h3", status=Status.SUCCEEDED, metrics={"score": -1.0})
    assert improvement(low, [PARENT_RECORD], FEEDBACK) == (False, -1.0)
    minimize = Feedback(objective="score", direction=Direction.MINIMIZE)
    assert improvement(low, [PARENT_RECORD], minimize) == (True, 1.0)
    failed = Candidate(4, "h4", status=Status.FAILED, metrics={"score": 9.0})
    assert improvement(failed, [PARENT_RECORD], FEEDBACK) == (False, 0.0)
    assert improvement(low, [], FEEDBACK) is None


def test_a_mix_run_with_adapt_saves_the_members_bandit(minimal_experiment: Path) -> None:
    toml = minimal_experiment / "evoforge.toml"
    text = re.sub(r"candidates = \d+", "candidates = 10", toml.read_text())
    text = text.replace("workers = 2", 'workers = 1\nexecutor = "inline"')
    text = text.replace(
        'kind = "mutate"',
        'kind = "mix"\nadapt = true\nmix = [{ kind = "mutate", weight = 2 }, { kind = "optuna" }]',
    )
    toml.write_text(text + '\n[sandbox]\nlayers = "process"\n')
    outcome = session.start(minimal_experiment)
    assert outcome.reason == "finished" and outcome.stats.evaluated == 10
    archive = SQLiteArchive(outcome.run.archive)
    state = archive.get_meta("proposer_state")
    members = state["mix_bandit"]
    assert set(members) <= {"mutate", "optuna"}
    assert sum(arm["tries"] for arm in members.values()) == 9  # every child but the seed
    assert (
        sum(arm["tries"] for arm in state["mutate"]["bandit"].values())
        == members.get("mutate", {"tries": 0})["tries"]
    )
    rows = dict(run_summary(archive, run_path=str(outcome.run.path)))
    assert any(k.startswith("proposer_") for k in rows)


def test_a_member_whose_children_never_run_pays_for_them() -> None:
    # The loop tells the mix about gate-refused and duplicate children too: a member
    # that keeps writing programs already in the archive loses its draws.
    from dataclasses import replace

    same, good = Fixed("same"), Fixed("good", x=3)
    mix = MixedProposer([(same, 1.0), (good, 1.0)], adapt=True)
    rng, drawn = random.Random(2), []
    for i in range(60):
        proposal = mix.propose([PARENT], FEEDBACK, rng)
        owner = proposal.meta["mix"]
        drawn.append(owner)
        child = child_of(proposal, i + 2, 0.5)
        if owner == "same":
            child = replace(child, status=Status.DUPLICATE, metrics={})
        mix.tell(child, [PARENT_RECORD], FEEDBACK)
    stats = mix.bandit.stats()
    assert stats["same"].tries > 0 and stats["same"].wins == 0
    assert drawn[30:].count("good") >= 27
    assert all(c.status == Status.DUPLICATE for c in same.told)  # the member is told too
