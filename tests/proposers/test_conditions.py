"""Conditional parameters: the `when` grammar, which parameters are active, the
program key that ignores inactive ones, and the proposers and loop honouring them."""

from __future__ import annotations

import random
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from evoforge.archive import MemoryArchive
from evoforge.candidate import Candidate, Evaluation, Files, Status, code_hash
from evoforge.config import Direction
from evoforge.executors import InlineExecutor
from evoforge.gates import EvolveRegionGate
from evoforge.loop import Loop
from evoforge.loop_state import Budget
from evoforge.proposers import Feedback, Parent, Proposal, Proposer
from evoforge.proposers.conditions import Condition, split_condition
from evoforge.proposers.mutate import Mutator
from evoforge.proposers.optuna import OptunaProposer
from evoforge.proposers.params import ParamSpecError
from evoforge.proposers.sites import (
    active_sites,
    declared_values,
    find_sites,
    program_key,
    set_values,
)
from evoforge.runner import Job
from evoforge.selection import AgingTournament

PROGRAM = """\
# EVOLVE-BLOCK-START
MODEL = "svm"  # evolve: choice["svm", "gb", "rf"]
MAX_DEPTH = 3  # evolve: int[1, 12] when MODEL in ["gb", "rf"]
C = 1.0  # evolve: log[0.01, 100.0] when MODEL == "svm"
LEAF = 2  # evolve: int[1, 9] when MAX_DEPTH in [3, 4]
# EVOLVE-BLOCK-END
print(MODEL, MAX_DEPTH, C, LEAF)
"""
SEED: Files = {"p.py": PROGRAM}
FEEDBACK = Feedback(objective="score", direction=Direction.MAXIMIZE, seed=SEED)


def _active(files: Files) -> list[str]:
    return [s.name for s in active_sites(find_sites(files))]


def test_the_grammar_reads_in_and_equals_and_says_what_is_wrong() -> None:
    assert split_condition('int[1, 9] when M in ["a", "b"]') == (
        "int[1, 9]",
        Condition("M", ("a", "b")),
    )
    assert split_condition("bool when self.depth == 3")[1] == Condition("self.depth", (3,))
    assert split_condition("float[0.0, 1.0]") == ("float[0.0, 1.0]", None)
    for bad, why in [
        ("int[1, 9] when M ~ 3", "a condition is"),
        ("int[1, 9] when M in [x]", "must be literals"),
        ("int[1, 9] when M in []", "non-empty"),
    ]:
        with pytest.raises(ParamSpecError, match=why):
            split_condition(bad)


def test_a_condition_must_name_a_declared_parameter_and_a_value_it_can_take() -> None:
    for edit, why in [
        ('when MODEL in ["gb", "rf"]', "when NOPE == 1"),
        ('when MODEL in ["gb", "rf"]', 'when MODEL == "lasso"'),
    ]:
        with pytest.raises(ParamSpecError, match=r"p\.py:3: MAX_DEPTH"):
            find_sites({"p.py": PROGRAM.replace(edit, why)})
    cycle = PROGRAM.replace('when MODEL in ["gb", "rf"]', "when LEAF in [2]")
    with pytest.raises(ParamSpecError, match="cycle"):
        find_sites({"p.py": cycle})
    with pytest.raises(ParamSpecError, match="takes no `when`"):
        find_sites({"p.py": PROGRAM.replace("int[1, 9] when", "fixed when")})


def test_activity_follows_the_parents_value_through_a_chain() -> None:
    assert _active(SEED) == ["MODEL", "C"]  # LEAF: its parent MAX_DEPTH is off
    gb = set_values(SEED, {"MODEL": "gb"})
    assert _active(gb) == ["MODEL", "MAX_DEPTH", "LEAF"]
    assert _active(set_values(gb, {"MAX_DEPTH": 7})) == ["MODEL", "MAX_DEPTH"]


