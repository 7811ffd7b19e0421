"""The Optuna proposer: trials become code, scores go back to the study, state survives resume."""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

import pytest

from evoforge.archive import MemoryArchive
from evoforge.candidate import Candidate, Evaluation, Files, Status, code_hash
from evoforge.config import Direction, PromotionSection, TaskSection
from evoforge.executors import InlineExecutor
from evoforge.gates import EvolveRegionGate
from evoforge.governance.audit import AuditLog
from evoforge.governance.promotion import Promoter
from evoforge.governance.run_audit import Audit
from evoforge.loop import Loop
from evoforge.loop_state import Budget
from evoforge.proposers import Feedback, Parent, ProposalError, ProposerExhausted
from evoforge.proposers.optuna import OptunaProposer, sampler_class
from evoforge.proposers.sites import declared_space, find_sites, set_values
from evoforge.runner import Job
from evoforge.selection import AgingTournament

PROGRAM = """\
import math

# EVOLVE-BLOCK-START
MODE = "a"        # evolve: choice["a", "b", "c"]
X = 0.5           # evolve: float[-5.0, 5.0]
LR = 0.01         # evolve: log[1e-4, 1.0]
N = 3             # evolve: int[0, 10]
WIDTH = 16        # evolve: int[4, 512]
FLAG = False      # evolve: bool
SIZES = [8, 8]    # evolve: ints[1, 64] len[1, 3]
OTHER = 7
# EVOLVE-BLOCK-END

print(MODE, X, LR, N, WIDTH, FLAG, SIZES, OTHER)
"""
SEED: Files = {"p.py": PROGRAM}
FEEDBACK = Feedback(objective="score", direction=Direction.MAXIMIZE, seed=SEED)


def values(files: Files) -> dict[str, object]:
    return {s.name: s.value for s in find_sites(files) if s.name}


def seed_parent(score: float = 0.0) -> Parent:
    cand = Candidate(
        id=1,
        code_hash=code_hash(SEED),
        status=Status.SUCCEEDED,
        metrics={"score": score},
        proposer="seed",
    )
    return Parent(cand, SEED)


def finished(cid: int, files: Files, extra: object, score: float | None) -> Candidate:
    return Candidate(
        id=cid,
        code_hash=code_hash(files),
        parent_ids=(1,),
        status=Status.FAILED if score is None else Status.SUCCEEDED,
        metrics={} if score is None else {"score": score},
        extra=extra,  # type: ignore[arg-type]
    )


def test_a_proposal_writes_trial_values_into_the_seeds_code_within_their_specs() -> None:
    proposer = OptunaProposer(sampler="random")
    space = declared_space(SEED)
    seen: set[str] = set()
    for i in range(6):
        proposal = proposer.propose([seed_parent()], FEEDBACK, random.Random(i))
        child = values(proposal.files)
        for name, spec in space.items():
            assert spec.problem(child[name]) is None, (name, child[name])  # type: ignore[arg-type]
        assert child["OTHER"] == 7  # undeclared literals are not Optuna's
        assert proposal.files["p.py"].splitlines()[-1] == PROGRAM.splitlines()[-1]
        assert proposal.operator == "random"
        assert isinstance(proposal.meta["optuna_trial"], int)
        assert proposal.note.startswith(f"trial {proposal.meta['optuna_trial']}: ")
        seen.add(proposal.files["p.py"])
    assert len(seen) == 6


def test_tell_reports_scores_and_failures_to_the_study_with_candidate_ids() -> None:
    proposer = OptunaProposer(sampler="random")
    a = proposer.propose([seed_parent(1.0)], FEEDBACK, random.Random(1))
    b = proposer.propose([seed_parent(1.0)], FEEDBACK, random.Random(2))
    proposer.tell(finished(2, a.files, a.meta, 5.0), [], FEEDBACK)
    proposer.tell(finished(3, b.files, b.meta, None), [], FEEDBACK)
    state = json.loads(json.dumps(proposer.state()))
    by_id = {t["id"]: t for t in state["trials"]}
    told = by_id[a.meta["optuna_trial"]]
    assert (told["state"], told["value"], told["candidate"]) == ("complete", 5.0, 2)
    assert by_id[b.meta["optuna_trial"]]["state"] == "fail"
    # the seed was imported as a completed trial, so the sampler knows it too
    assert [t["candidate"] for t in state["trials"] if t["state"] == "complete"] == [1, 2]
    assert proposer._study is not None and proposer._study.best_value == 5.0


