"""The improvement loop: select, propose, gate, run, score, record, promote.

Asynchronous and steady-state: up to ``workers`` candidates are in flight, and a
new child is proposed as each one finishes. The loop is the only writer of the
archive, and every record is durable before the next step, so a driver killed
at any instant resumes with nothing lost and nothing run twice.

    selector.pick(archive)             -> parents
    proposer.propose(parents)          -> child code
    gates.check(child)                 -> rejected (recorded, told, not run) | run
    archive.find_code(child)           -> duplicate (recorded, told, not run)
    executor.submit(child)             -> worker: prepare, sandbox, score
    archive.update(child, evaluation)  ;  promote if it beats the champion
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evoforge.archive import Archive
from evoforge.artifacts import ArtifactStore
from evoforge.candidate import Candidate, Evaluation, Files, Status
from evoforge.config import ConfigError
from evoforge.executors import Executor
from evoforge.fidelity import Rungs, recorded
from evoforge.gates import PreRunGate, Scored, check_all
from evoforge.gates.detectors import GamingDetectors
from evoforge.governance.control import ControlError, answer, apply
from evoforge.governance.promotion import Promoter
from evoforge.governance.queue import check as check_values
from evoforge.governance.run_audit import Audit
from evoforge.loop_checks import (
    check_seed,
    check_seed_metrics,
    seed_failure,
    seed_status,
    task_error_stop,
)
from evoforge.loop_feedback import as_parent, for_proposer, proposer_feedback
from evoforge.loop_records import (
    child_of,
    left_unfinished,
    not_charged,
    outcome,
    rejected_proposal,
    seed_record,
    store_meta,
)
from evoforge.loop_state import (
    Budget,
    Draws,
    Observer,
    SeedFailed,
    Stats,
    StopCheck,
    Streak,
    TaskError,
)
from evoforge.loop_twins import Twins, has_conditions
from evoforge.program import unified_diff
from evoforge.proposers._base import (
    Feedback,
    Proposal,
    ProposalError,
    Proposer,
    ProposerBusy,
    ProposerExhausted,
)
from evoforge.runner import TASK_ERROR, Job, split_failure
from evoforge.selection import Selector

PROPOSALS_PER_TURN = 16
TURN_SECONDS = 0.1
"""A turn proposes at most this many children, for at most this long (one slow
proposal, an LLM's, still ends its turn), before results and requests are read."""


@dataclass
class Loop:
    archive: Archive
    executor: Executor
    proposer: Proposer
    selector: Selector
    gates: Sequence[PreRunGate]
    seed_files: Files
    objective: str
    maximize: bool
    budget: Budget
    workers: int
    promoter: Promoter
    audit: Audit
    detectors: GamingDetectors | None = None
    run_seed: int = 0
    max_attempts: int = 2
    max_task_errors: int = 3
    """Exceptions raised by the task's prepare or score before the run stops (the seed's: 1)."""
    declared_metrics: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Metric names the config declares beyond the objective, per key (``"[task] heldout"``);
    each must be among the metrics the task returns for the seed."""
    stop: StopCheck = lambda: None
    requests: Callable[[], list[tuple[Path, dict[str, Any]]]] = list
    observer: Observer | None = None
    queued: Callable[[], tuple[Path, dict[str, Any]] | None] = lambda: None
    """The oldest configuration a person enqueued (``evoforge enqueue``), if any."""
    artifacts: ArtifactStore | None = None
    """Where the champions' kept files go (``[program] artifacts``); None keeps none."""
    rungs: Rungs | None = None
    """``[fidelity]``: new candidates run at low fidelity first (:mod:`evoforge.fidelity`)."""
    clock: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic
    """Times a turn of proposals (immune to changes of the wall clock)."""
    sleep: Callable[[float], None] = time.sleep
    stats: Stats = field(init=False)
    _streak: Streak = field(init=False, default_factory=Streak)
    _draws: Draws = field(init=False, default_factory=Draws)
    _exhausted: str = field(init=False, default="")
    _halt: str = field(init=False, default="")
    _task_failure: TaskError | None = field(init=False, default=None)
    _busy_until: float = field(init=False, default=0.0)
    _candidates_in_flight: int = field(init=False, default=0)
    _gains: deque[float] = field(init=False, default_factory=lambda: deque(maxlen=50))
    _twins: Twins | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if has_conditions(self.seed_files):  # `when` parameters: functional duplicates
            self._twins = Twins(self.archive)

    # -- the loop ---------------------------------------------------------------
    def run(self) -> str:
        """Run until the budget is spent or a stop is asked; returns why it ended."""
        self.stats = Stats.of_archive(
            self.archive, budget=self.budget.candidates, objective=self.objective, now=self.clock()
        )
        self.proposer.load_state(self.archive.get_meta("proposer_state", {}))
        self._requeue_interrupted()
        if self.archive.size() == 0:
            check_seed(self.gates, self.seed_files)
            self._submit(seed_record(self.archive, self.seed_files))
        stopping = None
        while True:
            stopping = stopping or self.stop() or ("now" if self._halt else None)
            if stopping == "now":
                self._stop_now()
                return self._halt or "stopped"
            self._apply_requests()
            if not stopping:
                self._submit_confirmations()
            # A bounded turn of proposals, then what finished and what people asked: a
            # streak of rejected proposals never keeps a result or a stop waiting.
            turn_ends, proposed = self.monotonic() + TURN_SECONDS, 0
            while not stopping and self._may_start_another():
                if proposed >= PROPOSALS_PER_TURN or self.monotonic() >= turn_ends:
                    break
                proposed += 1
                if not self._propose_and_submit():
                    if self.executor.in_flight() == 0 and not self._exhausted:
                        # no successful candidate exists and none is running: none ever will
                        seed = seed_status(self.archive.get(1))
                        raise SeedFailed(f"no candidate to select from: {seed}")
                    break
            more = not stopping and self._may_start_another()
            for job, evaluation in self.executor.poll(timeout=0.0 if more else 0.25):
                self._record_result(job, evaluation)
            if self._task_failure is not None:
                self._stop_now()
                raise self._task_failure
            self.stats.in_flight = self.executor.in_flight()
            self._notify(None)
            if self.executor.in_flight() == 0 and self._busy() and not stopping:
                self.sleep(min(0.2, self._busy_until - self.clock()))  # the proposer asked to wait
                continue
            if self.executor.in_flight() == 0 and (stopping or not self._may_start_another()):
                if not stopping and self._submit_confirmations():
                    continue  # the budget is spent, but a challenger is still being judged
                self.executor.shutdown(kill=False)
                # no verdict: the executor has no room at all (a cluster without live nodes)
                reason = self._halt or ("stopped" if stopping else self._verdict())
                reason = reason or "wall budget spent"
                self.audit.append("run_end", reason=reason, evaluated=self.stats.evaluated)
                return reason

    def _may_start_another(self) -> bool:
        if self.executor.in_flight() >= min(self.workers, self.executor.capacity()):
            return False
        return not self._busy() and self._verdict() is None

    def _verdict(self) -> str | None:
        """Why the budget lets no other candidate start (and so why the run ends), if it does not."""
        return self.budget.verdict(
            started=self.stats.evaluated + self._candidates_in_flight, now=self.clock(),
            cpu_s=self.stats.cpu_s, streak=self._streak, exhausted=self._exhausted,
        )  # fmt: skip

    def _busy(self) -> bool:
        return self.clock() < self._busy_until

    # -- proposing --------------------------------------------------------------
    def _propose_and_submit(self) -> bool:
        """Propose one child and run it (or record why not); False when no parent exists yet."""
        self._draws.next_try(self.archive.size())
        island, parents = self.selector.pick(
            self.archive, objective=self.objective, maximize=self.maximize,
            rng=self._rng("select"), n=self.proposer.arity,
        )  # fmt: skip
        if not parents:
            return False
        with_code = [as_parent(self.archive, p) for p in parents]
        feedback = self._feedback()
        item = self.queued()
        try:
            if item is not None:
                proposal = self._enqueued(*item)
            else:
                proposal = self.proposer.propose(with_code, feedback, self._rng("propose"))
        except ProposerBusy as exc:
            self._busy_until = self.clock() + max(0.0, exc.retry_after)
            return True
        except ProposerExhausted as exc:
            self._record_failed_proposal(exc, parents, island)
            self._exhausted = str(exc)
            return False
        except ProposalError as exc:
            self._record_failed_proposal(exc, parents, island)
            return True
        child = dict(proposal.files)
        code_hash = self.archive.put_code(child)
        base = child_of(
            parents, code_hash=code_hash, island=island,
            proposer=self.proposer.name if item is None else "enqueued",
            operator=proposal.operator, diff=unified_diff(with_code[0].files, child),
            note=proposal.note, extra=store_meta(self.archive, proposal.meta),
        )  # fmt: skip
        decision = check_all(self.gates, child, seed=self.seed_files)
        if not decision.ok:
            self._not_run(base, Status.REJECTED, "; ".join(decision.reasons), parents)
            return True
        earlier = self.archive.find_code(code_hash)
        if earlier is not None:
            self._not_run(base, Status.DUPLICATE, f"same code as #{earlier.id}", parents)
            return True
        twin = self._twins.earlier(child) if self._twins else None
        if twin is not None:
            why = f"same program as #{twin}: it changes only parameters whose `when` fails"
            self._not_run(base, Status.DUPLICATE, why, parents)
            return True
        self._streak.clear()
        cand = self.archive.add(base)
        if self._twins:
            self._twins.add(child, cand.id)
        self._submit(cand)
        return True

    def _enqueued(self, path: Path, body: Mapping[str, Any]) -> Proposal:
        """A person's configuration, written into the seed program (the queue entry is
        taken now: a bad one is recorded once, never retried)."""
        path.unlink(missing_ok=True)
        values = body.get("values", {})
        self.audit.append("enqueued", values=values, who=str(body.get("who", "")))
        try:
            files = check_values(self.seed_files, values)
        except ConfigError as exc:
            raise ProposalError(f"enqueued values do not fit the seed: {exc}") from None
        shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
        return Proposal(files, "enqueue", f"enqueued by {body.get('who', '?')}: {shown}")

    def _not_run(self, base: Candidate, status: Status, why: str, parents: list[Candidate]) -> None:
        """A child kept from running (gates, duplicate): recorded, and told to the
        proposer, so a bandit learns that the operator's proposal was wasted."""
        now = self.clock()
        child = self.archive.add(replace(base, status=status, failure=why, finished_at=now))
        self.stats.count(status)
        self._streak.missed(
            why if status == Status.REJECTED else "same code as an earlier candidate"
        )
        self._tell(child, parents)

    def _tell(self, child: Candidate, parents: Sequence[Candidate]) -> None:
        """How a child did, to its proposer: the one place it is told, what it may see only."""
        shown = [for_proposer(p) for p in parents]
        self.proposer.tell(for_proposer(child), shown, self._feedback())

        self._save_proposer_state()

    def _feedback(self) -> Feedback:
        return proposer_feedback(
            self.archive, objective=self.objective, maximize=self.maximize,
            seed=self.seed_files, context=self.proposer.wants_context,
        )  # fmt: skip

    def close(self) -> None:
        """Stop the proposer's background work and keep its last state (run end, any way)."""
        self.proposer.close()
        self._save_proposer_state()

    def _save_proposer_state(self) -> None:
        state = self.proposer.state()
        if state:
            self.archive.set_meta("proposer_state", dict(state))

    def _record_failed_proposal(
        self, exc: ProposalError | ProposerExhausted, parents: list[Candidate], island: int
    ) -> None:
        """A proposal that produced no usable child: recorded (with its raw answer) when it cost something."""
        self.stats.proposal_errors += 1
        self._streak.missed(str(exc))
        self._save_proposer_state()  # a rejected answer may have cost tokens
        if not exc.meta:
            return
        self.archive.add(
            rejected_proposal(
                self.archive, parents, island=island, proposer=self.proposer.name,
                meta=exc.meta, failure=f"proposal rejected: {exc}", now=self.clock(),
            )
        )  # fmt: skip
        self.stats.count(Status.REJECTED)

    # -- running ----------------------------------------------------------------
    def _submit(self, cand: Candidate) -> None:
        cand = self.archive.update(
            cand.id, status=Status.RUNNING, started_at=self.clock(), attempts=cand.attempts + 1
        )
        self._submit_at(cand, self.rungs.next_rung(cand) if self.rungs else -1)
        self._candidates_in_flight += 1
        self.stats.in_flight = self.executor.in_flight()

    def _submit_at(self, cand: Candidate, rung: int) -> None:
        """Run ``cand`` at ``rung`` (a low rung: a "rung" job), or in full."""
        files = self.archive.get_code(cand.code_hash)
        if self.rungs is None or rung >= self.rungs.last:
            self.executor.submit(Job(cand.id, files, cand.attempts, self.run_seed))
            return
        share = self.rungs.shares[rung]
        self.executor.submit(Job(cand.id, files, cand.attempts, self.run_seed, purpose="rung",
                                 fidelity=share, rung=rung))  # fmt: skip

    def _submit_confirmations(self) -> bool:
        """Start the re-runs the active confirmation needs; True if any started."""
        jobs = self.promoter.jobs()
        for cid, seed in jobs:
            self._submit_rerun(cid, seed)
        return bool(jobs)

    def _submit_rerun(self, cid: int, seed: int) -> None:
        files = self.archive.get_code(self.archive.get(cid).code_hash)
        self.executor.submit(Job(cid, files, 0, seed, purpose="confirm"))
        self.stats.confirmations += 1

    def _record_result(self, job: Job, ev: Evaluation) -> None:
        self.stats.cpu_s += ev.run.cpu_s if ev.run else 0.0
        if TASK_ERROR in ev.flags:
            self._record_task_error(job, ev)
            return
        if "task_tampered" in ev.flags:
            self._halt = f"stopped: {ev.failure}"
            self.audit.append("task_tampered", candidate=job.candidate_id, failure=ev.failure)
        if job.purpose == "confirm":
            self.promoter.record(job.candidate_id, job.seed, ev)
            self._refresh_best()
            return
        if job.purpose == "rung":
            self._record_rung(job, ev)
            return
        self._record_candidate(job, ev)

    def _record_candidate(self, job: Job, ev: Evaluation) -> None:
        """A candidate's own (full-fidelity) result, or its failure at any rung."""
        self._candidates_in_flight -= 1
        if self._is_seed(job):
            self._check_seed_metrics(job, ev)
        examples = self.archive.put_blob(ev.examples) if ev.examples else ""
        kept = self._accept_artifacts(job, ev)
        cand = self.archive.update(
            job.candidate_id, **outcome(ev), **kept, examples=examples, finished_at=self.clock()
        )
        self.stats.count(cand.status)
        if cand.proposer == "seed" and not ev.ok:
            self.executor.shutdown(kill=True)
            raise SeedFailed(seed_failure(ev, cand.stderr_tail))
        if ev.ok and cand.parent_ids:
            cand = self._detect(cand)
        if cand.flags:
            self.audit.append("flags", candidate=cand.id, flags=list(cand.flags))
        if cand.parent_ids:
            self._tell(cand, [self.archive.get(i) for i in cand.parent_ids])
        if ev.ok and self.archive.champion() is None:
            self.archive.move_champion(cand.id, action="seed", reason="the seed program")
        elif ev.ok:
            self.promoter.consider(cand)
        self._refresh_best()
        if self.artifacts is not None and ev.artifacts:
            self.artifacts.prune(self.archive)
        self._notify(cand)

    def _record_rung(self, job: Job, ev: Evaluation) -> None:
        """A low-rung result: kept in the record; the candidate goes on to the next rung,
        or is STOPPED (told to its proposer, never compared), or failed (as any failure)."""
        assert self.rungs is not None
        cand = self.archive.get(job.candidate_id)
        run = ev.run
        value = ev.metrics.get(self.objective) if ev.ok else None
        at = f"at rung {job.rung} ({job.fidelity:g} of the budget)"
        verdict = None if value is None else self.rungs.judge(cand.id, job.rung, value)
        entry = {"rung": job.rung, "share": job.fidelity, "ok": verdict is not None,
                 "metrics": dict(ev.metrics), "wall_s": run.wall_s if run else 0.0,
                 "cpu_s": run.cpu_s if run else 0.0, "seq": verdict.seq if verdict else None,
                 "goes_on": verdict.goes_on if verdict else False}  # fmt: skip
        extra = {**cand.extra, "rungs": [*recorded(cand), entry]}
        if verdict is None or verdict.goes_on:
            cand = self.archive.update(cand.id, extra=extra)
        if verdict is None:  # the candidate's failure, whatever its fidelity
            failure = ev.failure or f"no {self.objective} returned"
            ev = replace(ev, ok=False, metrics={}, heldout={}, failure=f"{at}: {failure}")
            self._record_candidate(replace(job, purpose="candidate"), ev)
            return
        if verdict.goes_on:
            self._submit_at(cand, job.rung + 1)
            return
        self._candidates_in_flight -= 1
        why = (f"{at}: {self.objective} {value:.6g} ranked {verdict.rank + 1} of "
               f"{verdict.of} there; the top {verdict.top} go on")  # fmt: skip
        done = self.archive.update(
            cand.id, status=Status.STOPPED, failure=why, finished_at=self.clock(), extra=extra,
            wall_s=entry["wall_s"], cpu_s=entry["cpu_s"],
            stdout_tail=run.stdout_tail if run else "", stderr_tail=run.stderr_tail if run else "",
            exit_code=run.exit_code if run else None,
        )  # fmt: skip
        self.stats.count(Status.STOPPED)
        if done.parent_ids:
            self._tell(done, [self.archive.get(i) for i in done.parent_ids])
        self._notify(done)

    def _accept_artifacts(self, job: Job, ev: Evaluation) -> dict[str, Any]:
        """The record's fields for the files the worker kept (moved into the store)."""
        if self.artifacts is None or not (ev.artifacts or ev.artifacts_skipped):
            return {}
        self.artifacts.accept(job.key)
        extra = dict(self.archive.get(job.candidate_id).extra)
        extra["artifacts"] = {k: dict(v) for k, v in ev.artifacts.items()}
        if ev.artifacts_skipped:
            extra["artifacts_skipped"] = list(ev.artifacts_skipped)
        return {"extra": extra}

    def _is_seed(self, job: Job) -> bool:
        return job.purpose == "candidate" and self.archive.get(job.candidate_id).proposer == "seed"

    def _check_seed_metrics(self, job: Job, ev: Evaluation) -> None:
        """The config's metric names against those the task returned for the seed, before
        the seed's record exists for a proposer or the selector to read; on a mismatch
        the seed goes back to pending and the run ends with a ConfigError."""
        try:
            check_seed_metrics(self.objective, self.declared_metrics, ev)
        except ConfigError as exc:
            not_charged(self.archive, job.candidate_id, failure=str(exc))
            self.executor.shutdown(kill=True)
            raise

    def _record_task_error(self, job: Job, ev: Evaluation) -> None:
        """The task's own prepare or score raised: a problem of the run, not of the
        candidate. The candidate is not charged (back to pending, run again on resume;
        a confirmation re-run starts again) and the proposer is not told. The run
        stops after ``max_task_errors`` of them, or at once for the seed."""
        message, tb = split_failure(ev.failure)
        self.stats.task_errors += 1
        self.audit.append(
            "task_error", candidate=job.candidate_id, purpose=job.purpose, error=message,
            traceback=tb,
        )  # fmt: skip
        seed = self._is_seed(job)
        if job.purpose != "confirm":
            self._candidates_in_flight -= 1
            why = f"{message}; the task's error, not charged"  # runs again on resume
            self._notify(not_charged(self.archive, job.candidate_id, failure=why))
        reason = task_error_stop(
            message, seed=seed, count=self.stats.task_errors, limit=self.max_task_errors
        )
        if reason is not None:
            self._halt = f"stopped: {reason}"
            self._task_failure = TaskError(reason, traceback=tb)
        elif job.purpose == "confirm":
            self.executor.submit(job)

    def _detect(self, cand: Candidate) -> Candidate:
        """Gaming detectors, with the first parent and the recent gains as reference."""
        if self.detectors is None:
            return cand
        parent = self.archive.get(cand.parent_ids[0])
        flags = self.detectors.check(Scored.of(cand, parent, self._gains))
        gain = self.detectors.gain(cand, parent)
        if gain is not None and gain > 0:
            self._gains.append(gain)
        return self.archive.update(cand.id, flags=tuple(cand.flags) + flags) if flags else cand

    # -- resume and stop --------------------------------------------------------
    def _requeue_interrupted(self) -> None:
        """Candidates left PENDING or RUNNING by a crash or a stop run again (bounded)."""
        again, failed = left_unfinished(self.archive, self.max_attempts, now=self.clock())
        for _ in range(failed):
            self.stats.count(Status.FAILED)
        for cand in again:
            self._submit(cand)

    def _stop_now(self) -> None:
        running = self.archive.candidates(statuses=(Status.RUNNING,))
        self.executor.shutdown(kill=True)
        for cand in running:  # killed by us, not by their own fault: run again on resume
            not_charged(self.archive, cand.id)
        self.audit.append(
            "stop", mode="now", reason=self._halt or "requested", killed=[c.id for c in running]
        )

    def _apply_requests(self) -> None:
        """Decisions people made while the run goes (approve, reject, rollback)."""
        for path, request in self.requests():
            try:
                answer(path, apply(self.archive, self.audit, request), ok=True)
            except (ControlError, KeyError, ValueError) as exc:
                answer(path, str(exc), ok=False)
        self._refresh_best()

    # -- bookkeeping ------------------------------------------------------------
    def _refresh_best(self) -> None:
        self.stats.follow(self.archive.champion(), self.objective)

    def _rng(self, purpose: str) -> random.Random:
        return self._draws.rng(self.run_seed, purpose, self.archive.size())

    def _notify(self, finished: Candidate | None) -> None:
        if self.observer is not None:
            self.stats.proposer_note = self.proposer.progress()
            self.observer.update(self.stats, finished)
