"""The driver of an algorithm search: islands, rounds, migration, stopping.

Reads top to bottom: start the islands (in this process, or one worker process
per island), then repeat rounds: every island scores up to ``round_size``
candidates, the driver merges counts and improvements, reports progress, checks
the stop conditions (target reached, candidate budget, time, ``should_stop``),
and sends each island's best ``migrants`` to the next island. At the end it
collects elites and scores the champion on the unseen tasks.

What is worth recording, and what is not: a search scores millions of
candidates, almost all forgettable. The driver therefore hands out only
*improvements* of the global best (``on_improvement``; when islands refresh
their search tasks, judged on the select tasks), periodic *progress*
(counts and best fitness, ``on_progress``), and at the end the *elites* (the best
distinct programs of every island) and the counts. Callers that keep an archive
should store those, not candidates.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType

from evoforge.domains.automl.config import SearchConfig
from evoforge.domains.automl.evaluator import Counts
from evoforge.domains.automl.interpreter import Interpreter
from evoforge.domains.automl.island import Improvement, Island, IslandReport, island_worker
from evoforge.domains.automl.program import Program
from evoforge.domains.automl.tasks import TaskSpec, make_tasks
from evoforge.spawn import spawn_context


@dataclass(frozen=True)
class Progress:
    """Periodic status of a running search. ``best_fitness`` is the global best's
    search fitness, or, when islands refresh their search tasks and select tasks
    are set, its fitness on the select tasks."""

    counts: Counts
    best_fitness: float
    elapsed_s: float
    candidates_per_s: float


@dataclass(frozen=True)
class SearchResult:
    """Outcome of :func:`run_search`. ``fitness`` is on the search tasks;
    ``unseen_fitness`` on tasks never used to steer the search.

    ``best`` is the program that reached the target (``solved``); otherwise, with
    select tasks, the best on them among the global best and the elites;
    otherwise the best on the search tasks."""

    best: Program
    fitness: float
    select_fitness: float | None
    unseen_fitness: float | None
    solved: bool
    stop_reason: str
    """"target", "budget", "time" or "stopped"."""
    counts: Counts
    elapsed_s: float
    improvements: tuple[Improvement, ...]
    elites: tuple[tuple[Program, float], ...]
    config: SearchConfig


class _InProcess:
    """Islands run one after another in the driver's process (deterministic)."""

    def __init__(self, config: SearchConfig, start: float) -> None:
        self.islands = [Island.create(config, i, start) for i in range(config.islands)]

    def round(self, n: int, migrants: list[list[tuple[Program, float]]]) -> list[IslandReport]:
        reports = []
        for island, incoming in zip(self.islands, migrants, strict=True):
            island.accept(incoming)
            reports.append(island.run(n))
        return reports

    def finish(self) -> list[IslandReport]:
        return [island.report(final=True) for island in self.islands]

    def close(self) -> None:
        return None


class _Processes:
    """One spawned worker process per island, driven over pipes."""

    def __init__(self, config: SearchConfig, start: float) -> None:
        context = spawn_context()
        self.conns: list[Connection] = []
        self.procs: list[BaseProcess] = []
        for i in range(config.islands):
            mine, theirs = context.Pipe()
            proc = context.Process(
                target=island_worker, args=(config, i, start, theirs), daemon=True
            )
            proc.start()
            theirs.close()
            self.conns.append(mine)
            self.procs.append(proc)

    def _gather(self) -> list[IslandReport]:
        reports = []
        for i, conn in enumerate(self.conns):
            try:
                reports.append(conn.recv())
            except EOFError as exc:
                raise RuntimeError(f"island worker {i} died") from exc
        return reports

    def round(self, n: int, migrants: list[list[tuple[Program, float]]]) -> list[IslandReport]:
        for conn, incoming in zip(self.conns, migrants, strict=True):
            conn.send(("run", n, incoming))
        return self._gather()

    def finish(self) -> list[IslandReport]:
        for conn in self.conns:
            conn.send(("stop",))
        return self._gather()

    def close(self) -> None:
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join()


class _Backend:
    def __init__(self, config: SearchConfig, start: float) -> None:
        self.impl = _Processes(config, start) if config.processes else _InProcess(config, start)

    def __enter__(self) -> _InProcess | _Processes:
        return self.impl

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.impl.close()


