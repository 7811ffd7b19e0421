"""``evoforge watch``: the living loop, one batch at a time, exactly once.

For each batch that arrives, in order:

1. read, hash and check it (a malformed one is quarantined whole, with its reason);
2. the champion, trained in the sandbox on the window before the batch, predicts
   its inputs: that score is the production metric (and, while they are on trial,
   the challenger in shadow and the predecessor of a new champion predict it too);
3. the labels join the data, the monitor sees the champion's errors and the inputs;
4. the batch's records commit in one transaction; the audit log follows from it;
5. a trigger opens a round: an ordinary bounded run on the window, warm-started from
   the champion and the last round's elites; its challenger goes on to shadow
   batches, then to the approval mode, then serves; a new champion that does worse
   than its predecessor on the next batches is rolled back.

A watcher killed at any point resumes where the records say: a batch whose
transaction did not commit is processed again from the start, a round whose run
was cut short is resumed, never started twice.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from evoforge import session
from evoforge.archive import SQLiteArchive
from evoforge.candidate import Evaluation, Files, unpack_examples
from evoforge.config import Config, StreamSection
from evoforge.governance.rundir import RunDir
from evoforge.proposers._base import Proposer
from evoforge.runner import Job, RunContext, evaluate
from evoforge.sandbox._base import Sandbox
from evoforge.stream import moves
from evoforge.stream.batches import Batch, Malformed, check
from evoforge.stream.monitor import REFERENCE_BATCHES, Monitor, Trigger
from evoforge.stream.rounds import (
    RESUMABLE,
    RoundProgress,
    WarmStart,
    audit_head,
    evidence_line,
    prepare_round,
    round_result,
    round_run,
    round_window,
)
from evoforge.stream.sources import Arrival, Source
from evoforge.stream.store import ROUND_OPEN, ROUND_SHADOW, RoundRow, ScoreRow, StreamStore
from evoforge.stream.trials import Trials
from evoforge.stream.window_task import Window, WindowTask
from evoforge.wiring import build_proposer, load_experiment, load_policy

Say = Callable[[str], None]


@dataclass(frozen=True)
class Scored:
    metric: float | None
    examples: npt.NDArray[np.float32] | None
    failure: str = ""


@dataclass
class Watcher:
    experiment: Path
    config: Config
    store: StreamStore
    source: Source
    sandbox: Sandbox
    ctx: RunContext
    seed_files: Files
    hidden: list[Path] = field(default_factory=list)
    """The stream's data (batch source, stream folder): hidden from every program."""
    allow_weak: bool = False
    proposer_for: Callable[[Path], Proposer] | None = None
    """The rounds' proposer for a round folder (default: the one the config names)."""
    say: Say = print
    stop: Callable[[], bool] = lambda: False
    sleep: Callable[[float], None] = time.sleep
    _monitor: Monitor = field(init=False)
    _watched: int | None = field(init=False, default=-1)
    """The champion the monitor watches (-1: not built yet)."""
    _later: list[str] | None = field(init=False, default=None)
    """While a batch is processed: lines about its moves, said after the batch's own line."""
    _halted: bool = field(init=False, default=False)
    """A round was stopped by a signal (its run caught it): the watcher stops too."""

    @property
    def stream(self) -> StreamSection:
        assert self.config.stream is not None
        return self.config.stream

    # -- the loop --------------------------------------------------------------------
    def run(self, *, once: bool) -> str:
        """Process batches until stopped (or, with ``once``, until none is waiting)."""
        self._start()
        while True:
            if self.stop() or self._halted:
                return "stopped"
            arrived = self.source.arrived(self.store.seen_names())
            for arrival in arrived:
                if self.stop() or self._halted:
                    return "stopped"
                self._process(arrival)
                self._after_batch()
            if once:
                return "done"
            if not arrived:
                self.sleep(self.stream.poll_seconds)

    def _start(self) -> None:
        with self.store.transaction():
            if self.store.champion() is None:
                code = self.store.put_code(self.seed_files)
                cid = self.store.add_champion(
                    code, round_id=None, parent=None, since_seq=0, reason="the seed program"
                )
                self.store.set_meta("metric", self.stream.metric)
                self.store.add_event("stream_start", None, champion=cid, code_hash=code)
        moves.flush_audit(self.store)
        self._after_batch()  # a round the last watcher left open

    def _after_batch(self) -> None:
        moves.flush_audit(self.store)
        live = self.store.live_round()
        if live is not None and live.state == ROUND_OPEN and self._gathered(live):
            self._run_round(live)
            moves.flush_audit(self.store)

    # -- one batch ------------------------------------------------------------------------
    def _process(self, arrival: Arrival) -> None:
        seq = self.store.next_seq()
        try:
            batch = check(
                arrival.read(), features=self._features(), classes=self.stream.metric == "accuracy"
            )
        except Malformed as exc:
            self._quarantine(arrival.name, str(exc))
            return
        except OSError as exc:  # vanished or unreadable now: tried again at the next poll
            self.say(f"batch {arrival.name}: cannot read it yet ({exc})")
            return
        self.store.save_data(seq, batch)
        prior = [b.seq for b in self.store.batches()][-self.stream.window :]
        champ = self.store.champion()
        assert champ is not None
        live = self.store.live_round()
        scores: dict[str, tuple[int | None, str, Scored]] = {}
        if prior:
            window = self._window(prior, batch)
            scores["champion"] = (champ.id, champ.code_hash, self._score(champ.code_hash, window))
            if live is not None and live.state == ROUND_SHADOW and live.challenger:
                scores["shadow"] = (None, live.challenger, self._score(live.challenger, window))
            if champ.parent is not None and champ.watch_done < self.stream.rollback_batches:
                pred = self.store.champion_by_id(champ.parent)
                scores["predecessor"] = (
                    pred.id,
                    pred.code_hash,
                    self._score(pred.code_hash, window),
                )
        fired = self._monitored(seq, batch, scores.get("champion"))
        self._later = []
        with self.store.transaction():
            self.store.add_batch(seq, batch)
            for role, (cid, code, s) in scores.items():
                self.store.add_score(
                    ScoreRow(seq, role, cid, code, s.metric, s.failure, s.examples)
                )
            self.store.add_event(
                "batch_scored", seq, name=batch.name, sha256=batch.sha256, rows=batch.rows,
                **{role: s.metric for role, (_, _, s) in scores.items()},
            )  # fmt: skip
            for t in fired:
                self.store.add_trigger(seq, t.detector, t.statistic, t.detail)
            if "shadow" in scores and live is not None:
                self._trials.shadow_step(live)
            if "predecessor" in scores:
                self._trials.rollback_step(champ.id, champ.watch_done + 1)
            if fired:
                self._maybe_open_round(seq, fired)
        self._say_batch(seq, batch, scores, fired)
        later, self._later = self._later, None
        for line in later or []:
            self.say(line)

    def _quarantine(self, name: str, reason: str) -> None:
        with self.store.transaction():
            self.store.add_quarantine(name, "", reason)
            self.store.add_event("batch_quarantined", None, name=name, reason=reason)
        self.say(f"batch {name}: quarantined: {reason}")

    def _features(self) -> int | None:
        first = self.store.batches()[:1]
        return int(self.store.load(first[0].seq)[0].shape[1]) if first else None

    def _window(self, prior: list[int], batch: Batch) -> Window:
        xs, ys, ages = [], [], []
        for age, s in enumerate(reversed(prior)):
            x, y = self.store.load(s)
            xs.append(x)
            ys.append(y)
            ages.append(np.full(len(y), age, dtype=np.int64))
        return Window(
            np.concatenate(xs[::-1]), np.concatenate(ys[::-1]), np.concatenate(ages[::-1]),
            batch.x, batch.y, np.zeros(batch.rows, dtype=np.int64),
        )  # fmt: skip

    def _score(self, code: str, window: Window) -> Scored:
        """The program trained on the window, in the sandbox, predicting the batch."""
        task = WindowTask(metric=self.stream.metric, window=window, hidden=self.hidden)
        files = self.store.get_code(code)
        job = Job(0, files, 0, self.config.experiment.seed, purpose="stream")
        ev = evaluate(self.ctx, job, sandbox=self.sandbox, task=task)
        return _scored(ev, self.stream.objective)

    # -- the monitor ----------------------------------------------------------------------
    def _monitored(
        self, seq: int, batch: Batch, champion: tuple[int | None, str, Scored] | None
    ) -> list[Trigger]:
        self._sync_monitor()
        if champion is None:  # the first batch: nothing was trained to predict it
            return []
        cid, _, s = champion
        if cid != self._watched:
            self._monitor.new_champion()
            self._watched = cid
        return self._monitor.observe(self._losses(s), batch.x, s.metric)

    def _losses(self, s: Scored) -> npt.NDArray[np.float32] | None:
        if s.examples is None:
            return None
        return 1.0 - s.examples if self.stream.metric == "accuracy" else s.examples

    def _sync_monitor(self) -> None:
        """At the first batch of this watcher: the monitor rebuilt from the recorded
        champion scores, in order (the inputs of the last few batches reloaded)."""
        if self._watched != -1:
            return
        self._monitor = Monitor(self.stream.detect, maximize=self.stream.maximize)
        rows = self.store.scores("champion")
        self._watched = None
        for i, row in enumerate(rows):
            if row.champion != self._watched:
                self._monitor.new_champion()
                self._watched = row.champion
            x = self.store.load(row.seq)[0] if i >= len(rows) - REFERENCE_BATCHES else None
            s = Scored(row.metric, row.examples, row.failure)
            self._monitor.observe(self._losses(s), x, s.metric)

    # -- rounds and trials ------------------------------------------------------------------
    def _maybe_open_round(self, seq: int, fired: list[Trigger]) -> None:
        if self.store.live_round() is not None:
            return  # one round (or trial) at a time: the trigger is recorded all the same
        ended = [r.ended_seq for r in self.store.rounds() if r.ended_seq is not None]
        if ended and seq - max(ended) <= self.stream.cooldown:
            return
        if len(self.store.batches()) <= self.stream.newest:
            return  # nothing older than the newest window to train on
        rid = self.store.open_round(seq)
        self.store.add_event(
            "round_start", seq, round=rid,
            triggers=[{"detector": t.detector, "statistic": t.statistic, "detail": t.detail}
                      for t in fired],
        )  # fmt: skip

    def _gathered(self, rnd: RoundRow) -> bool:
        return moves.last_seq(self.store) >= rnd.trigger_seq + self.stream.gather

    def _run_round(self, rnd: RoundRow) -> None:
        folder = self.store.round_folder(rnd.id)
        champ = self.store.champion()
        assert champ is not None
        upto = rnd.trigger_seq + self.stream.gather  # fixed: a resumed round sees the same data
        window = round_window(self.store, self.stream, upto, seed=self.config.experiment.seed)
        prepare_round(
            folder, self.config, self.stream, self.store.get_code(champ.code_hash), window,
            hidden=self.hidden,
        )  # fmt: skip
        self.say(f"round {rnd.id}: started on batches up to {upto} ({folder})")
        try:
            run = self._drive_round(folder)
            result = round_result(run, elites=self.stream.elites)
        except Exception as exc:  # a round that cannot run is recorded; watching goes on
            with self.store.transaction():
                moves.decline_round(self.store, rnd, why=f"the round failed: {exc}", state="failed")
            self.say(f"round {rnd.id}: failed: {exc}")
            return
        if result.state.startswith("stopped"):  # Ctrl-C or SIGTERM reached the round's run
            self._halted = True
            self.say(f"round {rnd.id}: stopped; the next watch resumes it")
            return
        with self.store.transaction():
            elites = [self.store.put_code(e) for e in result.elites]
            seed = [
                {**r, "from_champion": champ.id} if r["id"] == 1 else r for r in result.candidates
            ]
            self.store.add_round_candidates(rnd.id, seed)
            info = {"run": str(result.run), "state": result.state, "elites": elites,
                    "evidence": dict(result.evidence), "audit_head": audit_head(result.run)}  # fmt: skip
            if result.challenger is None:
                self.store.update_round(rnd.id, result=info)
                moves.decline_round(
                    self.store, rnd, why="no candidate beat the champion on the newest batches"
                )
                self.store.add_event(
                    "round_end", rnd.trigger_seq, round=rnd.id, challenger=None, **info
                )
                self.say(f"round {rnd.id}: no challenger beat the champion")
                return
            code = self.store.put_code(result.challenger)
            self.store.update_round(rnd.id, challenger=code, result=info)
            self.say(f"round {rnd.id}: challenger found: {evidence_line(result.evidence)}")
            self.store.add_event(
                "round_end", rnd.trigger_seq, round=rnd.id, challenger=code, **info
            )
            rnd = self._round(rnd.id)
            if self.stream.shadow_batches:
                self.store.update_round(rnd.id, state=ROUND_SHADOW)
                self.store.add_event(
                    "shadow_start", None, round=rnd.id, batches=self.stream.shadow_batches
                )
                self.say(
                    f"round {rnd.id}: challenger in shadow for {self.stream.shadow_batches} batches"
                )
            else:
                self._trials.approve_or_wait(rnd)

    def _drive_round(self, folder: Path) -> RunDir:
        run = round_run(folder)
        if run is not None:
            try:
                with SQLiteArchive(run.archive, readonly=True) as a:
                    state = str(a.get_meta("state", "running"))
                    empty = a.size() == 0
            except sqlite3.Error:
                state, empty = "running", True
            if empty:  # the watcher died before the round's seed was recorded: start it again
                shutil.rmtree(run.path)
                run = None
        if run is not None:
            if not state.startswith(RESUMABLE):
                return run
            session.resume(
                run, allow_weak=self.allow_weak, proposer=self._round_proposer(folder),
                observer=RoundProgress(self.say, folder.name, self.stream.objective),
            )  # fmt: skip
            return run
        out = session.start(
            folder, allow_weak=self.allow_weak, proposer=self._round_proposer(folder),
            observer=RoundProgress(self.say, folder.name, self.stream.objective),
        )  # fmt: skip
        return out.run

    def _round_proposer(self, folder: Path) -> WarmStart:
        if self.proposer_for is not None:
            inner = self.proposer_for(folder)
        else:
            cfg = load_experiment(folder)
            inner = build_proposer(cfg, folder, policy=load_policy(cfg, folder))
        done = [r for r in self.store.rounds() if r.result.get("elites")]
        elites = [self.store.get_code(h) for h in done[-1].result["elites"]] if done else []
        return WarmStart(inner, elites[: self.stream.elites])

    def _round(self, rid: int) -> RoundRow:
        return next(r for r in self.store.rounds() if r.id == rid)

    @property
    def _trials(self) -> Trials:
        return Trials(self.store, self.stream, self.config.promotion, self._note)

    def _note(self, line: str) -> None:
        if self._later is None:
            self.say(line)
        else:
            self._later.append(line)

    def _say_batch(
        self,
        seq: int,
        batch: Batch,
        scores: dict[str, tuple[int | None, str, Scored]],
        fired: list[Trigger],
    ) -> None:
        parts = [f"batch {seq} {batch.name} ({batch.rows} rows)"]
        for role, (_, _, s) in scores.items():
            parts.append(f"{role} {s.metric:.4f}" if s.metric is not None else f"{role} failed")
        if fired:
            parts.append("trigger: " + ", ".join(t.detector for t in fired))
        self.say("  ".join(parts))


def _scored(ev: Evaluation, objective: str) -> Scored:
    if not ev.ok or objective not in ev.metrics:
        return Scored(None, None, ev.failure or f"no {objective}")
    examples = unpack_examples(ev.examples).get(objective)
    arr = None if examples is None else np.asarray(examples, dtype=np.float32)
    return Scored(float(ev.metrics[objective]), arr)
