"""The default portfolio (``kind = "auto"``): allocation by payoff, members learning from
each other's children, state that resumes to the same proposals."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from evoforge.candidate import Candidate, Files, Status, code_hash
from evoforge.config import Direction
from evoforge.policy import InProcessPolicy, check_policy, default_policy_source
from evoforge.proposers import Feedback, Mutator, Parent, Proposal, ProposalError, Proposer
from evoforge.proposers._base import ProposerBusy
from evoforge.proposers.local import LocalSearch
from evoforge.proposers.optuna import OptunaProposer
from evoforge.proposers.portfolio import STATE_KEY, PortfolioProposer
from evoforge.proposers.sites import find_sites

from proposer_helpers import Fixed

PROGRAM = """\
# EVOLVE-BLOCK-START
X = 0.5           # evolve: float[-5.0, 5.0]
Y = 2.0           # evolve: float[-5.0, 5.0]
N = 3             # evolve: int[0, 10]
# EVOLVE-BLOCK-END
print(X, Y, N)
"""
SEED: Files = {"p.py": PROGRAM}
FEEDBACK = Feedback(objective="score", direction=Direction.MAXIMIZE, seed=SEED)
SEED_RECORD = Candidate(1, code_hash(SEED), status=Status.SUCCEEDED, metrics={"score": -20.0})


def values(files: Files) -> dict[str, object]:
    return {s.name: s.value for s in find_sites(files) if s.name}


def score_of(files: Files) -> float:
    v = values(files)
    x, y, n = (float(v[k]) for k in ("X", "Y", "N"))  # type: ignore[arg-type]
    return -((x - 1.0) ** 2 + (y + 2.0) ** 2 + (n - 7) ** 2)


class Counting(Proposer):
    """A new program each time (X = 0.001 * n); whether it scores well is the test's."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.n = 0

    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        self.n += 1
        return Proposal(
            {
                "p.py": PROGRAM.replace(
                    "X = 0.5", f"X = {self.n / 1000 + sum(map(ord, self.name)) % 7}"
                )
            },
            "count",
        )


def finish(p: Proposal, cid: int, score: float | None, wall: float = 1.0) -> Candidate:
    return Candidate(cid, code_hash(p.files), parent_ids=(1,), operator=p.operator,
                     status=Status.SUCCEEDED if score is not None else Status.FAILED,
                     metrics={} if score is None else {"score": score}, extra=dict(p.meta),
                     wall_s=wall)  # fmt: skip


def test_the_allocation_shifts_toward_the_member_that_improves_the_best() -> None:
    portfolio = PortfolioProposer([Counting("flat"), Counting("climber")])
    rng, drawn, best = random.Random(0), [], 0.0
    for i in range(80):
        p = portfolio.propose([Parent(SEED_RECORD, SEED)], FEEDBACK, rng)
        owner = p.meta[STATE_KEY]
        drawn.append(owner)
        if owner == "climber":
            best += 1.0  # every child of the climber beats the best so far
        portfolio.tell(
            finish(p, i + 2, best if owner == "climber" else -100.0), [SEED_RECORD], FEEDBACK
        )
    assert "flat" in drawn[:20]  # both are tried at the start: no fixed phase
    assert drawn[40:].count("climber") >= 34
    stats = portfolio.bandit.stats()
    assert stats["climber"].total_wins == stats["climber"].total_pulls
    assert stats["flat"].total_wins == 0


def test_improvement_is_paid_per_second_a_slow_member_needs_more_wins() -> None:
    """Two members improve alike; one's children take ten times as long to evaluate."""
    portfolio = PortfolioProposer([Counting("slow"), Counting("fast")])
    rng, drawn, best = random.Random(1), [], 0.0
    for i in range(60):
        p = portfolio.propose([Parent(SEED_RECORD, SEED)], FEEDBACK, rng)
        owner = p.meta[STATE_KEY]
        drawn.append(owner)
        best += 1.0 if i % 2 == 0 else 0.0  # every other child improves, whoever wrote it
        wall = 10.0 if owner == "slow" else 1.0
        portfolio.tell(
            finish(p, i + 2, best if i % 2 == 0 else -100.0, wall), [SEED_RECORD], FEEDBACK
        )
    assert drawn[20:].count("fast") > 2 * drawn[20:].count("slow")


