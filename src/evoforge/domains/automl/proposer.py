"""The algorithm search as an evoforge proposer: the engine runs, the loop keeps the best.

What goes in the archive (the design choice the domain needs): the engine
scores thousands of algorithms a second, nearly all forgettable, so they are
*not* candidates. A candidate is proposed only for what is worth keeping:

- every new global best of the search (operator ``improvement``); when several
  arrived while the loop was busy, only the newest (the best) is proposed and the
  others are counted as ``superseded``;
- when the search ends, its champion (``champion``, chosen on the select tasks
  as in the paper) and its elites (``elite``, the best distinct programs of
  every island);
- the engine's counts (algorithms scored, cache hits, hurdle stops, ...) go in
  the proposer state, saved with the run and shown by ``status``.

Each of those candidates is the algorithm rendered as the program's module, run
in the sandbox and scored by the trusted task on tasks it never saw, through
the same gates, promotion and audit as any candidate. A run of the linear
preset records a few dozen candidates for millions of algorithms scored.

The search runs in a background thread of the driver (its islands in worker
processes), so ``propose`` never blocks: with nothing new it raises
:class:`ProposerBusy`; once the search has ended and everything was handed
out, :class:`ProposerExhausted` ends the run. A resumed run restarts the search
from the elites saved in the state, with the counts and time carried over.
Lineage: a candidate's parent is the one the selector picked, not its engine
ancestor (the engine's intermediate programs are not recorded, by design).
"""

from __future__ import annotations

import hashlib
import queue
import random
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

from evoforge.config import AutoMLSection, ConfigError, ProgramSection, TaskSection
from evoforge.domains.automl.config import SearchConfig
from evoforge.domains.automl.evaluator import Counts
from evoforge.domains.automl.experiment import (
    AlgorithmTask,
    preset_config,
    render_for,
    seed_module,
)
from evoforge.domains.automl.island import Improvement
from evoforge.domains.automl.program import Program
from evoforge.domains.automl.search import Progress, SearchResult, run_search
from evoforge.program import frame_violations
from evoforge.proposers._base import (
    Feedback,
    Parent,
    Proposal,
    Proposer,
    ProposerBusy,
    ProposerExhausted,
)
from evoforge.runner import load_task

_FINISHED = ("target", "budget", "time")
"""Stop reasons after which a resumed run does not search again."""


