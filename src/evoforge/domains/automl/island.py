"""One island of the search: regularized (aging) evolution or random search.

Regularized evolution (Real et al. 2019, as used by AutoML-Zero): the population
is a ring of the ``population`` most recent candidates. Each step draws
``tournament`` members uniformly, mutates the fittest into a child, scores it and
puts it in place of the oldest member, so every individual dies of age, however
fit. The first ``population`` candidates are random programs. Random search
scores a fresh random program at every step instead (the paper's baseline).
With ``restart_every``, an island starts over after that many candidates, with
new search tasks, like the paper's demo, which runs experiments of 1M candidates
until one succeeds: a population stuck on a local optimum is not worth keeping.
With ``refresh_tasks_every``, the population moves to new search tasks instead,
re-scored there, so that fitting the search tasks themselves does not pay.

An island owns its random generator, evaluator, functional cache and hurdle; it
runs in the driver's process or alone in a worker process (``island_worker``).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection

from evoforge.domains.automl.cache import FunctionalCache
from evoforge.domains.automl.config import SearchConfig
from evoforge.domains.automl.evaluator import Counts, Evaluator
from evoforge.domains.automl.hurdles import Hurdle
from evoforge.domains.automl.interpreter import Interpreter
from evoforge.domains.automl.mutate import Mutator
from evoforge.domains.automl.program import Program, random_program
from evoforge.domains.automl.tasks import TaskSpec, make_tasks


@dataclass(frozen=True)
class Improvement:
    """A candidate that beat its island's best so far."""

    island: int
    candidate: int
    """1-based count of candidates scored on that island when it appeared."""
    fitness: float
    program: Program
    elapsed_s: float


@dataclass(frozen=True)
class Solved:
    """A candidate that reached the target (confirmed on the select tasks if any)."""

    program: Program
    fitness: float
    select_fitness: float | None


@dataclass
class IslandReport:
    """What an island tells the driver after a round."""

    island: int
    counts: Counts
    """Cumulative over the island's life."""
    best_fitness: float
    best: Program | None
    improvements: list[Improvement] = field(default_factory=list)
    """New since the previous report."""
    solved: Solved | None = None
    emigrants: list[tuple[Program, float]] = field(default_factory=list)
    elites: list[tuple[Program, float]] = field(default_factory=list)