def test_a_member_that_cannot_propose_passes_the_turn_and_costs_it_a_loss() -> None:
    broken, busy, ok = (
        Fixed("broken", fails=ProposalError),
        Fixed("busy", fails=ProposerBusy),
        Fixed("ok", 5),
    )
    portfolio = PortfolioProposer([broken, busy, ok])
    rng = random.Random(3)
    for _ in range(10):
        assert portfolio.propose([Parent(SEED_RECORD, SEED)], FEEDBACK, rng).meta[STATE_KEY] == "ok"
    assert portfolio.bandit.stats()["broken"].total_pulls >= 1  # tried, a loss each time
    assert portfolio.bandit.stats()["busy"].total_pulls == 0  # busy is not a loss
    with pytest.raises(ProposalError, match="broken: broken wrote nothing usable"):
        PortfolioProposer([Fixed("broken", fails=ProposalError)]).propose([], FEEDBACK, rng)
    with pytest.raises(ProposerBusy):
        PortfolioProposer([Fixed("busy", fails=ProposerBusy)]).propose([], FEEDBACK, rng)


def test_names_must_differ() -> None:
    with pytest.raises(ValueError, match="must differ"):
        PortfolioProposer([Fixed("a"), Fixed("a")])


def learned_tpe(children: Sequence[Files]) -> OptunaProposer:
    tpe = OptunaProposer(sampler="tpe", sampler_options={"n_startup_trials": 3})
    for i, files in enumerate(children):
        child = Candidate(i + 2, code_hash(files), parent_ids=(1,), status=Status.SUCCEEDED,
                          metrics={"score": score_of(files)})  # fmt: skip
        tpe.learn(child, files, FEEDBACK)
    return tpe


def test_tpe_told_of_the_mutators_children_models_them_and_samples_differently() -> None:
    mutator, rng = Mutator(), random.Random(5)
    children = [
        dict(mutator.propose([Parent(SEED_RECORD, SEED)], FEEDBACK, rng).files) for _ in range(12)
    ]
    told, untold = learned_tpe(children), learned_tpe([])
    mine = told.propose([Parent(SEED_RECORD, SEED)], FEEDBACK, random.Random(9))
    theirs = untold.propose([Parent(SEED_RECORD, SEED)], FEEDBACK, random.Random(9))
    assert told._study is not None
    completed = [t for t in told._study.trials if t.value is not None]
    assert len(completed) == len({code_hash(c) for c in children}) + 1  # the children and the seed
    assert values(mine.files) != values(theirs.files)


def test_the_portfolio_hands_every_other_members_child_to_tpe_with_its_code() -> None:
    tpe = OptunaProposer(sampler="tpe", sampler_options={"n_startup_trials": 3})
    tpe.name = "tpe"
    local = Mutator()
    local.name = "local"
    portfolio = PortfolioProposer([tpe, local], local=["local"])
    rng = random.Random(2)
    best = Parent(SEED_RECORD, SEED)
    hashes = {SEED_RECORD.code_hash}
    for i in range(20):
        p = portfolio.propose([best], FEEDBACK, rng)
        hashes.add(code_hash(p.files))
        portfolio.tell(finish(p, i + 2, score_of(p.files)), [SEED_RECORD], FEEDBACK)
    owners = portfolio.bandit.stats()
    assert owners["local"].total_pulls > 0 and owners["tpe"].total_pulls > 0
    assert tpe._study is not None
    # every program, whoever wrote it, is one completed trial (the seed as a parent)
    assert len([t for t in tpe._study.trials if t.value is not None]) == len(hashes)