def test_a_child_stopped_at_a_low_rung_is_a_pruned_trial_with_its_rung_results() -> None:
    from dataclasses import replace

    from optuna.trial import TrialState

    proposer = OptunaProposer(sampler="tpe")
    a = proposer.propose([seed_parent(1.0)], FEEDBACK, random.Random(1))
    b_files = set_values(SEED, {"X": 1.234, "N": 9})
    rungs = [{"rung": 0, "ok": True, "metrics": {"score": 0.3}, "goes_on": True},
             {"rung": 1, "ok": True, "metrics": {"score": 0.4}, "goes_on": False}]  # fmt: skip
    stopped = replace(finished(2, a.files, {**a.meta, "rungs": rungs}, None), status=Status.STOPPED)
    proposer.tell(stopped, [], FEEDBACK)
    # another member's child, stopped at the first rung, reaches the study the same way
    other = replace(finished(3, b_files, {"rungs": rungs[:1]}, None), status=Status.STOPPED)
    proposer.learn(other, b_files, FEEDBACK)
    assert proposer._study is not None
    pruned = proposer._study.get_trials(states=(TrialState.PRUNED,))
    assert sorted((t.intermediate_values for t in pruned), key=len) == [{0: 0.3}, {0: 0.3, 1: 0.4}]
    state = json.loads(json.dumps(proposer.state()))
    assert {t["state"] for t in state["trials"] if t["candidate"] in (2, 3)} == {"pruned"}
    again = OptunaProposer(sampler="tpe")  # restored after a resume: still pruned
    again.load_state(state)
    again.propose([seed_parent(1.0)], FEEDBACK, random.Random(5))
    assert again._study is not None
    assert len(again._study.get_trials(states=(TrialState.PRUNED,))) == 2


def test_children_that_never_ran_end_their_trials_without_losing_known_scores() -> None:
    from dataclasses import replace

    proposer = OptunaProposer(sampler="random")
    a, b, c = (proposer.propose([seed_parent(1.0)], FEEDBACK, random.Random(i)) for i in (1, 2, 3))
    proposer.tell(finished(2, a.files, a.meta, 5.0), [], FEEDBACK)
    refused = replace(finished(3, b.files, b.meta, None), status=Status.REJECTED)
    proposer.tell(refused, [], FEEDBACK)
    # c's code turned out to be a's (another member wrote it first): a's score stands
    twin = replace(finished(4, a.files, c.meta, None), status=Status.DUPLICATE)
    proposer.tell(twin, [], FEEDBACK)
    by_id = {t["id"]: t for t in proposer.state()["trials"]}
    assert by_id[b.meta["optuna_trial"]]["state"] == "fail"
    dup = by_id[c.meta["optuna_trial"]]
    assert (dup["state"], dup["value"], dup["candidate"]) == ("complete", 5.0, None)
    assert proposer._known[code_hash(a.files)] == 5.0


def test_programs_already_evaluated_are_never_proposed_again() -> None:
    seed = {"p.py": "# EVOLVE-BLOCK-START\nFLAG = False  # evolve: bool\n# EVOLVE-BLOCK-END\n"}
    feedback = Feedback(objective="score", direction=Direction.MAXIMIZE, seed=seed)
    parent = Parent(
        Candidate(1, code_hash(seed), status=Status.SUCCEEDED, metrics={"score": 0.0}), seed
    )
    proposer = OptunaProposer(sampler="random")
    first = proposer.propose([parent], feedback, random.Random(0))
    assert "FLAG = True" in first.files["p.py"]  # False is the seed's: known, asked again
    with pytest.raises(ProposalError, match="running"):
        proposer.propose([parent], feedback, random.Random(1))  # True is in flight
    proposer.tell(finished(2, first.files, first.meta, 1.0), [], feedback)
    with pytest.raises(ProposalError, match="exhausted"):
        proposer.propose([parent], feedback, random.Random(2))


