"""Experiment configuration: ``evoforge.toml``, its models, and loading with clear errors.

Every limit the harness enforces lives here, in the driver's config, never in a
file a candidate or proposer can edit. Loading checks everything a run needs
before anything runs: unknown keys, wrong types, missing files, unbalanced
evolve markers, malformed parameter annotations. Errors name the file, the key
and what is wrong.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CONFIG_NAME = "evoforge.toml"


class ConfigError(ValueError):
    """The experiment cannot run as configured; the message says where and why."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExperimentSection(_Section):
    name: str = "experiment"
    seed: int = 0


class ProgramSection(_Section):
    files: list[str] = Field(min_length=1)
    command: list[str] = Field(min_length=1)
    """argv of a candidate run; ``{python}`` is the interpreter evoforge runs under."""

    @field_validator("files")
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
    direction: Literal["maximize", "minimize"] = "maximize"
    heldout: list[str] = []

    @model_validator(mode="after")
    def _objective_not_heldout(self) -> TaskSection:
        if self.objective in self.heldout:
            raise ValueError(
                f"objective {self.objective!r} is also listed in heldout: held-out metrics "
                "never drive selection"
            )
        return self


class LimitsSection(_Section):
    wall_seconds: float = Field(default=300.0, gt=0)
    cpu_seconds: float | None = Field(default=None, gt=0)
    memory_mb: int | None = Field(default=4096, gt=0)
    file_size_mb: int = Field(default=256, gt=0)
    open_files: int = Field(default=256, gt=8)
    processes: int = Field(default=64, gt=0)
    scratch_mb: int = Field(default=1024, gt=0)
    output_kb: int = Field(default=64, gt=0)
    threads: int = Field(default=1, gt=0)
    """Threads a candidate's numeric libraries may use (OMP_NUM_THREADS etc.)."""


class BudgetSection(_Section):
    candidates: int | None = Field(default=100, gt=0)
    """Candidates evaluated (run and scored); rejected and duplicate ones do not count."""
    wall_minutes: float | None = Field(default=None, gt=0)
    max_consecutive_rejections: int = Field(default=200, gt=0)

    @model_validator(mode="after")
    def _some_bound(self) -> BudgetSection:
        if self.candidates is None and self.wall_minutes is None:
            raise ValueError("set candidates or wall_minutes (or both): a run needs an end")
        return self


class RunSection(_Section):
    workers: int = Field(default=2, gt=0, le=256)
    executor: Literal["local", "inline"] = "local"
    max_attempts: int = Field(default=2, gt=0)
    """How often a candidate interrupted by a crash of the driver is started again."""


class ProposerSection(_Section):
    kind: Literal["mutate"] = "mutate"
    crossover_rate: float = Field(default=0.15, ge=0, le=1)
    multi_rate: float = Field(default=0.2, ge=0, le=1)
    sigma: float = Field(default=0.5, gt=0)


class SelectionSection(_Section):
    kind: Literal["tournament"] = "tournament"
    population: int = Field(default=20, gt=1)
    """Aging window: only the most recent successful candidates of an island compete."""
    tournament: int = Field(default=5, gt=0)
    islands: int = Field(default=1, gt=0)
    migration_rate: float = Field(default=0.05, ge=0, le=1)


class SandboxSection(_Section):
    layers: Literal["auto", "process"] = "auto"
    """"auto" uses every layer this machine has; "process" only the supervisor and rlimits."""
    allow_weak: bool = False
    """Run even with neither namespaces nor Landlock (recorded in the run)."""


class Config(_Section):
    experiment: ExperimentSection = ExperimentSection()
    program: ProgramSection
    task: TaskSection
    limits: LimitsSection = LimitsSection()
    budget: BudgetSection = BudgetSection()
    run: RunSection = RunSection()
    proposer: ProposerSection = ProposerSection()
    selection: SelectionSection = SelectionSection()
    sandbox: SandboxSection = SandboxSection()

    @property
    def maximize(self) -> bool:
        return self.task.direction == "maximize"


def parse_config(data: dict[str, Any], *, source: str = CONFIG_NAME) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(source, exc)) from None


def _format_errors(source: str, exc: ValidationError) -> str:
    lines = [f"{source}: invalid configuration"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        kind = err["type"]
        if kind == "extra_forbidden":
            msg = "unknown key (check its spelling and section)"
        elif kind == "missing":
            msg = "required key is missing"
        else:
            msg = err["msg"]
            if "input" in err and kind not in ("model_type",):
                msg += f" (got {err['input']!r})"
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def load_config(experiment: Path) -> Config:
    """Load and fully check ``experiment/evoforge.toml``, or raise ConfigError."""
    from evoforge.program import EvolveBlockError, program_blocks, syntax_errors

    experiment = Path(experiment)
    path = experiment / CONFIG_NAME
    if not experiment.is_dir():
        raise ConfigError(f"{experiment}: not an experiment folder (no such directory)")
    if not path.is_file():
        raise ConfigError(f"{path}: missing (an experiment folder needs an {CONFIG_NAME})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    config = parse_config(data, source=str(path))

    problems: list[str] = []
    files: dict[str, str] = {}
    for rel in config.program.files:
        f = experiment / rel
        if not f.is_file():
            problems.append(f"  program.files: {rel!r} does not exist in {experiment}")
        else:
            files[rel] = f.read_text(encoding="utf-8")
    task_file = experiment / config.task.module
    if not task_file.is_file():
        problems.append(f"  task.module: {config.task.module!r} does not exist in {experiment}")
    if config.task.module in config.program.files:
        problems.append(
            f"  task.module: {config.task.module!r} is also a program file; the task must be trusted code"
        )
    if files:
        try:
            blocks = program_blocks(files)
            if not blocks:
                problems.append(
                    "  program.files: no '# EVOLVE-BLOCK-START' ... '# EVOLVE-BLOCK-END' block: nothing may change"
                )
        except EvolveBlockError as exc:
            problems.append(f"  program.files: {exc}")
        problems.extend(f"  program.files: {e}" for e in syntax_errors(files))
        problems.extend(f"  program.files: {e}" for e in _annotation_problems(files))
    if problems:
        raise ConfigError(f"{path}: the experiment cannot run\n" + "\n".join(problems))
    return config


def _annotation_problems(files: dict[str, str]) -> list[str]:
    try:
        from evoforge.proposers.params import check_annotations
    except ImportError:  # the parameter convention is optional for custom proposers
        return []
    return list(check_annotations(files))


def seed_files(experiment: Path, config: Config) -> dict[str, str]:
    return {rel: (experiment / rel).read_text(encoding="utf-8") for rel in config.program.files}
