"""Optuna as a proposer: a black-box optimizer over a program's declared parameters.

Each proposal is one Optuna trial: ``study.ask`` over distributions built from the
program's declared space (:func:`~evoforge.proposers.sites.declared_space`), its
values written into the code with :func:`~evoforge.proposers.sites.set_values`.
``tell`` reports the child's score to the trial (a failed child is a failed trial).

Specs map to distributions: ``choice`` -> categorical, ``bool`` -> categorical
``[False, True]``, ``int`` -> int (log scale when the range spans a factor of ten
from a positive low end, as the mutator treats it), ``float``/``log`` -> float
(log for ``log``), and a numeric list ``NAME`` -> an int ``NAME.len`` plus one
parameter ``NAME[i]`` per possible element, of which the first ``len`` are used.
Floats are written with four significant digits, like the mutator's.

Trials and candidates: the proposal's ``meta["optuna_trial"]`` names the trial, and
``tell`` finds it there. Programs already evaluated (parents, and any child told or
observed) are remembered by code hash: a trial that asks for one of them is told
the known score at once and another is asked, so the loop is not handed a duplicate.
Parents the proposer did not write (the seed, children of other proposers in a mix)
are added to the study as completed trials, so the sampler knows them; so is every
child of another member of a portfolio (``learn``, which is given the child's code). A trial
whose child never finishes (rejected by a gate) is failed after ``stale_after``
further proposals, so it does not weigh on samplers that account for running trials.

Resume: ``state`` holds every trial (params, value, state, candidate id, code hash)
and the distributions; ``load_state`` keeps it and the study is rebuilt with
``add_trial`` at the next proposal, so the sampler continues informed. A trial
that was running at the save is completed when its candidate finishes after resume.

Randomness: the sampler is created afresh for every proposal, seeded from the
loop's ``rng``, so runs are reproducible and a proposer holds no hidden random state.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import math
import random
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    distribution_to_json,
    json_to_distribution,
)
from optuna.study import StudyDirection
from optuna.trial import TrialState, create_trial

from evoforge.candidate import Candidate, Files, Status, code_hash
from evoforge.config import OptunaSection
from evoforge.fidelity import rung_values
from evoforge.proposers._base import (
    Feedback,
    Parent,
    Proposal,
    ProposalError,
    Proposer,
    ProposerExhausted,
)
from evoforge.proposers.optuna_space import (
    distributions,
    params_of,
    suggest_active,
    trial_values,
)
from evoforge.proposers.params import ParamSpecError
from evoforge.proposers.sites import _named, declared_space, find_sites, set_values
from evoforge.proposers.values import Value

SAMPLER_ALIASES: Mapping[str, str] = {
    "tpe": "TPESampler",
    "random": "RandomSampler",
    "cmaes": "CmaEsSampler",
    "gp": "GPSampler",
    "qmc": "QMCSampler",
    "nsgaii": "NSGAIISampler",
    "nsgaiii": "NSGAIIISampler",
    "bruteforce": "BruteForceSampler",
}
_STATE_VERSION = 1


def sampler_class(name: str) -> type[optuna.samplers.BaseSampler]:
    """The Optuna sampler class named by an alias ("tpe") or class name; ValueError if none."""
    cls_name = SAMPLER_ALIASES.get(name.lower(), name)
    cls = getattr(optuna.samplers, cls_name, None)
    if not (isinstance(cls, type) and issubclass(cls, optuna.samplers.BaseSampler)):
        known = ", ".join([*SAMPLER_ALIASES, "or an optuna.samplers class name"])
        raise ValueError(f"unknown Optuna sampler {name!r}; known: {known}")
    if cls_name == "GPSampler" and importlib.util.find_spec("torch") is None:
        raise ValueError(
            "Optuna's GP sampler needs torch, which is not installed: pip install "
            "'evoforge[torch]', or choose another sampler (tpe)"
        )
    return cls


@dataclass
class _Trial:
    id: int
    params: dict[str, Any]
    state: str  # "pending", "complete", "fail" or "pruned"
    hash: str
    value: float | None = None
    candidate: int | None = None
    steps: dict[str, float] = field(default_factory=dict)
    """A pruned trial's results at its fidelity rungs (rung index -> objective)."""
    number: int | None = None  # the live trial's number in this session's study


