"""The sandbox contract: run one hostile candidate process and report what happened.

The harness owns every limit: they come from the driver's config, never from a
file the candidate or a proposer can edit. A sandbox never chooses what to run
and never scores; it returns a :class:`~evoforge.candidate.RunResult`, which holds
no metric. ``run`` blocks until the candidate and every process it started are
gone. It is safe to call from several threads at once.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from evoforge.candidate import RunResult


@dataclass(frozen=True)
class Limits:
    """A candidate's resource limits. The fields are the ``[limits]`` keys of
    ``evoforge.toml`` and these are their only defaults (the config reads them here)."""

    wall_seconds: float = 300.0
    cpu_seconds: float | None = None
    """None means wall_seconds times the number of cores allowed (2)."""
    memory_mb: int | None = 4096
    file_size_mb: int = 256
    open_files: int = 256
    processes: int = 64
    scratch_mb: int = 1024
    output_kb: int = 64
    """How much of stdout and of stderr is kept (the tail)."""

    @property
    def output_bytes(self) -> int:
        return self.output_kb * 1024


@dataclass(frozen=True)
class RunSpec:
    argv: tuple[str, ...]
    workdir: Path
    """The candidate's scratch folder: its program files and the task's public inputs."""
    limits: Limits = Limits()
    env: Mapping[str, str] = field(default_factory=dict)
    """The whole environment of the candidate; nothing of the driver's is inherited."""
    hidden_paths: tuple[Path, ...] = ()
    """Paths that must not be visible inside the sandbox (labels, task files, archive)."""


OnStart = Callable[[int], None]
"""Called with the candidate's process-group id as soon as it exists."""


class Sandbox(abc.ABC):
    """Runs a candidate under isolation. ``strength()`` says which layers are active."""

    @abc.abstractmethod
    def run(self, spec: RunSpec, *, on_start: OnStart | None = None) -> RunResult: ...

    def strength(self) -> Mapping[str, str]:
        """Each layer's state, e.g. {"rlimits": "on", "bubblewrap": "missing: ..."}."""
        return {}