def test_programs_that_differ_only_in_inactive_parameters_share_a_key() -> None:
    key = program_key(SEED)
    assert program_key(set_values(SEED, {"MAX_DEPTH": 9, "LEAF": 5})) == key
    assert program_key(set_values(SEED, {"C": 2.0})) != key
    gb = set_values(SEED, {"MODEL": "gb"})
    assert program_key(set_values(gb, {"MAX_DEPTH": 9})) != program_key(gb)
    plain = {"p.py": "# EVOLVE-BLOCK-START\nX = 1  # evolve: int[0, 9]\n# EVOLVE-BLOCK-END\n"}
    assert program_key(plain) == code_hash(plain)


def test_the_mutator_never_changes_an_inactive_parameter() -> None:
    mutator = Mutator(crossover_rate=0.0)
    parent = Parent(Candidate(1, code_hash(SEED), status=Status.SUCCEEDED), SEED)
    for i in range(60):
        child = declared_values(mutator.propose([parent], FEEDBACK, random.Random(i)).files)
        if child["MODEL"] == "svm":  # otherwise MODEL moved (and the others may come on)
            assert (child["MAX_DEPTH"], child["LEAF"]) == (3, 2)


def test_optuna_samples_a_conditional_space_and_leaves_inactive_values_alone() -> None:
    proposer = OptunaProposer(sampler="random")
    parent = Parent(
        Candidate(1, code_hash(SEED), status=Status.SUCCEEDED, metrics={"score": 0}), SEED
    )
    models = set()
    for i in range(30):
        child = declared_values(proposer.propose([parent], FEEDBACK, random.Random(i)).files)
        models.add(child["MODEL"])
        if child["MODEL"] == "svm":
            assert (child["MAX_DEPTH"], child["LEAF"]) == (3, 2)  # not sampled: the seed's
        elif child["MAX_DEPTH"] not in (3, 4):
            assert child["LEAF"] == 2 and child["C"] == 1.0
    assert models == {"svm", "gb", "rf"}
    assert proposer._study is not None
    for trial in proposer._study.trials:
        if trial.params.get("MODEL") == "svm":
            assert "MAX_DEPTH" not in trial.params and "C" in trial.params
        elif "MODEL" in trial.params:
            assert "C" not in trial.params and "MAX_DEPTH" in trial.params


class _OnlyDepth(Proposer):
    """Proposes the seed with MAX_DEPTH changed (inactive under svm), then with C changed."""

    name = "scripted"

    def __init__(self) -> None:
        self.calls = 0

    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        self.calls += 1
        values = {"MAX_DEPTH": 1 + self.calls % 11} if self.calls % 2 else {"C": 1.0 + self.calls}
        return Proposal(set_values(SEED, values), "set")


def test_the_loop_does_not_run_a_child_that_changes_only_inactive_parameters() -> None:
    from evoforge.config import PromotionSection, TaskSection
    from evoforge.governance.audit import AuditLog
    from evoforge.governance.promotion import Promoter
    from evoforge.governance.run_audit import Audit

    archive = MemoryArchive()
    ran: list[Files] = []

    def evaluate(job: Job) -> Evaluation:
        ran.append(dict(job.files))
        c = declared_values(job.files)["C"]
        assert isinstance(c, float)
        return Evaluation(ok=True, metrics={"score": c})

    audit = Audit(AuditLog(Path(tempfile.mkdtemp()) / "audit.jsonl"), archive)
    loop = Loop(
        archive=archive, executor=InlineExecutor(evaluate), proposer=_OnlyDepth(),
        selector=AgingTournament(population=5, tournament=2), gates=[EvolveRegionGate()],
        seed_files=SEED, objective="score", maximize=True,
        budget=Budget(candidates=4, deadline=None, max_consecutive_rejections=50), workers=1,
        promoter=Promoter(archive, audit, TaskSection(objective="score"), PromotionSection(reruns=0)),
        audit=audit,
    )  # fmt: skip
    assert loop.run() == "finished"
    dups = archive.candidates(statuses=[Status.DUPLICATE])
    assert dups and all("only parameters whose `when` fails" in d.failure for d in dups)
    assert all(declared_values(f)["MAX_DEPTH"] == 3 for f in ran)  # none of them ran
    assert len(ran) == 4
