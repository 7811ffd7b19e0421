"""What the driver hands a runner: one run's context and one candidate's job."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from evoforge.sandbox._base import Limits


@dataclass(frozen=True)
class RunContext:
    """Everything a worker needs for every candidate of one run (picklable)."""

    experiment: Path
    task_module: str
    task_object: str
    command: tuple[str, ...]
    limits: Limits
    heldout: tuple[str, ...]
    scratch_root: Path
    active_dir: Path
    sandbox_layers: str = "auto"
    allow_weak: bool = False
    threads: int = 1
    task_hashes: Mapping[str, str] = field(default_factory=dict)
    """sha256 of the task's files taken when the run started; checked before each scoring."""
    artifacts: tuple[str, ...] = ()
    """``[program] artifacts``: what a scored candidate's folder keeps (:mod:`evoforge.artifacts`)."""
    artifact_root: Path | None = None
    artifact_max_bytes: int = 0


@dataclass(frozen=True)
class Job:
    candidate_id: int
    files: Mapping[str, str]
    attempt: int
    seed: int
    purpose: str = "candidate"
    """"candidate" for a first evaluation (at full fidelity), "rung" for one at a lower
    fidelity rung, "confirm" for a re-run with a fresh seed."""
    fidelity: float = 1.0
    """The share of the full training budget (``[fidelity]`` rungs): EVOFORGE_FIDELITY."""
    rung: int = -1
    """The rung's index for a "rung" job."""

    @property
    def key(self) -> str:
        """Unique among jobs in flight: names the scratch folder and the pid file."""
        if self.purpose == "confirm":
            return f"c{self.candidate_id}-s{self.seed}"
        if self.purpose == "rung":
            return f"c{self.candidate_id}-a{self.attempt}-r{self.rung}"
        return f"c{self.candidate_id}-a{self.attempt}"
