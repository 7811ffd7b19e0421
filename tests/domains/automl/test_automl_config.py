"""The search configuration: its checks, its presets, and that it travels to workers."""

from __future__ import annotations

import pickle

import pytest

from evoforge.domains.automl.config import SearchConfig
from evoforge.domains.automl.hurdles import HurdleConfig
from evoforge.domains.automl.mutate import DEMO_MUTATIONS, MUTATIONS
from evoforge.domains.automl.program import Memory, linear_regression_sgd
from evoforge.domains.automl.tasks import TaskSpec


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="strategy"):
        SearchConfig(strategy="annealing")
    with pytest.raises(ValueError, match="tournament"):
        SearchConfig(population=5, tournament=10)
    with pytest.raises(ValueError, match="features"):
        SearchConfig(unseen_tasks=TaskSpec(n_features=8))
    assert SearchConfig.demo(3).search_tasks.seed == 3
    assert SearchConfig.digits().search_tasks.kind == "digits"
    nonlinear = SearchConfig.nonlinear(2, population=50)
    assert {s.kind for s in (nonlinear.search_tasks, nonlinear.unseen_tasks)} == {"nonlinear"}  # type: ignore[union-attr]
    assert nonlinear.space == SearchConfig.digits().space and nonlinear.population == 50


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"islands": 0}, "islands and round_size"),
        ({"round_size": 0}, "islands and round_size"),
        ({"migrants": -1}, "migrants >= 0"),
        ({"max_candidates": 0}, "max_candidates"),
        ({"population": 100, "tournament": 10, "refresh_tasks_every": 99}, "refresh intervals"),
        ({"mutations": ("insert", "teleport")}, "mutations must be among"),
        ({"select_tasks": TaskSpec(n_features=3)}, "same number of features"),
    ],
)
def test_a_config_that_cannot_run_is_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SearchConfig(**changes)  # type: ignore[arg-type]


def test_limits_at_their_bounds_are_accepted() -> None:
    config = SearchConfig(
        population=10, tournament=10, restart_every=10, migrants=0, max_candidates=None
    )
    assert config.tournament == config.population and config.max_candidates is None


def test_the_demo_preset_confirms_on_select_tasks_and_reports_on_fixed_unseen_ones() -> None:
    first, other = SearchConfig.demo(0), SearchConfig.demo(5)
    assert first.target_fitness == 0.9999 and first.max_candidates is None
    assert first.mutations == DEMO_MUTATIONS and first.population == 1000
    assert first.select_tasks is not None and other.select_tasks is not None
    assert (first.select_tasks.n_tasks, first.select_tasks.n_train) == (100, 1000)
    assert first.select_tasks.seed != other.select_tasks.seed
    assert first.unseen_tasks == other.unseen_tasks
    assert SearchConfig.demo(0, population=20, tournament=4).population == 20


def test_the_digits_preset_uses_every_mutation_hurdles_and_refreshed_tasks() -> None:
    config = SearchConfig.digits(1)
    assert config.mutations == MUTATIONS and config.population == 100
    assert config.hurdle == HurdleConfig(tasks=2, percentile=50.0)
    assert config.refresh_tasks_every == 5_000 and config.target_fitness is None
    assert config.space.memory == Memory(scalars=4, vectors=3, matrices=2)
    assert config.unseen_tasks is not None and config.unseen_tasks.pairs == "unseen"
    assert config.search_tasks.seed == 1 and config.search_tasks.n_features == 16


def test_overrides_win_over_the_nonlinear_preset() -> None:
    assert SearchConfig.nonlinear().refresh_tasks_every == 20_000
    assert SearchConfig.nonlinear(refresh_tasks_every=None).refresh_tasks_every is None
    unseen = SearchConfig.nonlinear().unseen_tasks
    assert unseen is not None and unseen.n_tasks == 50


def test_a_config_pickles_to_an_equal_config() -> None:
    config = SearchConfig.digits(3, start=(linear_regression_sgd(0.1),), islands=2)
    restored = pickle.loads(pickle.dumps(config))
    assert restored == config and restored.start == config.start
