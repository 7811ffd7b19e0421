"""Configuration of an algorithm search (immutable; safe to pickle to workers)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from evoforge.domains.automl.hurdles import HurdleConfig
from evoforge.domains.automl.interpreter import MAX_ABS_ERROR
from evoforge.domains.automl.mutate import DEMO_MUTATIONS, MUTATIONS
from evoforge.domains.automl.program import Memory, Program, SearchSpace
from evoforge.domains.automl.tasks import TaskSpec

STRATEGIES = ("evolution", "random")


@dataclass(frozen=True)
class SearchConfig:
    """Everything a search needs; equal configs give identical in-process runs.

    Task sets, as in the paper: ``search_tasks`` drive selection;
    ``select_tasks`` (optional) confirm a candidate that reaches
    ``target_fitness`` before the search counts as solved; ``unseen_tasks``
    (optional) score the final champion once, for the record, and never steer
    the search.

    ``restart_every`` (candidates per island) restarts an island on new search
    tasks with a fresh population, like the paper's demo experiments.
    ``refresh_tasks_every`` (candidates per island) moves an island's population
    to newly generated search tasks and re-scores it, against programs that fit
    the search tasks rather than learn.

    ``round_size`` is how many candidates each island scores between the
    driver's checks: progress report, stop conditions, and migration of each
    island's best ``migrants`` to the next island (a ring). With
    ``processes=True`` each island runs in its own worker process.
    """

    space: SearchSpace = field(default_factory=SearchSpace.demo)
    search_tasks: TaskSpec = field(default_factory=TaskSpec)
    select_tasks: TaskSpec | None = None
    unseen_tasks: TaskSpec | None = None
    strategy: str = "evolution"
    population: int = 1000
    tournament: int = 10
    mutations: tuple[str, ...] = DEMO_MUTATIONS
    mutate_prob: float = 0.9
    islands: int = 1
    processes: bool = False
    round_size: int = 1000
    migrants: int = 5
    max_candidates: int | None = 100_000
    restart_every: int | None = None
    refresh_tasks_every: int | None = None
    max_seconds: float | None = None
    target_fitness: float | None = None
    cache: bool = True
    cache_size: int = 100_000
    fec_train: int = 10
    fec_valid: int = 10
    hurdle: HurdleConfig | None = None
    max_abs_error: float = MAX_ABS_ERROR
    elites: int = 10
    start: tuple[Program, ...] = ()
    """Programs every island's population starts with (a resumed search's elites);
    they set the island's best without being reported as improvements."""
    seed: int = 0

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}")
        if not 1 <= self.tournament <= self.population:
            raise ValueError("tournament must be between 1 and the population size")
        if self.islands < 1 or self.round_size < 1 or self.migrants < 0:
            raise ValueError("islands and round_size must be >= 1, migrants >= 0")
        for every in (self.restart_every, self.refresh_tasks_every):
            if every is not None and every < self.population:
                raise ValueError("restart/refresh intervals must be >= the population size")
        if self.max_candidates is not None and self.max_candidates < 1:
            raise ValueError("max_candidates must be >= 1 (or None for no limit)")
        if set(self.mutations) - set(MUTATIONS):
            raise ValueError(f"mutations must be among {MUTATIONS}")
        for spec in (self.select_tasks, self.unseen_tasks):
            if spec is not None and spec.n_features != self.search_tasks.n_features:
                raise ValueError("all task sets need the same number of features")

    @classmethod
    def demo(cls, seed: int = 0, **overrides: object) -> SearchConfig:
        """The paper's 5-minute demo: rediscover linear regression trained by SGD.

        10 search tasks (4 features, 100 train / 100 valid examples), 6 ops,
        fixed sizes 10/2/8, memory 4/3/1, population 1000, tournament 10,
        mutate probability 0.9; a hit of 0.9999 is confirmed on 100 select tasks
        and reported on 100 unseen tasks (1000 train / 100 valid examples each).
        """
        base = cls(
            search_tasks=TaskSpec(seed=seed),
            select_tasks=TaskSpec(n_tasks=100, n_train=1000, seed=1_000_000 + seed),
            unseen_tasks=TaskSpec(n_tasks=100, n_train=1000, seed=2_000_000),
            target_fitness=0.9999,
            max_candidates=None,
            seed=seed,
        )
        return replace(base, **overrides)  # type: ignore[arg-type]

    @classmethod
    def digits(cls, seed: int = 0, **overrides: object) -> SearchConfig:
        """Projected binary digits: all 64 ops, programs grown from empty.

        Search on 10 tasks over the 36 ``search`` class pairs (16 features,
        240 train / 100 valid examples), choose the champion on 10 select tasks
        (same pairs, new projections), report on 18 tasks over the 9 ``unseen``
        pairs with fresh projections. All five mutation types, population 100,
        a small memory (4 scalars, 3 vectors, 2 matrices: fewer addresses make
        instructions meet more often), hurdles at the median after 2 tasks, and
        new search tasks every 5,000 candidates: with fixed tasks, a fixed
        classifier fitted to those 10 projections beats learning algorithms.
        """
        tasks = TaskSpec(kind="digits", n_tasks=10, n_features=16, n_train=240, n_valid=100)
        base = cls(
            space=SearchSpace.full(Memory(scalars=4, vectors=3, matrices=2)),
            search_tasks=replace(tasks, seed=seed),
            select_tasks=replace(tasks, seed=4_000_000 + seed),
            unseen_tasks=replace(tasks, n_tasks=18, seed=3_000_000, pairs="unseen"),
            mutations=MUTATIONS,
            population=100,
            refresh_tasks_every=5_000,
            hurdle=HurdleConfig(tasks=2, percentile=50.0),
            max_candidates=None,
            seed=seed,
        )
        return replace(base, **overrides)  # type: ignore[arg-type]

    @classmethod
    def nonlinear(cls, seed: int = 0, **overrides: object) -> SearchConfig:
        """Regression on a random teacher network, ``u . relu(W x)``: all 64 ops, grown from empty.

        4 features, 200 train / 100 valid examples per task, one pass of training;
        search on 10 tasks, choose on 10 select tasks, report on 50 unseen tasks
        (new teachers each). The space, population and hurdles are the digits
        preset's; with a fresh teacher per task there is nothing fixed to fit, so
        search tasks are refreshed only to keep the population honest over long runs.
        No target: least squares alone scores well below 1, a network more.
        """
        tasks = TaskSpec(kind="nonlinear", n_tasks=10, n_features=4, n_train=200, n_valid=100)
        preset: dict[str, object] = {
            "search_tasks": replace(tasks, seed=seed),
            "select_tasks": replace(tasks, seed=5_000_000 + seed),
            "unseen_tasks": replace(tasks, n_tasks=50, seed=6_000_000),
            "refresh_tasks_every": 20_000,
        }
        return cls.digits(seed, **{**preset, **overrides})