def test_a_duplicate_of_a_running_child_does_not_take_its_code_from_the_samplers() -> None:
    tpe = OptunaProposer(sampler="tpe")
    tpe.name = "tpe"
    same = Fixed("same", 5)
    portfolio = PortfolioProposer([same, tpe])
    first, second = None, None
    rng = random.Random(0)
    while first is None or second is None:  # two proposals of the same program
        p = portfolio.propose([Parent(SEED_RECORD, SEED)], FEEDBACK, rng)
        if p.meta[STATE_KEY] == "same":
            first, second = (p, None) if first is None else (first, p)
        else:
            portfolio.tell(finish(p, 40 + rng.randrange(100), -50.0), [SEED_RECORD], FEEDBACK)
    assert first.files == second.files
    duplicate = replace(finish(second, 90, None), status=Status.DUPLICATE)
    portfolio.tell(duplicate, [SEED_RECORD], FEEDBACK)  # told first: the loop found it running
    portfolio.tell(finish(first, 91, -1.0), [SEED_RECORD], FEEDBACK)
    assert code_hash(first.files) in {t.hash for t in tpe._trials.values() if t.state == "complete"}


def run_rounds(
    portfolio: PortfolioProposer, rng: random.Random, first_id: int, n: int
) -> list[dict[str, object]]:
    out = []
    for i in range(n):
        p = portfolio.propose([Parent(SEED_RECORD, SEED)], FEEDBACK, rng)
        out.append({"member": p.meta[STATE_KEY], **values(p.files)})
        portfolio.tell(finish(p, first_id + i, score_of(p.files), wall=0.1 + (i % 3) / 10),
                       [SEED_RECORD], FEEDBACK)  # fmt: skip
    return out


def fresh() -> PortfolioProposer:
    tpe = OptunaProposer(
        sampler="tpe", sampler_options={"n_startup_trials": 4, "multivariate": True}
    )
    tpe.name = "tpe"
    mutator = Mutator()
    local = LocalSearch(mutator, mutator)
    return PortfolioProposer([tpe, local], local=["local"], cost="candidates")


def test_state_round_trips_so_a_resumed_portfolio_proposes_the_same() -> None:
    going_on, rng = fresh(), random.Random(11)
    run_rounds(going_on, rng, 2, 15)
    saved = json.loads(json.dumps(going_on.state()))  # what the archive keeps
    rng_state = rng.getstate()
    expected = run_rounds(going_on, rng, 17, 10)

    resumed = fresh()
    resumed.load_state(saved)
    rng.setstate(rng_state)
    assert run_rounds(resumed, rng, 17, 10) == expected
    assert {r["member"] for r in expected} == {"tpe", "local"}
    assert resumed.state() == going_on.state()  # the local step width and TPE's trials too


def test_a_child_still_running_at_the_save_is_passed_on_after_the_resume() -> None:
    first, rng = fresh(), random.Random(4)
    run_rounds(first, rng, 2, 6)
    while True:  # leave a child of the local member in flight
        p = first.propose([Parent(SEED_RECORD, SEED)], FEEDBACK, rng)
        if p.meta[STATE_KEY] == "local":
            break
        first.tell(finish(p, 50, score_of(p.files)), [SEED_RECORD], FEEDBACK)
    resumed = fresh()
    resumed.load_state(json.loads(json.dumps(first.state())))
    tpe = resumed.members[0]
    assert isinstance(tpe, OptunaProposer)
    resumed.tell(finish(p, 99, score_of(p.files)), [SEED_RECORD], FEEDBACK)
    assert tpe._study is not None
    assert code_hash(p.files) in {t.hash for t in tpe._trials.values()}


