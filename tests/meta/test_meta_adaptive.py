import random
import re
from pathlib import Path

import pytest

from evoforge import session
from evoforge.archive import SQLiteArchive
from evoforge.archive.memory import MemoryArchive
from evoforge.candidate import Candidate, Status
from evoforge.config import ConfigError
from evoforge.meta.adaptive import AdaptiveMutator, PolicySelector
from evoforge.meta.policy import InProcessPolicy, default_policy_source
from evoforge.proposers._base import Feedback, Parent
from evoforge.proposers.mutate import Mutator
from evoforge.selection import AgingTournament
from evoforge.summary import run_summary

PROGRAM = {
    "p.py": "# EVOLVE-BLOCK-START\nX = 1.0  # evolve: float[0, 10]\nF = True  # evolve: bool\n# EVOLVE-BLOCK-END\n"
}
FEEDBACK = Feedback(objective="s", direction="maximize")


def _cand(cid: int, score: float | None, op: str = "step") -> Candidate:
    status = Status.SUCCEEDED if score is not None else Status.FAILED
    metrics = {} if score is None else {"s": score}
    return Candidate(id=cid, code_hash="h", operator=op, status=status, metrics=metrics)


def test_bandit_mutator_learns_persists_and_falls_back() -> None:
    mutator = AdaptiveMutator(Mutator())
    parent = Parent(_cand(1, 0.5), PROGRAM)
    proposal = mutator.propose([parent], FEEDBACK, random.Random(0))
    assert proposal.files != PROGRAM and proposal.operator != "crossover"
    mutator.tell(_cand(2, 0.9, "flip"), [_cand(1, 0.5)], FEEDBACK)
    mutator.tell(_cand(3, None, "step"), [_cand(1, 0.5)], FEEDBACK)
    state = mutator.state()
    assert state == {"bandit": {"flip": {"tries": 1, "wins": 1, "gain": pytest.approx(0.4)},
                                "step": {"tries": 1, "wins": 0, "gain": 0.0}}}  # fmt: skip
    resumed = AdaptiveMutator(Mutator())
    resumed.load_state(state)
    assert resumed.state() == state
    # "list" fits no site of this program: the configured mutator takes over.
    only_list = AdaptiveMutator(Mutator())
    only_list.bandit.load_state({"list": {"tries": 1000, "wins": 1000, "gain": 1.0}})
    assert only_list.propose([parent], FEEDBACK, random.Random(1)).files != PROGRAM


def test_policy_selector_picks_by_the_policy_and_falls_back_when_it_fails() -> None:
    archive = MemoryArchive()
    for score in (0.1, 0.9, 0.4):
        code = archive.put_code({"p.py": f"X = {score}\n"})
        c = archive.add(Candidate(id=0, code_hash=code))
        archive.update(c.id, status=Status.SUCCEEDED, metrics={"s": score}, finished_at=1.0)
    greedy = InProcessPolicy(default_policy_source().replace("GREEDY = 0.0", "GREEDY = 1.0"))
    selector = PolicySelector(greedy, fallback=AgingTournament())
    _, parents = selector.pick(archive, objective="s", maximize=True, rng=random.Random(0), n=2)
    assert [p.metrics["s"] for p in parents] == [0.9, 0.9]
    _, low = selector.pick(archive, objective="s", maximize=False, rng=random.Random(0), n=1)
    assert low[0].metrics["s"] == 0.1
    broken = InProcessPolicy("def decide(request):\n    return 1\n")
    selector = PolicySelector(broken, fallback=AgingTournament())
    _, parents = selector.pick(archive, objective="s", maximize=True, rng=random.Random(0), n=1)
    assert len(parents) == 1 and "lanes" in selector.failed


def _configure(exp: Path, extra: str) -> None:
    toml = exp / "evoforge.toml"
    text = re.sub(r"candidates = \d+", "candidates = 8", toml.read_text())
    text = text.replace("workers = 2", 'workers = 1\nexecutor = "inline"')
    toml.write_text(text + '\n[sandbox]\nlayers = "process"\n' + extra)


def test_a_policy_file_selected_in_a_config_runs_the_experiment(minimal_experiment: Path) -> None:
    policy = default_policy_source().replace("POPULATION = 20", "POPULATION = 6")
    (minimal_experiment / "my_policy.py").write_text(policy)
    _configure(minimal_experiment, '\n[selection]\npolicy = "my_policy.py"\n')
    outcome = session.start(minimal_experiment)
    assert outcome.reason == "finished" and outcome.stats.evaluated == 8
    archive = SQLiteArchive(outcome.run.archive)
    assert "my_policy.py" in archive.get_meta("task_hashes")  # a changed policy stops a resume
    rows = dict(run_summary(archive, run_path=str(outcome.run.path)))
    assert any(k.startswith("operator_") for k in rows)


def test_an_unchecked_policy_file_is_refused(minimal_experiment: Path) -> None:
    bad = default_policy_source().replace("def select(", "import os\n\n\ndef select(")
    (minimal_experiment / "bad.py").write_text(bad)
    _configure(minimal_experiment, '\n[selection]\npolicy = "bad.py"\n')
    with pytest.raises(ConfigError, match="not a usable policy"):
        session.start(minimal_experiment)


def test_adapt_without_the_mutator_is_a_config_error(minimal_experiment: Path) -> None:
    text = (minimal_experiment / "evoforge.toml").read_text()
    text = text.replace('kind = "mutate"', 'kind = "optuna"\nadapt = true')
    (minimal_experiment / "evoforge.toml").write_text(text)
    with pytest.raises(ConfigError, match="adapt"):
        session.start(minimal_experiment)
