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
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evoforge.archive import Archive
from evoforge.candidate import Candidate, Evaluation, Files, Status
from evoforge.config import ConfigError
from evoforge.executors import Executor, Job
from evoforge.executors.task_errors import TASK_ERROR, split_failure
from evoforge.gates import PreRunGate, check_all
from evoforge.gates.detectors import GamingDetectors, visible_flags
from evoforge.governance import Audit, ControlError, answer, apply
from evoforge.loop_checks import check_metric_names, check_seed, seed_failure
from evoforge.loop_state import Budget, Observer, SeedFailed, Stats, StopCheck, TaskError
from evoforge.program import unified_diff
from evoforge.promotion import Promoter
from evoforge.proposers._base import (
    Feedback,
    Parent,
    ProposalError,
    Proposer,
    ProposerBusy,
    ProposerExhausted,
)
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
    clock: Callable[[], float] = time.time
    stats: Stats = field(init=False)
    _rejections_in_a_row: int = field(init=False, default=0)
    _streak: Counter[str] = field(init=False, default_factory=Counter)
    _tries_at_size: tuple[int, int] = field(init=False, default=(-1, 0))
    _exhausted: str = field(init=False, default="")
    _halt: str = field(init=False, default="")
    _task_failure: TaskError | None = field(init=False, default=None)
    _busy_until: float = field(init=False, default=0.0)
    _candidates_in_flight: int = field(init=False, default=0)
    _gains: deque[float] = field(init=False, default_factory=lambda: deque(maxlen=50))

    # -- the loop ---------------------------------------------------------------
    def run(self) -> str:
        """Run until the budget is spent or a stop is asked; returns why it ended."""
        self.stats = self._stats_from_archive()
        self.proposer.load_state(self.archive.get_meta("proposer_state", {}))
        self._requeue_interrupted()
        if self.archive.size() == 0:
            check_seed(self.gates, self.seed_files)
            self._submit(self._record_seed())
        stopping = None
        while True:
            stopping = stopping or self.stop() or self._halt_reason()
            if stopping == "now":
                self._stop_now()
                return self._halt or "stopped"
            self._apply_requests()
            if not stopping:
                self._submit_confirmations()
            # A bounded turn of proposals, then what finished and what people asked: a
            # streak of rejected proposals never keeps a result or a stop waiting.
            turn_ends, proposed = time.monotonic() + TURN_SECONDS, 0
            while not stopping and self._may_start_another():
                if proposed >= PROPOSALS_PER_TURN or time.monotonic() >= turn_ends:
                    break
                proposed += 1
                if not self._propose_and_submit():
                    if self.executor.in_flight() == 0 and not self._exhausted:
                        # no successful candidate exists and none is running: none ever will
                        raise SeedFailed(f"no candidate to select from: {self._seed_failure()}")
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
                time.sleep(min(0.2, self._busy_until - self.clock()))  # the proposer asked to wait
                continue
            if self.executor.in_flight() == 0 and (stopping or not self._may_start_another()):
                if not stopping and self._submit_confirmations():
                    continue  # the budget is spent, but a challenger is still being judged
                self.executor.shutdown(kill=False)
                reason = self._halt or ("stopped" if stopping else self._why_done())
                self.audit.append("run_end", reason=reason, evaluated=self.stats.evaluated)
                return reason

    def _may_start_another(self) -> bool:
        if self.executor.in_flight() >= min(self.workers, self.executor.capacity()):
            return False
        started = self.stats.evaluated + self._candidates_in_flight
        if self.budget.candidates is not None and started >= self.budget.candidates:
            return False
        if self.budget.deadline is not None and self.clock() >= self.budget.deadline:
            return False
        if self.budget.cpu_seconds is not None and self.stats.cpu_s >= self.budget.cpu_seconds:
            return False
        if self._exhausted or self._busy():
            return False
        return self._rejections_in_a_row < self.budget.max_consecutive_rejections

    def _busy(self) -> bool:
        return self.clock() < self._busy_until

    def _halt_reason(self) -> str | None:
        return "now" if self._halt else None

    def _seed_failure(self) -> str:
        seed = self.archive.get(1)
        return f"the seed is {seed.status.value}" + (f": {seed.failure}" if seed.failure else "")

    def _why_done(self) -> str:
        if self.budget.cpu_seconds is not None and self.stats.cpu_s >= self.budget.cpu_seconds:
            return "CPU budget spent"
        if self._exhausted:
            return f"proposer exhausted: {self._exhausted}"
        if self._rejections_in_a_row >= self.budget.max_consecutive_rejections:
            return f"proposer exhausted: {self._streak_summary()}"
        if self.budget.candidates is not None and self.stats.evaluated >= self.budget.candidates:
            return "finished"
        return "wall budget spent"

    def _streak_summary(self) -> str:
        """Why the last proposals in a row made nothing to run, most frequent first."""
        n = self._rejections_in_a_row
        common = self._streak.most_common(3)
        if len(common) == 1:
            return f"{n} proposals in a row made nothing to run, every one: {common[0][0]}"
        listed = "; ".join(f"{why} ({count})" for why, count in common)
        return f"{n} proposals in a row made nothing to run: {listed}"

    def _missed(self, why: str) -> None:
        """One more proposal in the current streak that made nothing to run."""
        self._rejections_in_a_row += 1
        self._streak[re.sub(r"#\d+", "#N", why)[:300]] += 1

    # -- proposing --------------------------------------------------------------
    def _propose_and_submit(self) -> bool:
        """Propose one child and run it (or record why not); False when no parent exists yet."""
        size, tries = self._tries_at_size
        self._tries_at_size = (self.archive.size(), tries + 1 if size == self.archive.size() else 0)
        island, parents = self.selector.pick(
            self.archive, objective=self.objective, maximize=self.maximize,
            rng=self._rng("select"), n=self.proposer.arity,
        )  # fmt: skip
        if not parents:
            return False
        with_code = [self._parent(p) for p in parents]
        feedback = self._feedback()
        try:
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
        base = Candidate(
            id=0,
            code_hash=code_hash,
            parent_ids=tuple(p.id for p in parents),
            generation=1 + max(p.generation for p in parents),
            island=island,
            proposer=self.proposer.name,
            operator=proposal.operator,
            diff=unified_diff(with_code[0].files, child),
            note=proposal.note,
            extra=self._store_meta(proposal.meta),
        )
        decision = check_all(self.gates, child, seed=self.seed_files)
        if not decision.ok:
            self.stats.rejected += 1
            self._not_run(base, Status.REJECTED, "; ".join(decision.reasons), parents)
            return True
        earlier = self.archive.find_code(code_hash)
        if earlier is not None:
            self.stats.duplicates += 1
            self._not_run(base, Status.DUPLICATE, f"same code as #{earlier.id}", parents)
            return True
        self._rejections_in_a_row = 0
        self._streak.clear()
        self._submit(self.archive.add(base))
        return True

    def _not_run(self, base: Candidate, status: Status, why: str, parents: list[Candidate]) -> None:
        """A child kept from running (gates, duplicate): recorded, and told to the
        proposer, so a bandit learns that the operator's proposal was wasted."""
        child = self.archive.add(_finished(base, status, failure=why))
        self._missed(why if status == Status.REJECTED else "same code as an earlier candidate")
        self.proposer.tell(
            self._for_proposer(child), [self._for_proposer(p) for p in parents], self._feedback()
        )
        self._save_proposer_state()

    def _for_proposer(self, c: Candidate) -> Candidate:
        # Held-out metrics, and flags built from them, never reach a proposer: strip
        # them here, in one place.
        return replace(c, heldout={}, flags=visible_flags(c.flags))

    def _parent(self, c: Candidate) -> Parent:
        return Parent(self._for_proposer(c), self.archive.get_code(c.code_hash))

    def _feedback(self) -> Feedback:
        direction = "maximize" if self.maximize else "minimize"
        if not self.proposer.wants_context:
            return Feedback(objective=self.objective, direction=direction, seed=self.seed_files)
        top = self.archive.top(self.objective, maximize=self.maximize, limit=3)
        # Beside the best, a few recent successes (often other islands, other ideas).
        seen = {c.id for c in top}
        recent_ok = [c for c in self.archive.recent(island=None, limit=8) if c.id not in seen]
        recent = self.archive.candidates(
            statuses=(Status.FAILED,), since_id=max(0, self.archive.size() - 30)
        )
        return Feedback(
            objective=self.objective,
            direction=direction,
            seed=self.seed_files,
            best=self._parent(top[0]) if top else None,
            inspirations=[self._parent(c) for c in [*top[1:], *recent_ok[-2:]]],
            recent_failures=[self._for_proposer(c) for c in recent[-3:]],
        )

    def close(self) -> None:
        """Stop the proposer's background work and keep its last state (run end, any way)."""
        self.proposer.close()
        self._save_proposer_state()

    def _save_proposer_state(self) -> None:
        state = self.proposer.state()
        if state:
            self.archive.set_meta("proposer_state", dict(state))

    def _store_meta(self, meta: Mapping[str, Any]) -> dict[str, Any]:
        extra = {k: v for k, v in meta.items() if k not in ("prompt", "response")}
        for key in ("prompt", "response"):
            if key in meta:
                extra[f"{key}_blob"] = self.archive.put_blob(str(meta[key]))
        return extra

    def _record_failed_proposal(
        self, exc: ProposalError, parents: list[Candidate], island: int
    ) -> None:
        """A proposal that produced no usable child: recorded (with its raw answer) when it cost something."""
        self.stats.proposal_errors += 1
        self._missed(str(exc))
        self._save_proposer_state()  # a rejected answer may have cost tokens
        if not exc.meta:
            return
        self.archive.add(
            Candidate(
                id=0, code_hash=parents[0].code_hash, parent_ids=tuple(p.id for p in parents),
                generation=1 + max(p.generation for p in parents), island=island,
                proposer=self.proposer.name, operator=str(exc.meta.get("operator", "")),
                status=Status.REJECTED, failure=f"proposal rejected: {exc}",
                finished_at=self.clock(), extra=self._store_meta(exc.meta),
            )
        )  # fmt: skip
        self.stats.rejected += 1

    def _record_seed(self) -> Candidate:
        code_hash = self.archive.put_code(self.seed_files)
        return self.archive.add(
            Candidate(id=0, code_hash=code_hash, proposer="seed", operator="seed")
        )

    # -- running ----------------------------------------------------------------
    def _submit(self, cand: Candidate) -> None:
        cand = self.archive.update(
            cand.id, status=Status.RUNNING, started_at=self.clock(), attempts=cand.attempts + 1
        )
        files = self.archive.get_code(cand.code_hash)
        self.executor.submit(Job(cand.id, files, cand.attempts, self.run_seed))
        self._candidates_in_flight += 1
        self.stats.in_flight = self.executor.in_flight()

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
        self._candidates_in_flight -= 1
        if self._is_seed(job):
            self._check_seed_metrics(job, ev)
        run = ev.run
        cand = self.archive.update(
            job.candidate_id,
            status=Status.SUCCEEDED if ev.ok else Status.FAILED,
            metrics=dict(ev.metrics),
            heldout=dict(ev.heldout),
            examples=self.archive.put_blob(ev.examples) if ev.examples else "",
            failure=ev.failure,
            flags=ev.flags,
            finished_at=self.clock(),
            wall_s=run.wall_s if run else 0.0,
            cpu_s=run.cpu_s if run else 0.0,
            max_rss_kb=run.max_rss_kb if run else 0,
            exit_code=run.exit_code if run else None,
            stdout_tail=run.stdout_tail if run else "",
            stderr_tail=run.stderr_tail if run else "",
        )
        self.stats.evaluated += 1
        if ev.ok:
            self.stats.succeeded += 1
        else:
            self.stats.failed += 1
        if cand.proposer == "seed" and not ev.ok:
            self.executor.shutdown(kill=True)
            raise SeedFailed(seed_failure(ev, cand.stderr_tail))
        if ev.ok and cand.parent_ids:
            cand = self._detect(cand)
        if cand.flags:
            self.audit.append("flags", candidate=cand.id, flags=list(cand.flags))
        if cand.parent_ids:
            parents = [self._for_proposer(self.archive.get(i)) for i in cand.parent_ids]
            self.proposer.tell(self._for_proposer(cand), parents, self._feedback())
            self._save_proposer_state()
        if ev.ok and self.archive.champion() is None:
            self.archive.move_champion(cand.id, action="seed", reason="the seed program")
        elif ev.ok:
            self.promoter.consider(cand)
        self._refresh_best()
        self._notify(cand)

    def _is_seed(self, job: Job) -> bool:
        return job.purpose == "candidate" and self.archive.get(job.candidate_id).proposer == "seed"

    def _check_seed_metrics(self, job: Job, ev: Evaluation) -> None:
        """The config's metric names against those the task returned for the seed, before
        the seed's record exists for a proposer or the selector to read; on a mismatch
        the seed goes back to pending and the run ends with a ConfigError."""
        if not (ev.metrics or ev.heldout):
            return  # the seed failed before the task scored it: SeedFailed says why
        declared = {"[task] objective": [self.objective], **self.declared_metrics}
        try:
            check_metric_names(declared, [*ev.metrics, *ev.heldout])
        except ConfigError as exc:
            self._not_charged(job.candidate_id, failure=str(exc))
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
            self._notify(self._not_charged(job.candidate_id, failure=why))
        if seed or self.stats.task_errors >= self.max_task_errors:
            times = "on the seed" if seed else f"{self.stats.task_errors} times"
            reason = f"the task raised {times}: {message}"
            self._halt = f"stopped: {reason}"
            self._task_failure = TaskError(reason, traceback=tb)
        elif job.purpose == "confirm":
            self.executor.submit(job)

    def _not_charged(self, cid: int, *, failure: str) -> Candidate:
        """Back to pending, its attempt not counted: the run's fault, not the candidate's."""
        cand = self.archive.get(cid)
        return self.archive.update(
            cid, status=Status.PENDING, attempts=max(0, cand.attempts - 1), failure=failure
        )

    def _detect(self, cand: Candidate) -> Candidate:
        """Gaming detectors, with the first parent and the recent gains as reference."""
        if self.detectors is None:
            return cand
        parent = self.archive.get(cand.parent_ids[0])
        flags = self.detectors.check(cand, parent, list(self._gains))
        gain = self.detectors.gain(cand, parent)
        if gain is not None and gain > 0:
            self._gains.append(gain)
        return self.archive.update(cand.id, flags=tuple(cand.flags) + flags) if flags else cand

    # -- resume and stop --------------------------------------------------------
    def _requeue_interrupted(self) -> None:
        """Candidates left PENDING or RUNNING by a crash or a stop run again (bounded)."""
        for cand in self.archive.candidates(statuses=(Status.PENDING, Status.RUNNING)):
            if cand.attempts >= self.max_attempts:
                self.archive.update(
                    cand.id, status=Status.FAILED, finished_at=self.clock(),
                    failure=f"interrupted {cand.attempts} times (driver stopped or crashed while it ran)",
                )  # fmt: skip
                self.stats.evaluated += 1
                self.stats.failed += 1
            else:
                self._submit(cand)

    def _stop_now(self) -> None:
        running = self.archive.candidates(statuses=(Status.RUNNING,))
        self.executor.shutdown(kill=True)
        for cand in running:  # killed by us, not by their own fault: run again on resume
            self.archive.update(cand.id, status=Status.PENDING, attempts=max(0, cand.attempts - 1))
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
    def _stats_from_archive(self) -> Stats:
        counts = self.archive.counts()
        stats = Stats(
            budget=self.budget.candidates,
            evaluated=counts[Status.SUCCEEDED] + counts[Status.FAILED],
            succeeded=counts[Status.SUCCEEDED],
            failed=counts[Status.FAILED],
            rejected=counts[Status.REJECTED],
            duplicates=counts[Status.DUPLICATE],
            started_at=self.clock(),
            elapsed_before=float(self.archive.get_meta("elapsed_s", 0.0) or 0.0),
        )
        self.stats = stats
        champ = self.archive.champion()
        if champ is not None:
            self._set_best(champ)
        return stats

    def _refresh_best(self) -> None:
        champ = self.archive.champion()
        if champ is not None and champ.id != self.stats.champion_id:
            self._set_best(champ)

    def _set_best(self, champ: Candidate) -> None:
        self.stats.best = champ.score(self.objective)
        self.stats.best_heldout = dict(champ.heldout)
        self.stats.champion_id = champ.id

    def _rng(self, purpose: str) -> random.Random:
        # Derived from the run seed, the archive's size and how often a proposal was
        # tried at that size: reproducible, a resumed run does not replay the choices it
        # already made, and a failed proposal (which records nothing) is not retried
        # with the very draws that made it fail.
        size = self.archive.size()
        tries = self._tries_at_size[1] if self._tries_at_size[0] == size else 0
        return random.Random(f"{self.run_seed}:{purpose}:{size}" + (f":{tries}" if tries else ""))

    def _notify(self, finished: Candidate | None) -> None:
        if self.observer is not None:
            self.stats.proposer_note = self.proposer.progress()
            self.observer.update(self.stats, finished)


def _finished(base: Candidate, status: Status, *, failure: str) -> Candidate:
    now = time.time()
    return Candidate(**{**base.__dict__, "status": status, "failure": failure, "finished_at": now})