def test_same_rng_same_proposals_and_unknown_samplers_are_refused() -> None:
    one = OptunaProposer().propose([seed_parent()], FEEDBACK, random.Random(7))
    two = OptunaProposer().propose([seed_parent()], FEEDBACK, random.Random(7))
    assert one.files == two.files
    assert sampler_class("tpe").__name__ == "TPESampler"
    assert sampler_class("QMCSampler").__name__ == "QMCSampler"
    with pytest.raises(ValueError, match="unknown Optuna sampler 'annealing'"):
        sampler_class("annealing")
    with pytest.raises(ProposerExhausted, match="may not set seed"):
        OptunaProposer(sampler_options={"seed": 1}).propose(
            [seed_parent()], FEEDBACK, random.Random()
        )
    with pytest.raises(ProposerExhausted, match="unknown Optuna sampler 'annealing'"):
        OptunaProposer(sampler="annealing").propose([seed_parent()], FEEDBACK, random.Random())


def test_a_program_without_declared_parameters_is_refused_with_why() -> None:
    seed = {"p.py": "# EVOLVE-BLOCK-START\nX = 1\n# EVOLVE-BLOCK-END\n"}
    with pytest.raises(ProposalError, match="no declared parameter"):
        OptunaProposer().propose(
            [], Feedback(objective="s", direction=Direction.MAXIMIZE, seed=seed), random.Random()
        )


# -- in the loop, stopped and resumed ------------------------------------------------------


def target(job: Job) -> Evaluation:
    v = values(job.files)
    if v["N"] == 0:
        return Evaluation(ok=False, failure="exit code 1")
    x, n = v["X"], v["N"]
    assert isinstance(x, float) and isinstance(n, int)
    score = -((x - 1.0) ** 2) - (n - 3) ** 2 + (v["MODE"] == "b") + 0.1 * bool(v["FLAG"])
    return Evaluation(ok=True, metrics={"score": score})


def make_loop(archive: MemoryArchive, proposer: OptunaProposer, stop: object) -> Loop:
    audit = Audit(AuditLog(Path(tempfile.mkdtemp()) / "audit.jsonl"), archive)
    return Loop(
        archive=archive,
        executor=InlineExecutor(target),
        proposer=proposer,
        selector=AgingTournament(population=5, tournament=2),
        gates=[EvolveRegionGate()],
        seed_files=SEED,
        objective="score",
        maximize=True,
        budget=Budget(candidates=24, deadline=None, max_consecutive_rejections=200),
        workers=2,
        promoter=Promoter(
            archive, audit, TaskSection(objective="score"), PromotionSection(reruns=0)
        ),
        audit=audit,
        stop=stop,  # type: ignore[arg-type]
    )


def test_a_stopped_run_resumes_with_the_studys_trials_restored() -> None:
    archive = MemoryArchive()
    polls = {"n": 0}

    def stop_after_a_while() -> str | None:
        polls["n"] += 1
        return "now" if polls["n"] > 12 else None

    first = OptunaProposer(sampler_options={"n_startup_trials": 4})
    assert make_loop(archive, first, stop_after_a_while).run() == "stopped"
    saved = archive.get_meta("proposer_state")
    done_before = [t for t in saved["trials"] if t["state"] != "pending"]
    assert len(done_before) >= 8

    again = OptunaProposer(sampler_options={"n_startup_trials": 4})
    assert make_loop(archive, again, lambda: None).run() == "finished"
    assert again._study is not None
    # every trial finished before the stop is in the rebuilt study, with its value
    restored = {t.value for t in again._study.trials if t.value is not None}
    assert {t["value"] for t in done_before if t["value"] is not None} <= restored
    # each evaluated child maps to exactly one trial, and no trial id was reused
    children = [c for c in archive.candidates() if c.parent_ids and c.status.was_evaluated()]
    trial_ids = [c.extra["optuna_trial"] for c in children]
    assert len(trial_ids) == len(set(trial_ids))
    final = {t["id"]: t for t in archive.get_meta("proposer_state")["trials"]}
    for c in children:
        record = final[c.extra["optuna_trial"]]
        assert record["candidate"] == c.id
        assert record["value"] == (c.metrics["score"] if c.status == Status.SUCCEEDED else None)
    assert not [t for t in final.values() if t["state"] == "pending"]
    best = archive.top("score", maximize=True, limit=1)[0]
    assert best.metrics["score"] > -1.0  # TPE closes in on X=1, N=3, MODE="b"