def evaluate(program: Program, spec: TaskSpec, config: SearchConfig) -> float:
    """Mean fitness of ``program`` on freshly generated tasks ``spec``."""
    suite = make_tasks(spec)
    interpreter = Interpreter(suite, config.space.memory, max_abs_error=config.max_abs_error)
    return interpreter.fitness(program)


def run_search(
    config: SearchConfig,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    on_improvement: Callable[[Improvement], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SearchResult:
    """Run the search ``config`` describes; callbacks run in the caller's process."""
    start = time.time()
    counts = Counts()
    best: Program | None = None
    best_fitness = -1.0
    judge = _judge(config)
    bar = -1.0  # best_fitness, or with a judge the best's fitness on the select tasks
    improvements: list[Improvement] = []
    migrants: list[list[tuple[Program, float]]] = [[] for _ in range(config.islands)]
    solved = None
    with _Backend(config, start) as backend:
        while True:
            n = config.round_size
            if config.max_candidates is not None:
                n = min(n, math.ceil((config.max_candidates - counts.candidates) / config.islands))
            reports = backend.round(n, migrants)
            counts = Counts()
            for report in reports:
                counts.add(report.counts)
            new = sorted((i for r in reports for i in r.improvements), key=lambda i: i.elapsed_s)
            for improvement in new:
                score = improvement.fitness if judge is None else judge.fitness(improvement.program)
                if score > bar:
                    best, best_fitness, bar = improvement.program, improvement.fitness, score
                    improvements.append(improvement)
                    if on_improvement is not None:
                        on_improvement(improvement)
            elapsed = time.time() - start
            if on_progress is not None:
                on_progress(Progress(counts, bar, elapsed, counts.candidates / elapsed))
            solved = next((r.solved for r in reports if r.solved is not None), None)
            if solved is not None:
                reason = "target"
            elif config.max_candidates is not None and counts.candidates >= config.max_candidates:
                reason = "budget"
            elif config.max_seconds is not None and elapsed >= config.max_seconds:
                reason = "time"
            elif should_stop is not None and should_stop():
                reason = "stopped"
            else:
                migrants = [reports[i - 1].emigrants for i in range(config.islands)]
                continue
            break
        finals = backend.finish()
    elapsed = time.time() - start
    elites = sorted((e for r in finals for e in r.elites), key=lambda e: e[1], reverse=True)
    if solved is not None:
        best, best_fitness = solved.program, solved.fitness
    assert best is not None
    select_fitness = solved.select_fitness if solved is not None else None
    if solved is None and config.select_tasks is not None:
        # As in the paper, the select tasks choose the champion among the best
        # programs found: search fitness alone favours programs fitted to the
        # search tasks.
        contenders = _distinct([(best, best_fitness), *elites])
        suite = make_tasks(config.select_tasks)
        scorer = Interpreter(suite, config.space.memory, max_abs_error=config.max_abs_error)
        scored = [(scorer.fitness(p), i) for i, (p, _) in enumerate(contenders)]
        select_fitness, chosen = max(scored)
        best, best_fitness = contenders[chosen]
    unseen = evaluate(best, config.unseen_tasks, config) if config.unseen_tasks else None
    return SearchResult(
        best=best,
        fitness=best_fitness,
        select_fitness=select_fitness,
        unseen_fitness=unseen,
        solved=solved is not None,
        stop_reason=reason,
        counts=counts,
        elapsed_s=elapsed,
        improvements=tuple(improvements),
        elites=tuple(_distinct(elites)[: config.elites]),
        config=config,
    )


def _judge(config: SearchConfig) -> Interpreter | None:
    """What decides whether an island's improvement is a global one.

    None (the island's own search fitness) unless islands refresh their search
    tasks: then each island scores on tasks of its own, drawn anew from time to
    time, so its numbers do not compare with another island's, or with its own
    before a refresh. Improvements are then judged on the fixed select tasks."""
    if config.refresh_tasks_every is None or config.select_tasks is None:
        return None
    suite = make_tasks(config.select_tasks)
    return Interpreter(suite, config.space.memory, max_abs_error=config.max_abs_error)


def _distinct(pairs: list[tuple[Program, float]]) -> list[tuple[Program, float]]:
    seen: set[Program] = set()
    out = []
    for program, fitness in pairs:
        if program not in seen:
            seen.add(program)
            out.append((program, fitness))
    return out