class AlgorithmSearch(Proposer):
    """Proposes what the search ``config`` finds, rendered into ``file``."""

    name = "automl"

    def __init__(self, config: SearchConfig, *, file: str = "algorithm.py", poll_s: float = 0.5):
        self.config = config
        self.file = file
        self.poll_s = poll_s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._queue: queue.SimpleQueue[tuple[str, Program, float, dict[str, Any]]] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._progress: Progress | None = None
        self._result: SearchResult | None = None
        self._error = ""
        self._before: dict[str, Any] = {}
        self._recent: deque[Program] = deque(maxlen=config.elites)
        self._found = 0
        self._handed: set[str] = set()
        self._pending: deque[tuple[str, Program, float, dict[str, Any]]] = deque()
        self._superseded = 0

    @property
    def operators(self) -> tuple[str, ...]:
        return ("improvement", "champion", "elite")

    # -- the proposer contract ------------------------------------------------
    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        self._start()
        while True:
            try:
                self._pending.append(self._queue.get_nowait())
            except queue.Empty:
                break
        while self._pending:
            kind, program, fitness, extra = self._pending.popleft()
            if kind == "improvement" and any(k == "improvement" for k, *_ in self._pending):
                self._superseded += 1  # a better one is waiting: only the newest is scored
                continue
            source = render_for(program, self.config)
            digest = hashlib.sha256(source.encode()).hexdigest()
            if digest in self._handed:  # e.g. an elite that was also an improvement
                continue
            self._handed.add(digest)
            return Proposal(
                files={**feedback.seed, self.file: source},
                operator=kind,
                note=f"{kind}: search fitness {fitness:.6f}",
                meta={
                    "search_fitness": fitness,
                    "program": program.to_json(),
                    "view": "blocks",
                    **extra,
                },
            )
        if self._thread is not None and self._thread.is_alive():
            raise ProposerBusy("the algorithm search is running", retry_after=self.poll_s)
        if self._error:
            raise ProposerExhausted(f"the algorithm search failed: {self._error}")
        return self._finished()

    def progress(self) -> str:
        with self._lock:
            counts, progress, result = self._counts(), self._progress, self._result
            found = self._found + int(self._before.get("improvements", 0))
        if progress is None and result is None:
            return "search: starting" if self._thread is not None else ""
        n = max(counts.candidates, 1)
        head = f"search ended ({result.stop_reason})" if result is not None else "search"
        rate = f" ({progress.candidates_per_s:,.0f}/s)" if progress and result is None else ""
        best = result.fitness if result is not None else progress.best_fitness if progress else 0
        return (
            f"{head}: {counts.candidates:,} algorithms{rate}, cache hits "
            f"{counts.cache_hits / n:.0%}, hurdle stops {counts.hurdle_stops / n:.0%}, "
            f"best search fitness {best:.6f}, {found} improvements"
        )

    def state(self) -> Mapping[str, Any]:
        with self._lock:
            counts, progress, result = self._counts(), self._progress, self._result
            elites = [p for p, _ in result.elites] if result is not None else list(self._recent)
            state: dict[str, Any] = {
                "algorithms": counts.as_dict(),
                "improvements": self._found + int(self._before.get("improvements", 0)),
                "superseded": self._superseded + int(self._before.get("superseded", 0)),
                "sessions": int(self._before.get("sessions", 0)) + int(self._thread is not None),
                "elapsed_s": self._elapsed(progress, result),
                "elites": [p.to_json() for p in elites],
            }
            if progress is not None or result is not None:
                state["best_search_fitness"] = (
                    result.fitness if result is not None else progress.best_fitness  # type: ignore[union-attr]
                )
            if result is not None:
                state["stop_reason"] = result.stop_reason
                state["solved"] = result.solved
            elif self._before.get("stop_reason"):
                state["stop_reason"] = self._before["stop_reason"]
        return state

    def load_state(self, state: Mapping[str, Any]) -> None:
        self._before = dict(state)
        self._recent.extend(Program.from_json(e) for e in state.get("elites", []))

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=120)

    # -- the search thread ----------------------------------------------------
    def _start(self) -> None:
        if self._thread is not None:
            return
        if self._before.get("stop_reason") in _FINISHED:
            return  # a resumed run whose search had ended: nothing more to propose
        config = self._resumed_config()
        if config is None:
            return
        self._thread = threading.Thread(
            target=self._search, args=(config,), name="automl-search", daemon=True
        )
        self._thread.start()

    def _resumed_config(self) -> SearchConfig | None:
        sessions = int(self._before.get("sessions", 0))
        # A resumed search starts from the saved elites, with fresh random streams
        # (its seed moves on with each session) so it does not replay the first one.
        config = replace(
            self.config,
            processes=True,
            start=tuple(self._recent),
            seed=self.config.seed + 7919 * sessions,
        )
        before = self._before_counts()
        if config.max_candidates is not None:
            left = config.max_candidates - before.candidates
            if left < 1:
                return None
            config = replace(config, max_candidates=left)
        if config.max_seconds is not None:
            left_s = config.max_seconds - float(self._before.get("elapsed_s", 0.0))
            if left_s <= 0:
                return None
            config = replace(config, max_seconds=left_s)
        return config

    def _search(self, config: SearchConfig) -> None:
        try:
            result = run_search(
                config,
                on_progress=self._on_progress,
                on_improvement=self._on_improvement,
                should_stop=self._stop.is_set,
            )
        except Exception as exc:  # the run goes on to record what it has; the reason is kept
            with self._lock:
                self._error = f"{type(exc).__name__}: {exc}"
            return
        with self._lock:
            self._result = result
        if result.stop_reason == "stopped":
            return  # the run is ending: nobody will score the rest
        extra = {"select_fitness": result.select_fitness, "solved": result.solved}
        self._queue.put(("champion", result.best, result.fitness, extra))
        for program, fitness in result.elites:
            self._queue.put(("elite", program, fitness, {}))

    def _on_progress(self, progress: Progress) -> None:
        with self._lock:
            self._progress = progress

    def _on_improvement(self, improvement: Improvement) -> None:
        with self._lock:
            self._found += 1
            self._recent.append(improvement.program)
        extra = {
            "search_island": improvement.island,
            "found_after": improvement.candidate,
            "found_at_s": round(improvement.elapsed_s, 3),
        }
        self._queue.put(("improvement", improvement.program, improvement.fitness, extra))

    # -- helpers --------------------------------------------------------------
    def _before_counts(self) -> Counts:
        saved = self._before.get("algorithms", {})
        return Counts(**{k: int(v) for k, v in saved.items() if k in Counts().as_dict()})

    def _counts(self) -> Counts:
        counts = self._before_counts()
        now = self._result.counts if self._result is not None else None
        if now is None and self._progress is not None:
            now = self._progress.counts
        if now is not None:
            counts.add(now)
        return counts

    def _elapsed(self, progress: Progress | None, result: SearchResult | None) -> float:
        now = result.elapsed_s if result is not None else progress.elapsed_s if progress else 0.0
        return float(self._before.get("elapsed_s", 0.0)) + now

    def _finished(self) -> NoReturn:
        with self._lock:
            result, counts = self._result, self._counts()
        reason = result.stop_reason if result is not None else self._before.get("stop_reason")
        why = {"target": "target reached", "budget": "algorithm budget spent"}.get(
            str(reason), "its time budget spent"
        )
        raise ProposerExhausted(
            f"the algorithm search ended: {why} after {counts.candidates:,} algorithms"
        )