_DEFAULTS = OptunaSection()  # the keyword defaults are [proposer.optuna]'s, written once there


class OptunaProposer(Proposer):
    """Proposes the values of declared parameters with an Optuna sampler.

    ``sampler`` is an alias (``tpe``, ``random``, ``cmaes``, ``gp``, ``qmc``...) or an
    ``optuna.samplers`` class name; ``sampler_options`` are its keyword arguments
    (never ``seed``: the sampler is seeded from the run). ``base`` says whose code the
    values are written into: ``"seed"`` (the default; the objective is then a function
    of the parameters alone) or ``"parent"`` (keeps other proposers' edits in a mix).
    """

    name = "optuna"

    def __init__(
        self,
        *,
        sampler: str = _DEFAULTS.sampler,
        sampler_options: Mapping[str, Any] | None = None,
        base: str = _DEFAULTS.base,
        max_tries: int = 16,
        stale_after: int = 64,
    ) -> None:
        self.sampler = sampler
        self.sampler_options = sampler_options
        self.base = base
        self.max_tries = max_tries
        self.stale_after = stale_after
        self._study: optuna.Study | None = None
        self._trials: dict[int, _Trial] = {}
        self._known: dict[str, float | None] = {}
        self._distributions: dict[str, BaseDistribution] = {}
        self._direction = ""
        self._restored: Mapping[str, Any] = {}

    @property
    def operators(self) -> tuple[str, ...]:
        return (self.sampler.lower(),)

    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        study = self._ensure_study(feedback.direction)
        if self.base == "seed" and feedback.seed:
            base = feedback.seed
        elif parents:
            base = parents[0].files
        else:
            raise ProposalError("the Optuna proposer needs the seed's code or a parent")
        try:
            space = declared_space(base)
        except ParamSpecError as exc:
            raise ProposalError(f"cannot read the program's parameters: {exc}") from exc
        if not space:
            raise ProposalError(
                "no declared parameter (`NAME = literal  # evolve: SPEC`) for Optuna to set"
            )
        dists = {k: d for name, spec in space.items() for k, d in distributions(name, spec)}
        self._distributions.update(dists)
        named = _named(find_sites(base))
        conditional = any(site.when for site in named.values())
        for parent in parents:
            self._import(parent, feedback.objective)
        self._expire_stale()
        try:
            study.sampler = self._make_sampler(rng.getrandbits(32))
        except (TypeError, ValueError) as exc:  # a setting, not this proposal: end the run
            raise ProposerExhausted(f"cannot create the Optuna sampler: {exc}") from exc
        running = {t.hash for t in self._trials.values() if t.state == "pending"}
        for _ in range(self.max_tries):
            # quiet: a sampler logs a warning whenever it samples a parameter outside the
            # space all trials share (e.g. a list's optional elements): noise for a user
            with _one_torch_thread(self.sampler), _quiet():
                if conditional:  # define-by-run: only the parameters whose `when` holds
                    trial = study.ask()
                    active = suggest_active(trial, named)
                else:
                    trial = study.ask(fixed_distributions=dists)
                    active = list(space)
            values = trial_values({n: space[n] for n in active}, trial.params)
            try:
                child = set_values(base, values)
            except (KeyError, ValueError) as exc:
                study.tell(trial, state=TrialState.FAIL)
                raise ProposalError(f"cannot write trial values into the code: {exc}") from exc
            record = self._add(trial.params, code_hash(child), number=trial.number)
            if record.hash in self._known:  # evaluated before: its score is known
                self._finish(record, self._known[record.hash])
                continue
            if record.hash in running:  # the same program is running now
                self._finish(record, None)
                continue
            return Proposal(
                files=child,
                operator=self.sampler.lower(),
                note=_note(record.id, values, base),
                meta={"optuna_trial": record.id},
            )
        raise ProposalError(
            f"{self.max_tries} trials in a row asked for programs already evaluated or "
            "running: the declared space looks exhausted"
        )

    def applies(self, seed: Files) -> str:
        try:
            return "" if declared_space(seed) else "no declared parameter for Optuna to set"
        except ParamSpecError as exc:
            return f"cannot read the program's parameters: {exc}"

    def tell(self, child: Candidate, parents: Sequence[Candidate], feedback: Feedback) -> None:
        self.observe(child, feedback)
        tid = child.extra.get("optuna_trial")
        record = self._trials.get(tid) if isinstance(tid, int) else None
        if record is None or record.state != "pending":
            return
        if child.status != Status.DUPLICATE:
            record.candidate = child.id
        # A duplicate takes the earlier program's score when it is known; a child a
        # gate refused, or a duplicate of one still running, is a failed trial; one
        # stopped at a low fidelity rung is a pruned trial with its rung results.
        self._finish(record, self._known.get(child.code_hash), steps=_rung_steps(child, feedback))

    def observe(self, child: Candidate, feedback: Feedback) -> None:
        """Remember a finished child's score by code hash (used for children of others in a mix)."""
        self._ensure_study(feedback.direction)
        if child.status == Status.DUPLICATE:
            return  # not run: the earlier program's score, if any, is already known
        self._known[child.code_hash] = _score(child, feedback.objective)

    def learn(self, child: Candidate, files: Files, feedback: Feedback) -> None:
        """A finished child another proposer wrote, with its code: remembered by hash and,
        when its declared values fit the space, added to the study as a completed trial
        (a failed child as a failed one), so the sampler models the whole run."""
        self.observe(child, feedback)
        if not child.status.was_evaluated():
            return  # not run (a duplicate, a gate's refusal): nothing new about the space
        if any(t.hash == child.code_hash for t in self._trials.values()):
            return
        try:
            space = declared_space(files)
        except ParamSpecError:
            return
        self._distributions.update(
            {k: d for name, spec in space.items() for k, d in distributions(name, spec)}
        )
        params = params_of(files, self._distributions)
        if params is None:
            return
        record = self._add(params, child.code_hash, number=None)
        record.candidate = child.id
        self._finish(record, self._known.get(child.code_hash), steps=_rung_steps(child, feedback))

    def state(self) -> Mapping[str, Any]:
        if self._study is None:
            return self._restored  # nothing happened since load_state
        return {
            "version": _STATE_VERSION,
            "sampler": self.sampler,
            "direction": self._direction,
            "distributions": {k: distribution_to_json(d) for k, d in self._distributions.items()},
            "trials": [{**asdict(t), "number": None} for t in self._trials.values()],
            "known": dict(self._known),
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        if state and state.get("version") != _STATE_VERSION:
            raise ValueError(f"unknown Optuna proposer state version {state.get('version')!r}")
        self._restored = state
        self._study = None

    # -- internals --------------------------------------------------------------
    def _ensure_study(self, direction: str) -> optuna.Study:
        if self._study is not None:
            return self._study
        restored = self._restored
        self._direction = str(restored.get("direction") or direction)
        storage = optuna.storages.InMemoryStorage()
        maximize = self._direction == "maximize"
        with _quiet():  # the storage logs a line for every study it creates
            storage.create_new_study(
                directions=[StudyDirection.MAXIMIZE if maximize else StudyDirection.MINIMIZE],
                study_name="evoforge",
            )
        self._study = optuna.Study(study_name="evoforge", storage=storage)
        self._distributions = {
            k: json_to_distribution(v) for k, v in restored.get("distributions", {}).items()
        }
        self._known = {str(k): v for k, v in restored.get("known", {}).items()}
        self._trials = {}
        for t in restored.get("trials", []):
            record = _Trial(**t)
            self._trials[record.id] = record
            if record.state != "pending":
                self._add_frozen(record.params, record.value, fail=record.state == "fail",
                                 steps=record.steps)  # fmt: skip
        return self._study

    def _make_sampler(self, seed: int) -> optuna.samplers.BaseSampler:
        cls = sampler_class(self.sampler)
        options = dict(self.sampler_options or {})
        if "seed" in options:
            raise ValueError("sampler options may not set seed: the sampler is seeded from the run")
        if "seed" in inspect.signature(cls).parameters:
            options["seed"] = seed
        with warnings.catch_warnings():  # TPE's `group` (conditional spaces) is "experimental"
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return cls(**options)

    def _add(self, params: Mapping[str, Any], hash_: str, *, number: int | None) -> _Trial:
        record = _Trial(len(self._trials), dict(params), "pending", hash_, number=number)
        self._trials[record.id] = record
        return record

    def _finish(
        self, record: _Trial, value: float | None, *, steps: Mapping[str, float] | None = None
    ) -> None:
        assert self._study is not None
        if steps and value is None:  # stopped at a low rung: pruned, with its rung results
            record.state, record.value, record.steps = "pruned", None, dict(steps)
            if record.number is not None:  # the live trial leaves; a pruned copy models it
                self._study.tell(record.number, state=TrialState.FAIL)
            self._add_frozen(record.params, None, fail=False, steps=record.steps)
            return
        record.state, record.value = ("fail", None) if value is None else ("complete", value)
        if record.number is not None:
            if value is None:
                self._study.tell(record.number, state=TrialState.FAIL)
            else:
                self._study.tell(record.number, value)
        else:  # asked before a resume: the live trial is gone, add its outcome instead
            self._add_frozen(record.params, value, fail=value is None)

    def _add_frozen(
        self, params: Mapping[str, Any], value: float | None, *, fail: bool,
        steps: Mapping[str, float] | None = None,
    ) -> None:  # fmt: skip
        assert self._study is not None
        dists = {k: self._distributions[k] for k in params if k in self._distributions}
        if len(dists) < len(params):
            return  # a parameter no longer declared: the trial cannot be rebuilt
        if steps and value is None and not fail:
            state = TrialState.PRUNED
        else:
            state = TrialState.FAIL if fail else TrialState.COMPLETE
        self._study.add_trial(
            create_trial(
                state=state,
                value=value if state == TrialState.COMPLETE else None,
                params=dict(params),
                distributions=dists,
                intermediate_values={int(k): v for k, v in (steps or {}).items()},
            )
        )

    def _import(self, parent: Parent, objective: str) -> None:
        """A parent not written by this proposer becomes a completed trial."""
        h = parent.candidate.code_hash
        if h in self._known:
            return
        value = _score(parent.candidate, objective)
        self._known[h] = value
        params = params_of(parent.files, self._distributions)
        if value is None or params is None:
            return
        record = self._add(params, h, number=None)
        record.candidate = parent.candidate.id
        self._finish(record, value)

    def _expire_stale(self) -> None:
        newest = len(self._trials)
        for record in self._trials.values():
            if record.state == "pending" and newest - record.id > self.stale_after:
                self._finish(record, None)


def _rung_steps(c: Candidate, feedback: Feedback) -> dict[str, float]:
    """A STOPPED candidate's objective at each fidelity rung it ran (``[fidelity]``)."""
    if c.status != Status.STOPPED:
        return {}
    return {str(rung): v for rung, v in rung_values(c, feedback.objective).items()}


def _score(c: Candidate, objective: str) -> float | None:
    value = c.score(objective) if c.status == Status.SUCCEEDED else None
    return value if value is not None and math.isfinite(value) else None


def _note(trial: int, values: Mapping[str, Value], base: Files) -> str:
    before = {name: site.value for name, site in _named(find_sites(base)).items()}
    changed = [f"{k}={_short(v)}" for k, v in values.items() if before.get(k) != v]
    shown = ", ".join(changed[:6]) + (f" (+{len(changed) - 6} more)" if len(changed) > 6 else "")
    return f"trial {trial}: {shown or 'same values as the base'}"


def _short(v: Value) -> str:
    return re.sub(r"\s+", "", repr(list(v) if isinstance(v, tuple) else v))


@contextmanager
def _one_torch_thread(sampler: str) -> Iterator[None]:
    """Optuna's GP fits its model with torch, on every core by default; the driver shares
    the cores with the workers running candidates, and one thread was faster there (a
    3-parameter GP ask on 2 loaded cores: 0.59 s with one thread, 1.12 s with all)."""
    if sampler_class(sampler).__name__ != "GPSampler":
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def _quiet() -> Iterator[None]:
    logger = logging.getLogger("optuna")
    level = logger.level
    logger.setLevel(logging.ERROR)  # its fallback warnings too: one per parameter and trial
    try:
        yield
    finally:
        logger.setLevel(level)
