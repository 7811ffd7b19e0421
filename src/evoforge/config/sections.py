"""The run's sections of ``evoforge.toml``: what runs, on what, within which limits,
and how results are judged. Each section holds its keys' only defaults."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Literal

from pydantic import (
    AliasChoices,
    Field,
    field_validator,
    model_validator,
)

from evoforge.config._base import Direction, _Section
from evoforge.sandbox._base import Limits


class ExperimentSection(_Section):
    name: str = "experiment"
    seed: int = 0


class ProgramSection(_Section):
    files: list[str] = Field(min_length=1)
    command: list[str] = Field(min_length=1)
    """argv of a candidate run; ``{python}`` is the interpreter evoforge runs under."""
    artifacts: list[str] = []
    """Files a candidate writes that the run keeps for its champions (paths or glob
    patterns in the candidate's folder, e.g. "model.joblib"): ``evoforge export``."""
    artifact_max_mb: float = Field(default=100.0, gt=0)
    """At most this much of them per candidate; files past it are left out (said)."""

    @field_validator("files", "artifacts")
    @classmethod
    def _relative(cls, files: list[str]) -> list[str]:
        for f in files:
            if Path(f).is_absolute() or ".." in Path(f).parts:
                raise ValueError(f"{f!r} must be a path inside the experiment folder")
        return files


class TaskSection(_Section):
    module: str = "task.py"
    object: str = "task"
    objective: str
    direction: Direction = Direction.MAXIMIZE
    heldout: list[str] = []
    """Test metrics: recorded and reported, never used for any decision."""
    gate: list[str] = []
    """Gate metrics: hidden from proposers and selection like held-out ones; the only
    metrics that may veto a promotion (``promotion.gate_tolerance``)."""

    @model_validator(mode="after")
    def _roles_apart(self) -> TaskSection:
        for role, why in (("heldout", "held-out"), ("gate", "gate")):
            if self.objective in getattr(self, role):
                raise ValueError(
                    f"objective {self.objective!r} is also listed in {role}: {why} metrics "
                    "never drive selection"
                )
        both = sorted(set(self.heldout) & set(self.gate))
        if both:
            raise ValueError(
                f"{', '.join(both)} listed in both heldout and gate: a test metric is never "
                "used for a decision, a gate metric vetoes promotions; put each in one list"
            )
        return self


_LIMITS = Limits()  # the sandbox's Limits holds the defaults; the section only checks


class LimitsSection(_Section):
    wall_seconds: float = Field(default=_LIMITS.wall_seconds, gt=0)
    cpu_seconds: float | None = Field(default=_LIMITS.cpu_seconds, gt=0)
    memory_mb: int | None = Field(default=_LIMITS.memory_mb, gt=0)
    file_size_mb: int = Field(default=_LIMITS.file_size_mb, gt=0)
    open_files: int = Field(default=_LIMITS.open_files, gt=8)
    processes: int = Field(default=_LIMITS.processes, gt=0)
    scratch_mb: int = Field(default=_LIMITS.scratch_mb, gt=0)
    output_kb: int = Field(default=_LIMITS.output_kb, gt=0)
    threads: int = Field(default=1, gt=0)
    """Threads a candidate's numeric libraries may use (OMP_NUM_THREADS etc.)."""

    def limits(self) -> Limits:
        """The sandbox's limits: every key but ``threads``, by the same name."""
        return Limits(**self.model_dump(exclude={"threads"}))


class FidelitySection(_Section):
    """``[fidelity]``: evaluate each new candidate at low fidelity first (asynchronous
    successive halving). A candidate runs at ``rungs[0]`` of the full training budget,
    and goes on to the next rung only if its objective there ranks in the top 1/``eta``
    of every candidate's result at that rung so far (the best of fewer than ``eta``
    goes on); the last rung is the full run, the only one compared, promoted or
    confirmed. The program reads its share as ``EVOFORGE_FIDELITY`` (e.g. epochs times
    the share)."""

    rungs: list[float] = Field(min_length=2)
    """Shares of the full budget, increasing, ending with 1 (e.g. [0.111, 0.333, 1])."""
    eta: float = Field(default=3.0, gt=1)
    """1/eta of a rung's candidates go on to the next."""

    @field_validator("rungs")
    @classmethod
    def _increasing_to_one(cls, rungs: list[float]) -> list[float]:
        if any(not 0 < r <= 1 for r in rungs) or any(a >= b for a, b in itertools.pairwise(rungs)):
            raise ValueError(f"rungs must increase within (0, 1], got {rungs}")
        if rungs[-1] != 1:
            raise ValueError(f"the last rung must be 1 (the full run), got {rungs[-1]}")
        return rungs


class BudgetSection(_Section):
    candidates: int | None = Field(default=100, gt=0)
    """Candidates evaluated (run and scored); rejected and duplicate ones do not count."""
    wall_minutes: float | None = Field(default=None, gt=0)
    cpu_hours: float | None = Field(default=None, gt=0)
    """CPU time of all candidate and confirmation runs together."""
    max_consecutive_rejections: int = Field(default=200, gt=0)

    @model_validator(mode="after")
    def _some_bound(self) -> BudgetSection:
        if self.candidates is None and self.wall_minutes is None:
            raise ValueError("set candidates or wall_minutes (or both): a run needs an end")
        return self


class RunSection(_Section):
    workers: int = Field(default=2, gt=0, le=256)
    executor: Literal["local", "inline", "ray"] = "local"
    max_attempts: int = Field(default=2, gt=0)
    """How often a candidate interrupted by a crash of the driver is started again."""
    max_task_errors: int = Field(default=3, gt=0)
    """Exceptions raised by the task's own prepare or score before the run stops (they
    are not charged to the candidates; one raised for the seed stops the run at once)."""


class RaySection(_Section):
    """Where and how candidates run when ``[run] executor = "ray"`` (needs ``evoforge[ray]``)."""

    address: str | None = None
    """A cluster to join ("auto", "HOST:PORT", "ray://HOST:PORT"); None starts a local Ray."""
    cpus_per_candidate: float = Field(default=1.0, gt=0)
    memory_mb_per_candidate: int | None = Field(default=None, gt=0)
    """Reserved per candidate for Ray's placement; the sandbox's own limit is [limits] memory_mb."""
    max_retries: int = Field(default=3, ge=0)
    """How often a candidate whose worker or node was lost is started again elsewhere."""
    object_store_mb: int | None = Field(default=None, gt=0)
    """Object store size of a local Ray started by evoforge (None: Ray's default)."""


class SelectionSection(_Section):
    population: int = Field(default=20, gt=1)
    """Aging window: only the most recent successful candidates of an island compete."""
    tournament: int = Field(default=5, gt=0)
    islands: int = Field(default=1, gt=0)
    migration_rate: float = Field(default=0.05, ge=0, le=1)
    policy: str | None = None
    """A policy file (e.g. written by ``evoforge meta``; relative to the experiment) that
    picks parents and the mutator's operator weights and step size, in place of the
    tournament settings above; checked against the shipped default before use."""


class PromotionSection(_Section):
    """How a candidate that beats the champion becomes the champion."""

    approval: Literal["auto", "manual", "threshold"] = "auto"
    """auto: promote when confirmed; manual: every promotion waits for a person;
    threshold: waits when the gain exceeds ``threshold_gain`` or the candidate is flagged."""
    threshold_gain: float = Field(default=0.05, ge=0)
    reruns: int = Field(default=3, ge=0)
    """Re-runs with fresh seeds of the challenger and of the champion (0: no confirmation)."""
    k: float = Field(default=2.0, ge=0)
    """The mean paired gain must exceed k standard errors of the paired differences."""
    min_gain: float = Field(default=0.0, ge=0)
    gate_tolerance: float = Field(
        default=0.01, ge=0, validation_alias=AliasChoices("gate_tolerance", "heldout_tolerance")
    )
    """The challenger may not lose more than this on any ``[task] gate`` metric (mean of
    re-runs). ``heldout_tolerance`` is its deprecated name: held-out (test) metrics never
    veto a promotion."""
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    """With per-example scores from the task: the one-sided confidence of the paired
    bootstrap whose lower bound of the mean gain must be above 0."""


class DetectorsSection(_Section):
    """Gaming detectors run after scoring; each raises a named flag."""

    jump_factor: float = Field(default=5.0, gt=1)
    """Flag a gain over the parent above this many times the largest of the recent gains."""
    jump_history: int = Field(default=10, gt=0)
    """How many recent gains must exist before the jump detector judges."""
    heldout_drop: float = Field(default=0.01, ge=0)
    """Flag a child that beats its parent on the search metric while a gate metric falls by more."""
    fast_factor: float = Field(default=10.0, gt=1)
    """Flag a child this many times faster than its parent (parent at least 1 s)."""


class ConstraintsSection(_Section):
    """Static checks of a child's code before it runs (see evoforge.gates.constraints)."""

    enabled: bool = True
    files: list[str] | None = None
    """Program files whose evolve blocks may change (default: all)."""
    allow_imports: list[str] = []
    forbid_imports: list[str] = []
    """Added to the built-in list of forbidden imports."""
    forbid_calls: list[str] = []
    """Added to the built-in list of forbidden calls."""
    max_changed_lines: int | None = Field(default=400, gt=0)


class SandboxSection(_Section):
    layers: Literal["auto", "process"] = "auto"
    """"auto" uses every layer this machine has; "process" only the supervisor and rlimits."""
    allow_weak: bool = False
    """Run even with neither namespaces nor Landlock (recorded in the run)."""


class TrackingSection(_Section):
    """``[tracking]``: every candidate logged to an experiment tracker (MLflow)."""

    mlflow: str = ""
    """An MLflow tracking URI (``sqlite:///mlflow.db``: relative to the experiment folder;
    ``http://host:5000``); empty: no tracking."""
    experiment: str = ""
    """The MLflow experiment (default: ``evoforge-<experiment name>``)."""
    model: str = ""
    """The registered model whose alias ``champion`` follows the run's champion (default:
    the MLflow experiment's name)."""
    interval_s: float = Field(default=2.0, ge=0)
    """Log at most this often while the run goes (always at its end)."""