def build_algorithm_search(
    section: AutoMLSection,
    experiment: Path,
    *,
    program: ProgramSection,
    task: TaskSection,
    seed: int,
) -> AlgorithmSearch:
    """The proposer of ``[proposer.automl]`` in ``experiment`` with its ``[program]``
    and ``[task]`` sections and the run's seed; checks the program and an
    :class:`AlgorithmTask` task match its preset."""
    if section.file not in program.files:
        raise ConfigError(
            f"[proposer.automl] file = {section.file!r} is not one of [program] files"
        )
    expected = {section.file: seed_module(section.preset)}
    actual = {section.file: (experiment / section.file).read_text(encoding="utf-8")}
    problems = frame_violations(expected, actual)
    if problems:
        raise ConfigError(
            f"{experiment / section.file} is not a {section.preset!r} algorithm module "
            f"(write a fresh one with `python -m evoforge.domains.automl.experiment "
            f"{section.preset} > {section.file}`): {problems[0]}"
        )
    scorer = load_task(experiment, task.module, task.object)
    if isinstance(scorer, AlgorithmTask) and scorer.preset != section.preset:
        raise ConfigError(
            f"{experiment / task.module} scores the {scorer.preset!r} preset but "
            f"[proposer.automl] preset = {section.preset!r}: make them the same"
        )
    overrides: dict[str, object] = {"islands": section.islands}
    if section.max_minutes is not None:
        overrides["max_seconds"] = section.max_minutes * 60
    if section.max_algorithms is not None:
        overrides["max_candidates"] = section.max_algorithms
    if section.target is not None:
        overrides["target_fitness"] = section.target
    search = preset_config(section.preset, seed, **overrides)
    return AlgorithmSearch(search, file=section.file)
