"""The algorithm search as a proposer: what it hands out, its state, its ending."""

from __future__ import annotations

import random
import shutil
import time
from pathlib import Path

import pytest

from evoforge.candidate import Candidate
from evoforge.config import AutoMLSection, Config, ConfigError, Direction, load_config
from evoforge.domains.automl import Program, SearchConfig, TaskSpec
from evoforge.domains.automl.experiment import seed_module
from evoforge.domains.automl.proposer import AlgorithmSearch, build_algorithm_search
from evoforge.program import frame_violations
from evoforge.proposers._base import Feedback, Parent, Proposal, ProposerBusy, ProposerExhausted

SEED = {"algorithm.py": seed_module("linear")}
FEEDBACK = Feedback(objective="val_fitness", direction=Direction.MAXIMIZE, seed=SEED)
PARENT = Parent(Candidate(id=1, code_hash="x"), SEED)
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "algorithm-discovery"


def small(**overrides: object) -> SearchConfig:
    base = SearchConfig.demo(
        seed=0,
        population=100,
        round_size=500,
        max_candidates=3000,
        target_fitness=None,
        select_tasks=TaskSpec(n_tasks=5, seed=11),
        unseen_tasks=None,
        elites=3,
    )
    return SearchConfig(**{**base.__dict__, **overrides})


def drain(proposer: AlgorithmSearch, timeout: float = 90.0) -> tuple[list[Proposal], str]:
    """Every proposal until the proposer is exhausted (and why it ended)."""
    out: list[Proposal] = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            out.append(proposer.propose([PARENT], FEEDBACK, random.Random(0)))
        except ProposerBusy as busy:
            assert busy.retry_after > 0
            time.sleep(0.05)
        except ProposerExhausted as done:
            return out, str(done)
    raise AssertionError("the search did not end")


def test_hands_out_improvements_then_the_champion_and_elites() -> None:
    proposer = AlgorithmSearch(small())
    proposals, why = drain(proposer)
    assert "algorithm budget spent after 3,000 algorithms" in why
    kinds = [p.operator for p in proposals]
    assert kinds[0] == "improvement" and set(kinds) <= {"improvement", "champion", "elite"}
    gains = [p.meta["search_fitness"] for p in proposals if p.operator == "improvement"]
    assert gains == sorted(gains) and len(set(gains)) == len(gains)  # each a new best
    state = proposer.state()
    assert state["improvements"] == len(gains) + state["superseded"]
    assert len({p.files["algorithm.py"] for p in proposals}) == len(proposals)  # no repeats
    for p in proposals:
        assert frame_violations(SEED, dict(p.files)) == []  # only the evolve block differs
        Program.from_json(p.meta["program"])  # the exact program is kept
        assert p.meta["view"] == "blocks"
    state = proposer.state()
    assert state["algorithms"]["candidates"] == 3000
    assert state["stop_reason"] == "budget" and 1 <= len(state["elites"]) <= 3
    assert "search ended (budget): 3,000 algorithms" in proposer.progress()


def test_a_resumed_search_carries_counts_and_elites_over() -> None:
    first = AlgorithmSearch(small())
    drain(first)
    saved = dict(first.state())
    saved.pop("stop_reason")  # as if the run had stopped before the search ended
    resumed = AlgorithmSearch(small(max_candidates=5000))
    resumed.load_state(saved)
    config = resumed._resumed_config()
    assert config is not None and config.max_candidates == 2000
    assert len(config.start) == len(saved["elites"])
    assert saved["sessions"] == 1 and config.seed != small().seed  # fresh random streams
    proposals, why = drain(resumed)
    assert "after 5,000 algorithms" in why
    best_before = saved["best_search_fitness"]
    # the elites seed the islands: only what beats them is an improvement
    assert all(
        p.meta["search_fitness"] > best_before for p in proposals if p.operator == "improvement"
    )


def test_a_finished_search_is_not_restarted_on_resume() -> None:
    proposer = AlgorithmSearch(small())
    proposer.load_state({"stop_reason": "target", "algorithms": {"candidates": 10}})
    with pytest.raises(ProposerExhausted, match="target reached after 10 algorithms"):
        proposer.propose([PARENT], FEEDBACK, random.Random(0))


def test_close_stops_a_running_search() -> None:
    proposer = AlgorithmSearch(small(max_candidates=None, max_seconds=None))
    with pytest.raises(ProposerBusy):
        proposer.propose([PARENT], FEEDBACK, random.Random(0))
    deadline = time.time() + 60
    while not proposer.progress().startswith("search:") or "starting" in proposer.progress():
        assert time.time() < deadline
        time.sleep(0.1)
    began = time.time()
    proposer.close()
    assert time.time() - began < 30
    assert proposer._thread is not None and not proposer._thread.is_alive()
    assert proposer.state()["stop_reason"] == "stopped"


def search(section: AutoMLSection, config: Config, experiment: Path) -> AlgorithmSearch:
    return build_algorithm_search(
        section,
        experiment,
        program=config.program,
        task=config.task,
        seed=config.experiment.seed,
    )


def test_the_config_must_match_the_program(tmp_path: Path) -> None:
    config = load_config(EXAMPLE)
    section = AutoMLSection(preset="digits")  # the example's module is the linear one
    with pytest.raises(ConfigError, match="is not a 'digits' algorithm module"):
        search(section, config, EXAMPLE)
    with pytest.raises(ConfigError, match="not one of \\[program\\] files"):
        search(AutoMLSection(file="other.py"), config, EXAMPLE)
    built = search(
        AutoMLSection(islands=2, max_minutes=1.5, max_algorithms=99, target=0.99), config, EXAMPLE
    )
    assert (built.config.islands, built.config.max_seconds) == (2, 90.0)
    assert (built.config.max_candidates, built.config.target_fitness) == (99, 0.99)


def test_the_task_must_score_the_same_preset(tmp_path: Path) -> None:
    exp = tmp_path / "exp"
    shutil.copytree(EXAMPLE, exp, ignore=shutil.ignore_patterns("runs", "__pycache__"))
    task = exp / "task.py"
    task.write_text(task.read_text().replace('preset="linear"', 'preset="digits"'))
    with pytest.raises(ConfigError, match=r"scores the 'digits' preset but .* preset = 'linear'"):
        search(AutoMLSection(), load_config(exp), exp)