def test_a_real_run_with_kind_auto_stops_resumes_and_shows_its_members(
    minimal_experiment: Path,
) -> None:
    """The template's own proposer, end to end: stop, resume with the portfolio's state,
    and status, the dashboard's overview and the report say which members paid off."""
    from evoforge import session
    from evoforge.archive import SQLiteArchive
    from evoforge.dashboard import api
    from evoforge.dashboard.report import render_report
    from evoforge.governance.rundir import RunDir
    from evoforge.summary import run_summary

    exp = minimal_experiment
    text = (exp / "evoforge.toml").read_text().replace("candidates = 40", "candidates = 16")
    text = text.replace(
        'kind = "mutate"', 'kind = "auto"\n\n[proposer.auto]\nmembers = ["tpe", "local"]'
    )
    (exp / "evoforge.toml").write_text(text + '\n[sandbox]\nlayers = "process"\n')

    class StopAfter:
        def update(self, stats: object, finished: object) -> None:
            if getattr(stats, "evaluated", 0) >= 6:
                RunDir(next((exp / "runs").iterdir())).request_stop("now")

    first = session.start(exp, observer=StopAfter())
    assert first.reason == "stopped"
    with SQLiteArchive(first.run.archive, readonly=True) as archive:
        before = archive.get_meta("proposer_state")[STATE_KEY]["payoff"]
    second = session.resume(first.run)
    assert second.reason == "finished"
    with SQLiteArchive(second.run.archive, readonly=True) as archive:
        state = archive.get_meta("proposer_state")
        children = [c for c in archive.candidates() if c.parent_ids and c.status.was_evaluated()]
        rows = dict(run_summary(archive, run_path="r"))
    after = state[STATE_KEY]["payoff"]
    assert len(children) == 15
    assert {c.operator.split("-")[0] for c in children} <= {"tpe", "local"}
    total = sum(int(m["total_pulls"]) for m in after.values())
    assert total >= len(children) and total > sum(int(m["total_pulls"]) for m in before.values())
    # TPE's model holds every evaluated program, whichever member wrote it
    tpe_done = {t["hash"] for t in state["tpe"]["trials"] if t["state"] != "pending"}
    assert {c.code_hash for c in children if c.status == Status.SUCCEEDED} <= tpe_done
    assert "sigma" in state["local"]
    shown = [k for k in rows if k.startswith("member_")]
    assert shown and set(shown) <= {"member_tpe", "member_local"}
    assert "improved the best" in rows[shown[0]]
    run = RunDir(second.run.path)
    members = api.overview(run)["portfolio"]
    assert {m["member"] for m in members} == {k.removeprefix("member_") for k in shown}
    assert "Search members (which paid off)" in render_report(run)