class Island:
    """Live state of one island. Build with :meth:`create`."""

    def __init__(
        self,
        config: SearchConfig,
        index: int,
        evaluator: Evaluator,
        select: Interpreter | None,
        rng: random.Random,
        start_time: float,
    ) -> None:
        self.config = config
        self.index = index
        self.evaluator = evaluator
        self.select = select
        self.rng = rng
        self.start_time = start_time
        self.mutator = Mutator(config.space, config.mutations, config.mutate_prob)
        self.programs: list[Program] = []
        self.fitnesses: list[float] = []
        self.oldest = 0
        self.best: Program | None = None
        self.best_fitness = -1.0
        self.solved: Solved | None = None
        self._new: list[Improvement] = []
        self._rejected: set[float] = set()
        self.restarts = 0
        self.since_restart = 0
        self.task_sets = 0
        self.since_refresh = 0

    @classmethod
    def create(cls, config: SearchConfig, index: int, start_time: float) -> Island:
        """An island with its tasks built and an empty population."""
        memory = config.space.memory
        evaluator = _evaluator(config, config.search_tasks)
        select = None
        if config.select_tasks is not None and config.target_fitness is not None:
            select = Interpreter(
                make_tasks(config.select_tasks), memory, max_abs_error=config.max_abs_error
            )
        rng = random.Random(config.seed * 1_000_003 + index)
        island = cls(config, index, evaluator, select, rng, start_time)
        for program in config.start:
            fitness = evaluator.score(program)
            island._insert(program, fitness)
            if fitness > island.best_fitness:
                island.best, island.best_fitness = program, fitness
        return island

    def run(self, n: int) -> IslandReport:
        """Score ``n`` candidates (fewer if the target is reached) and report."""
        for _ in range(n):
            self.step()
            if self.solved is not None:
                break
        return self.report()

    def step(self) -> None:
        config = self.config
        if config.restart_every is not None and self.since_restart >= config.restart_every:
            self.restart()
        refresh = config.refresh_tasks_every
        if refresh is not None and self.since_refresh >= refresh and self.programs:
            self.refresh_tasks()
        self.since_restart += 1
        self.since_refresh += 1
        if config.strategy == "random":
            child = random_program(config.space, self.rng)
        elif len(self.programs) < config.population:
            child = self._newcomer()
        else:
            child, _ = self.mutator.mutate(self._tournament(), self.rng)
        fitness = self.evaluator.score(child)
        self._insert(child, fitness)
        if fitness > self.best_fitness:
            self.best, self.best_fitness = child, fitness
            self._new.append(
                Improvement(
                    self.index,
                    self.evaluator.counts.candidates,
                    fitness,
                    child,
                    time.time() - self.start_time,
                )
            )
        target = config.target_fitness
        if target is not None and fitness >= target and fitness not in self._rejected:
            self._check_target(child, fitness, target)

    def _newcomer(self) -> Program:
        """A member of a population still filling up: random, or, in a search resumed
        from elites and before any restart, a mutant of one of them. (Elites put in
        among random programs would be the oldest, the first to die, and would leave
        no line behind: a resumed search would start over.)"""
        if self.config.start and not self.restarts:
            child, _ = self.mutator.mutate(self.rng.choice(self.config.start), self.rng)
            return child
        return random_program(self.config.space, self.rng)

    def restart(self) -> None:
        """Start over, as the paper's demo starts a new experiment: fresh search tasks,
        cache and hurdle, and a new random population. Counts and best-ever remain."""
        self.restarts += 1
        self._new_tasks()
        self.programs, self.fitnesses, self.oldest = [], [], 0
        self.since_restart = 0

    def refresh_tasks(self) -> None:
        """Move the population to fresh search tasks and re-score every member there.

        Against meta-overfitting: a program that scores by fitting the particular
        search tasks (a fixed classifier, say) loses its edge when they change; a
        learning algorithm keeps it.
        """
        self._new_tasks()
        self.fitnesses = [self.evaluator.score(p) for p in self.programs]
        if self.best is not None:  # the bar, too, is measured on the new tasks
            self.best_fitness = self.evaluator.score(self.best)
        self.since_refresh = 0

    def _new_tasks(self) -> None:
        self.task_sets += 1
        base = self.config.search_tasks
        spec = replace(base, seed=base.seed + 100_003 * self.task_sets + 1_009 * self.index)
        counts = self.evaluator.counts
        self.evaluator = _evaluator(self.config, spec)
        self.evaluator.counts = counts
        self._rejected.clear()

    def accept(self, migrants: list[tuple[Program, float]]) -> None:
        """Add migrants as the newest members (they replace the oldest)."""
        for program, fitness in migrants:
            self._insert(program, fitness)

    def top(self, k: int) -> list[tuple[Program, float]]:
        """The ``k`` fittest distinct members, best first."""
        order = sorted(range(len(self.programs)), key=self.fitnesses.__getitem__, reverse=True)
        seen: set[Program] = set()
        out: list[tuple[Program, float]] = []
        for i in order:
            if self.programs[i] not in seen:
                seen.add(self.programs[i])
                out.append((self.programs[i], self.fitnesses[i]))
                if len(out) == k:
                    break
        return out

    def report(self, *, final: bool = False) -> IslandReport:
        new, self._new = self._new, []
        return IslandReport(
            island=self.index,
            counts=Counts(**self.evaluator.counts.as_dict()),
            best_fitness=self.best_fitness,
            best=self.best,
            improvements=new,
            solved=self.solved,
            emigrants=self.top(self.config.migrants) if self.config.islands > 1 else [],
            elites=self.top(self.config.elites) if final else [],
        )

    def _tournament(self) -> Program:
        """The fittest of ``tournament`` members drawn with replacement (first wins ties)."""
        fitnesses, draw, size = self.fitnesses, self.rng.random, len(self.programs)
        winner = int(draw() * size)
        for _ in range(self.config.tournament - 1):
            pick = int(draw() * size)
            if fitnesses[pick] > fitnesses[winner]:
                winner = pick
        return self.programs[winner]

    def _insert(self, program: Program, fitness: float) -> None:
        if len(self.programs) < self.config.population:
            self.programs.append(program)
            self.fitnesses.append(fitness)
            return
        self.programs[self.oldest] = program
        self.fitnesses[self.oldest] = fitness
        self.oldest = (self.oldest + 1) % self.config.population

    def _check_target(self, program: Program, fitness: float, target: float) -> None:
        if self.select is None:
            self.solved = Solved(program, fitness, None)
            return
        # Functionally equivalent programs share a cached fitness bit for bit, so a
        # rejected value never needs a second (costly) look.
        self.evaluator.counts.select_checks += 1
        select_fitness = self.select.fitness(program)
        if select_fitness >= target:
            self.solved = Solved(program, fitness, select_fitness)
        else:
            self._rejected.add(fitness)


def _evaluator(config: SearchConfig, spec: TaskSpec) -> Evaluator:
    interpreter = Interpreter(
        make_tasks(spec), config.space.memory, max_abs_error=config.max_abs_error
    )
    return Evaluator(
        interpreter,
        cache=FunctionalCache(config.cache_size) if config.cache else None,
        hurdle=Hurdle(config.hurdle) if config.hurdle is not None else None,
        fec_train=config.fec_train,
        fec_valid=config.fec_valid,
    )


def island_worker(config: SearchConfig, index: int, start_time: float, conn: Connection) -> None:
    """Worker-process loop: ("run", n, migrants) -> report; ("stop",) -> final report."""
    island = Island.create(config, index, start_time)
    while True:
        message = conn.recv()
        if message[0] == "stop":
            conn.send(island.report(final=True))
            return
        _, n, migrants = message
        island.accept(migrants)
        conn.send(island.run(n))
