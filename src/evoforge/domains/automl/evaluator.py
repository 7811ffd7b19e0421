"""Scoring a candidate during search: cache, then tasks, with hurdles and discards.

Order of work for one candidate:

1. with the functional cache on, fingerprint it (:mod:`.cache`); a hit returns
   the recorded fitness;
2. run the first task; a degenerate first task (runaway or non-finite error, see
   :mod:`.interpreter`) discards the candidate with fitness 0 and no more work;
3. with hurdles on, run up to the hurdle's task count and stop below the bar
   (:mod:`.hurdles`);
4. run the remaining tasks; fitness is the mean task fitness.

Discarding on the first task departs slightly from the paper (which averages a 0
for that task with the others): a learning algorithm that blows up on a task
drawn from the same family is not worth the other nine.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from evoforge.domains.automl.cache import FunctionalCache, fingerprint
from evoforge.domains.automl.hurdles import Hurdle
from evoforge.domains.automl.interpreter import Interpreter
from evoforge.domains.automl.program import Program


@dataclass
class Counts:
    """What happened to candidates; all counters only grow."""

    candidates: int = 0
    """Programs scored, cache hits included."""
    evaluated: int = 0
    """Programs actually run on tasks (cache misses)."""
    cache_hits: int = 0
    hurdle_stops: int = 0
    discarded: int = 0
    """Degenerate on the first task: fitness 0 after a partial run."""
    select_checks: int = 0
    """Runs on the selection tasks of candidates that reached the target."""

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Evaluator:
    """Scores programs on the search tasks; owns the counts, cache and hurdle it is given."""

    def __init__(
        self,
        interpreter: Interpreter,
        *,
        cache: FunctionalCache | None = None,
        hurdle: Hurdle | None = None,
        fec_train: int = 10,
        fec_valid: int = 10,
    ) -> None:
        self.interpreter = interpreter
        self.cache = cache
        self.hurdle = hurdle
        self.fec_train = fec_train
        self.fec_valid = fec_valid
        self.counts = Counts()

    def score(self, program: Program) -> float:
        """Search fitness of ``program`` in [0, 1]."""
        self.counts.candidates += 1
        key = None
        if self.cache is not None:
            key = fingerprint(self.interpreter.predictions(program, self.fec_train, self.fec_valid))
            cached = self.cache.get(key)
            if cached is not None:
                self.counts.cache_hits += 1
                return cached
        self.counts.evaluated += 1
        fitness = self._run(program)
        if self.cache is not None and key is not None:
            self.cache.put(key, fitness)
        return fitness

    def _run(self, program: Program) -> float:
        n = self.interpreter.suite.n_tasks
        hurdle = self.hurdle if self.hurdle is not None and self.hurdle.config.tasks < n else None
        upto = hurdle.config.tasks if hurdle is not None else n
        first = self.interpreter.screen(program, upto)
        if first is None:
            self.counts.discarded += 1
            return 0.0
        total = float(first.sum())
        if hurdle is not None:
            if not hurdle.passes(total / upto):
                self.counts.hurdle_stops += 1
                return total / n
            total += float(self.interpreter.task_fitness(program, upto, n).sum())
        return total / n