def test_an_llm_member_on_a_replay_server_shares_the_run_and_the_samplers_learn_its_edits(
    minimal_experiment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kind = "auto" with [proposer.llm]: the LLM joins the portfolio (a real HTTP server
    on loopback, replaying edits), its children are TPE trials too, status names it."""
    import re as re_

    from evoforge import session
    from evoforge.archive import SQLiteArchive
    from evoforge.summary import run_summary
    from evoforge.testing import RecordedRequest, ReplayServer

    target = {"A": "1.5", "B": "-2.0", "C": "0.75"}

    def improve(request: RecordedRequest) -> str:
        program = request.prompt.split("## The program", 1)[1]
        for name, want in target.items():
            m = re_.search(rf"^{name} = (\S+)(.*)$", program, re_.M)
            if m is not None and m.group(1) != want:
                new = f"{name} = {want}{m.group(2)}"
                return f"<<<<<<< SEARCH\n{m.group(0)}\n=======\n{new}\n>>>>>>> REPLACE\n"
        return "Nothing left to improve."

    exp = minimal_experiment
    monkeypatch.setenv("EVOFORGE_PORTFOLIO_KEY", "sk-replay-portfolio")
    with ReplayServer([], default=improve, api_key="sk-replay-portfolio") as server:
        text = (exp / "evoforge.toml").read_text().replace("candidates = 40", "candidates = 14")
        text = text.replace(
            'kind = "mutate"',
            'kind = "auto"\n\n[proposer.auto]\nmembers = ["tpe", "local", "llm"]\n\n'
            f'[proposer.llm]\n[[proposer.llm.models]]\nname = "replay"\nbase_url = "{server.url}"\n'
            'api_key_env = "EVOFORGE_PORTFOLIO_KEY"',
        )
        (exp / "evoforge.toml").write_text(text + '\n[sandbox]\nlayers = "process"\n')
        outcome = session.start(exp)
    assert outcome.reason == "finished"
    with SQLiteArchive(outcome.run.archive, readonly=True) as archive:
        children = [c for c in archive.candidates() if c.parent_ids and c.status.was_evaluated()]
        state = archive.get_meta("proposer_state")
        rows = dict(run_summary(archive, run_path="r"))
    by_llm = [c for c in children if c.operator.startswith("llm-")]
    assert by_llm and server.requests
    tpe_done = {t["hash"] for t in state["tpe"]["trials"] if t["state"] != "pending"}
    assert {c.code_hash for c in by_llm if c.status == Status.SUCCEEDED} <= tpe_done
    assert "member_llm" in rows and "llm_tokens" in rows


def _policy(**values: str) -> InProcessPolicy:
    source = default_policy_source()
    for name, value in values.items():
        source = re.sub(rf"(?m)^{name} = \S+", f"{name} = {value}", source)
    assert check_policy(source) == []
    return InProcessPolicy(source)


def test_a_search_policy_chooses_the_member_and_sets_the_tpe_start_up() -> None:
    tpe = OptunaProposer(sampler="tpe")
    tpe.name = "tpe"
    portfolio = PortfolioProposer(
        [tpe, Counting("local"), Counting("gp")],
        policy=_policy(M_MUTATE="0.0", M_TPE="1.0", TPE_STARTUP="3"),
    )
    rng = random.Random(0)
    chosen = [portfolio.propose([Parent(SEED_RECORD, SEED)], FEEDBACK, rng).meta[STATE_KEY]
              for _ in range(6)]  # fmt: skip
    assert chosen == ["tpe"] * 6  # the bandit alone would have drawn the others too
    assert tpe.sampler_options == {"n_startup_trials": 3}
    local_only = PortfolioProposer([Counting("tpe"), Counting("local")],
                                   policy=_policy(M_TPE="0.0"))  # fmt: skip
    chosen = [local_only.propose([Parent(SEED_RECORD, SEED)], FEEDBACK, rng).meta[STATE_KEY]
              for _ in range(6)]  # fmt: skip
    assert chosen == ["local"] * 6


def test_a_failing_policy_leaves_the_choice_to_the_bandit_with_a_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken = InProcessPolicy(default_policy_source().replace('"makers": chosen', '"makers": 7'))
    portfolio = PortfolioProposer([Counting("tpe"), Counting("local")], policy=broken)
    rng = random.Random(1)
    chosen = {portfolio.propose([Parent(SEED_RECORD, SEED)], FEEDBACK, rng).meta[STATE_KEY]
              for _ in range(20)}  # fmt: skip
    assert chosen == {"tpe", "local"}
    assert "the policy failed, the bandit takes over" in capsys.readouterr().err
    assert "'makers' must name" in portfolio.policy_failed


def test_a_member_that_does_not_apply_leaves_at_the_first_proposal() -> None:
    plain = {"p.py": "# EVOLVE-BLOCK-START\nname = 'x'\n# EVOLVE-BLOCK-END\n"}
    tpe = OptunaProposer(sampler="tpe")
    tpe.name = "tpe"
    local = LocalSearch(Mutator(), Mutator())
    domain = Fixed("automl", 5)
    portfolio = PortfolioProposer([tpe, local, domain], local=["local"])
    feedback = replace(FEEDBACK, seed=plain)
    rng = random.Random(0)
    for _ in range(5):
        assert portfolio.propose([Parent(SEED_RECORD, plain)], feedback, rng).meta[STATE_KEY] == (
            "automl"
        )
    own = portfolio.state()[STATE_KEY]["exhausted"]
    assert own == {
        "tpe": "does not apply to this program: no declared parameter for Optuna to set",
        "local": "does not apply to this program: no mutable site in the program",
    }
    assert portfolio.bandit.stats()["tpe"].total_pulls == 0  # never asked, never a loss


def test_a_busy_member_makes_the_portfolio_wait_even_when_the_others_fail() -> None:
    portfolio = PortfolioProposer([Fixed("broken", fails=ProposalError),
                                   Fixed("search", fails=ProposerBusy)])  # fmt: skip
    with pytest.raises(ProposerBusy):
        portfolio.propose([Parent(SEED_RECORD, SEED)], FEEDBACK, random.Random(0))