def test_base_parent_keeps_the_parents_other_edits_and_stale_trials_fail() -> None:
    edited = {"p.py": PROGRAM.replace("OTHER = 7", "OTHER = 9")}
    parent = Parent(
        Candidate(5, code_hash(edited), status=Status.SUCCEEDED, metrics={"score": 1.0}), edited
    )
    proposer = OptunaProposer(sampler="random", base="parent", stale_after=2)
    children = [proposer.propose([parent], FEEDBACK, random.Random(i)) for i in range(4)]
    assert all(values(c.files)["OTHER"] == 9 for c in children)
    states = {t["id"]: t["state"] for t in proposer.state()["trials"]}
    first = children[0].meta["optuna_trial"]
    assert states[first] == "fail"  # never told: failed once newer trials piled up
    assert states[children[-1].meta["optuna_trial"]] == "pending"


def test_a_real_run_with_kind_optuna_stops_and_resumes_from_its_archive(
    minimal_experiment: Path,
) -> None:
    from evoforge import session
    from evoforge.archive import SQLiteArchive
    from evoforge.governance.rundir import RunDir

    exp = minimal_experiment
    text = (exp / "evoforge.toml").read_text().replace("candidates = 40", "candidates = 12")
    text = text.replace('kind = "mutate"', 'kind = "optuna"\n\n[proposer.optuna]\nsampler = "tpe"')
    (exp / "evoforge.toml").write_text(text + '\n[sandbox]\nlayers = "process"\n')

    class StopAfter:
        def update(self, stats: object, finished: object) -> None:
            if getattr(stats, "evaluated", 0) >= 5:
                RunDir(next((exp / "runs").iterdir())).request_stop("now")

    first = session.start(exp, observer=StopAfter())
    assert first.reason == "stopped"
    with SQLiteArchive(first.run.archive, readonly=True) as archive:
        told = [t for t in archive.get_meta("proposer_state")["trials"] if t["state"] != "pending"]
    assert len(told) >= 4
    second = session.resume(first.run)
    assert second.reason == "finished"
    with SQLiteArchive(second.run.archive, readonly=True) as archive:
        children = [c for c in archive.candidates() if c.parent_ids and c.status.was_evaluated()]
        trials = {t["id"]: t for t in archive.get_meta("proposer_state")["trials"]}
    assert len(children) == 11 and all(c.proposer == "optuna" for c in children)
    assert {t["id"] for t in told} <= set(trials)  # the trials before the stop were kept
    assert sorted(trials[c.extra["optuna_trial"]]["candidate"] for c in children) == sorted(
        c.id for c in children
    )


def test_the_gp_sampler_asks_on_one_torch_thread_and_gives_the_threads_back() -> None:
    import optuna
    import torch

    seen: list[int] = []
    real = optuna.Study.ask

    def spy(study: object, *args: object, **kwargs: object) -> object:
        seen.append(torch.get_num_threads())
        return real(study, *args, **kwargs)  # type: ignore[arg-type]

    before = torch.get_num_threads()
    gp = OptunaProposer(sampler="gp")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(optuna.Study, "ask", spy)
        for i in range(3):
            p = gp.propose([seed_parent()], FEEDBACK, random.Random(i))
            gp.tell(finished(i + 2, p.files, p.meta, float(i)), [seed_parent().candidate], FEEDBACK)
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == before
