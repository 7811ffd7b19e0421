import random
from pathlib import Path

import pytest

from evoforge.candidate import Candidate
from evoforge.config import Direction
from evoforge.domains.automl import Interpreter, Memory, Program, TaskSpec, make_tasks
from evoforge.meta.automl_tasks import (
    AUTOML_FILE,
    AutomlProposer,
    RepairScorer,
    from_files,
    repair_space,
    to_files,
)
from evoforge.meta.harness import run_searches
from evoforge.meta.metarun import MetaSettings, run_meta
from evoforge.meta.suite import Scorer, all_tasks, split
from evoforge.policy import InProcessPolicy, default_policy_source
from evoforge.proposers._base import Feedback, Parent, ProposalError

FEEDBACK = Feedback(objective="score", direction=Direction.MAXIMIZE)


def _parent(files: dict[str, str], i: int = 0) -> Parent:
    return Parent(Candidate(id=i, code_hash="", metrics={}), files)


def _seed(name: str = "automl_linear_repair") -> dict[str, str]:
    return all_tasks()[name].files


def test_the_seed_is_a_deterministic_damaged_learner_scored_by_the_interpreter() -> None:
    task = all_tasks()["automl_linear_repair"]
    assert task.repair is not None and task.files == task.files
    scorer = Scorer(task)
    suite = make_tasks(TaskSpec(kind="linear", n_tasks=10, n_features=4))
    direct = Interpreter(suite, Memory()).fitness(from_files(task.files))
    assert scorer.score(task.files) == pytest.approx(direct)
    assert scorer.score(task.files) <= scorer.best() - task.repair.min_drop
    assert scorer.best() > 0.999  # the undamaged SGD learner nearly solves linear tasks
    assert scorer.score({AUTOML_FILE: "not json"}) == 0.0


@pytest.mark.parametrize(
    ("operator", "mutation", "size_change"),
    [("step", "alter_param", 0), ("choice", "randomize_instruction", 0), ("list", "insert", 1),
     ("flip", "remove", -1)],
)  # fmt: skip
def test_children_are_made_by_the_engine_mutation_the_operator_maps_to(
    operator: str, mutation: str, size_change: int
) -> None:
    seed = _seed()
    parent = from_files(seed)
    proposer = AutomlProposer({operator: 1.0, "warp": 5.0}, 0.5, repair_space())
    for i in range(10):
        proposal = proposer.propose([_parent(seed)], FEEDBACK, random.Random(i))
        child = from_files(proposal.files)
        assert proposal.operator == operator and proposal.note == mutation
        assert child != parent
        assert sum(child.sizes) - sum(parent.sizes) == size_change


def test_sigma_is_the_number_of_mutations_and_multi_adds_more() -> None:
    seed = _seed()
    two = AutomlProposer({"step": 1.0}, 2.0, repair_space())
    assert two.propose([_parent(seed)], FEEDBACK, random.Random(0)).note.split() == [
        "alter_param",
        "alter_param",
    ]
    multi = AutomlProposer({"multi": 1.0, "flip": 1.0}, 0.5, repair_space())
    notes = [
        multi.propose([_parent(seed)], FEEDBACK, random.Random(i)) for i in range(20)
    ]  # fmt: skip
    assert any(p.operator == "multi" and len(p.note.split()) in (2, 3) for p in notes)


def test_crossover_mixes_components_of_two_parents_that_differ_in_two() -> None:
    seed = _seed()
    a = from_files(seed)
    b = Program.build(setup=[], predict=[], learn=a.instructions(2))
    one_apart = Program.build(setup=[], predict=a.instructions(1), learn=a.instructions(2))
    proposer = AutomlProposer({"crossover": 1.0}, 0.5, repair_space())
    for other in (a, one_apart):
        with pytest.raises(ProposalError):
            proposer.propose(
                [_parent(seed), _parent(to_files(other), 1)], FEEDBACK, random.Random(0)
            )
    for i in range(5):
        child = proposer.propose(
            [_parent(seed), _parent(to_files(b), 1)], FEEDBACK, random.Random(i)
        )
        c = from_files(child.files)
        assert child.operator == "crossover" and c not in (a, b)
        for part in range(3):
            assert c.instructions(part) in (a.instructions(part), b.instructions(part))


def test_a_repair_lane_improves_under_the_default_policy() -> None:
    decider = InProcessPolicy(default_policy_source())
    tasks = split("automl_digits_repair")
    results = run_searches(decider, tasks, {}, seeds=range(3000, 3012), candidates=48)
    for r in results:
        assert len(r.curve) == 48
        assert all(0.0 <= a <= b <= 1.0 for a, b in zip(r.curve, r.curve[1:], strict=False))
    finals = [r.final for r in results]
    assert max(finals) >= 0.5  # some seed reaches the target ...
    assert min(finals) < 0.5  # ... but not every one: the task separates policies


def test_both_splits_hold_algorithm_discovery_tasks() -> None:
    train, heldout = split("train"), split("heldout")
    assert {"regression", "grid", "automl"} <= {t.kind for t in train}
    assert {"regression", "grid", "automl"} <= {t.kind for t in heldout}
    assert not {t.name for t in train} & {t.name for t in heldout}
    for task in (t for t in train + heldout if t.kind == "automl"):
        assert task.repair is not None
        scorer = RepairScorer(task.name, task.repair)
        assert to_files(scorer.seed_program()) == task.files


def test_a_tiny_meta_run_with_repair_tasks_completes(tmp_path: Path) -> None:
    settings = MetaSettings(
        train="automl_linear_repair", heldout="automl_digits_fix", candidates=3, inner=8,
        seeds=1, accept_seeds=1, workers=1, layers="process",
    )  # fmt: skip
    outcome = run_meta(tmp_path / "meta", settings, log=lambda _: None)
    assert outcome.best_id is not None and outcome.best_train is not None
    assert 0.0 <= outcome.best_train <= 1.0
    assert (tmp_path / "meta" / "meta-result.json").is_file()
