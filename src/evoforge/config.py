"""Experiment configuration: ``evoforge.toml``, its models, and loading with clear errors.

Every limit the harness enforces lives here, in the driver's config, never in a
file a candidate or proposer can edit. Loading checks everything a run needs
before anything runs: unknown keys, wrong types, missing files, unbalanced
evolve markers, malformed parameter annotations. Errors name the file, the key
and what is wrong.
"""

from __future__ import annotations

import enum
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from evoforge.sandbox._base import Limits

CONFIG_NAME = "evoforge.toml"


class ConfigError(ValueError):
    """The experiment cannot run as configured; the message says where and why."""


class Direction(enum.StrEnum):
    """Which way the objective is better; written as its value in ``evoforge.toml``."""

    MAXIMIZE = "maximize"
    MINIMIZE = "minimize"


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


class LLMModelSection(_Section):
    """One model of the LLM ensemble, reached through the OpenAI-compatible chat API."""

    name: str = Field(min_length=1)
    """The model name the server expects (e.g. "gpt-4o-mini", "qwen2.5-coder:7b")."""
    base_url: str = Field(pattern=r"^https?://")
    """Up to and including the API version, e.g. "http://127.0.0.1:8000/v1"."""
    api_key_env: str = ""
    """The *name* of the environment variable holding the key ("" for servers without one)."""
    label: str = ""
    """How records and `status` name this entry (default: ``name``)."""
    weight: float = Field(default=1.0, gt=0)
    price_in_per_mtok: float = Field(default=0.0, ge=0)
    price_out_per_mtok: float = Field(default=0.0, ge=0)
    extra_body: dict[str, Any] = {}
    """Extra fields of the request body (e.g. ``{ top_p = 0.9 }``)."""

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            # Refuse anything that is not a variable name: a pasted key would end up
            # in the config snapshot stored in the archive.
            raise ValueError(
                "must be the name of an environment variable holding the key (e.g. "
                '"OPENAI_API_KEY"), never the key itself'
            )
        return value

    @field_validator("extra_body")
    @classmethod
    def _no_reserved(cls, body: dict[str, Any]) -> dict[str, Any]:
        reserved = sorted({"model", "messages", "stream"} & set(body))
        if reserved:
            raise ValueError(f"{', '.join(reserved)} cannot be set here (evoforge sets them)")
        return body

    @property
    def key(self) -> str:
        return self.label or self.name


class LLMSection(_Section):
    """``[proposer.llm]``: the models, how to talk to them, and the run's LLM budget."""

    models: list[LLMModelSection] = Field(min_length=1)
    edit_format: Literal["diff", "rewrite"] = "diff"
    temperature: float = Field(default=0.7, ge=0, le=2)
    max_output_tokens: int = Field(default=4096, gt=0)
    timeout_seconds: float = Field(default=120.0, gt=0)
    """Per request, reading the answer included."""
    max_answer_kb: int = Field(default=1024, gt=0)
    """An answer longer than this is not read further: the try fails as too_large."""
    retries: int = Field(default=3, ge=0, le=10)
    backoff_seconds: float = Field(default=1.0, ge=0)
    cooldown_seconds: float = Field(default=60.0, ge=0)
    """How long a model that failed (after its retries) is set aside."""
    fallback_after_seconds: float = Field(default=120.0, ge=0)
    """No model answered for this long: propose with the built-in mutator until one does."""
    max_tokens: int | None = Field(default=None, gt=0)
    max_cost: float | None = Field(default=None, gt=0)
    on_budget: Literal["end", "fallback"] = "end"
    templates: str | None = None
    """Folder (relative to the experiment) of prompt templates replacing the defaults."""
    inspirations: int = Field(default=2, ge=0, le=10)

    @field_validator("templates")
    @classmethod
    def _relative(cls, folder: str | None) -> str | None:
        if folder is not None and (Path(folder).is_absolute() or ".." in Path(folder).parts):
            raise ValueError(f"{folder!r} must be a folder inside the experiment folder")
        return folder

    @model_validator(mode="after")
    def _consistent(self) -> LLMSection:
        keys = [m.key for m in self.models]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise ValueError(f"models named twice: {', '.join(twice)} (give each a label)")
        priced = any(m.price_in_per_mtok or m.price_out_per_mtok for m in self.models)
        if self.max_cost is not None and not priced:
            raise ValueError("max_cost is set but no model has a price: the cost would stay 0")
        return self


class OptunaSection(_Section):
    """``[proposer.optuna]``: an Optuna sampler over the program's declared parameters."""

    sampler: str = Field(default="tpe", pattern=r"^([a-z]+|[A-Z][A-Za-z0-9]*Sampler)$")
    """An alias (tpe, random, cmaes, gp, qmc, nsgaii) or an optuna.samplers class name."""
    options: dict[str, Any] = {}
    """Keyword arguments of the sampler (e.g. ``{ n_startup_trials = 5 }``); never seed."""
    base: Literal["seed", "parent"] = "seed"
    """Whose code the values are written into; "parent" keeps other proposers' edits."""

    @field_validator("options")
    @classmethod
    def _no_seed(cls, options: dict[str, Any]) -> dict[str, Any]:
        if "seed" in options:
            raise ValueError("the sampler is seeded from experiment.seed; remove seed")
        return options


class AutoMLSection(_Section):
    """``[proposer.automl]``: discover learning algorithms from basic operations.

    The search runs in the driver's background (one process per island) and
    proposes only what is worth keeping: each new best, then the final champion
    and elites, each rendered as the program's file and scored by the task.
    """

    preset: Literal["linear", "nonlinear", "digits"] = "linear"
    """"linear": rediscover linear regression trained by SGD (4 features);
    "nonlinear": regression on random ReLU teacher networks (4 features);
    "digits": binary classification of projected digit pairs (16 features)."""
    file: str = "algorithm.py"
    """The program file the algorithm is written into (its evolve block)."""
    islands: int = Field(default=1, ge=1, le=64)
    """One worker process per island, with migration between them."""
    max_minutes: float | None = Field(default=None, gt=0)
    """The search's own time limit (the run's wall budget also ends it)."""
    max_algorithms: int | None = Field(default=None, ge=1)
    """Algorithms evaluated before the search ends (all islands together)."""
    target: float | None = Field(default=None, gt=0, le=1)
    """Search fitness that ends the search once confirmed (default: the preset's)."""


class MixMember(_Section):
    kind: Literal["mutate", "llm", "optuna"]
    weight: float = Field(default=1.0, gt=0)


class ProposerSection(_Section):
    kind: Literal["mutate", "llm", "optuna", "mix", "automl"] = "mutate"
    crossover_rate: float = Field(default=0.15, ge=0, le=1)
    multi_rate: float = Field(default=0.2, ge=0, le=1)
    sigma: float = Field(default=0.5, gt=0)
    """The mutator's settings; with kind = "llm" they tune its fallback mutator."""
    adapt: bool = False
    """The mutator picks its operators with a bandit rewarded by improvement over the
    parent (Thompson sampling; saved with the run, shown by ``status``). With kind =
    "mix" a second bandit picks the proposer of each child too, its draws scaled by the
    members' weights (see :class:`~evoforge.proposers.mix.MixedProposer`)."""
    llm: LLMSection | None = None
    optuna: OptunaSection | None = None
    automl: AutoMLSection | None = None
    mix: list[MixMember] = []
    """With kind = "mix": the proposers drawn from, e.g. ``[{ kind = "mutate", weight = 2 },
    { kind = "optuna" }]``; each kind once; their settings are the sections above."""

    @property
    def kinds(self) -> set[str]:
        """The proposer kinds this section uses (the members of a mix)."""
        return {m.kind for m in self.mix} if self.kind == "mix" else {self.kind}

    @model_validator(mode="after")
    def _llm_when_llm(self) -> ProposerSection:
        if "llm" in self.kinds and self.llm is None:
            raise ValueError('kind = "llm" needs a [proposer.llm] table with its models')
        if "llm" not in self.kinds and self.llm is not None:
            raise ValueError(f'[proposer.llm] is set but kind = "{self.kind}": set kind = "llm"')
        if "optuna" not in self.kinds and self.optuna is not None:
            raise ValueError(
                f'[proposer.optuna] is set but kind = "{self.kind}": set kind = "optuna"'
            )
        if self.kind != "automl" and self.automl is not None:
            raise ValueError(
                f'[proposer.automl] is set but kind = "{self.kind}": set kind = "automl"'
            )
        if self.kind == "mix":
            kinds = [m.kind for m in self.mix]
            if not kinds or len(set(kinds)) < len(kinds):
                raise ValueError('kind = "mix" needs mix = [...] naming each proposer kind once')
        elif self.mix:
            raise ValueError(f'mix is set but kind = "{self.kind}": set kind = "mix"')
        return self


class SelectionSection(_Section):
    kind: Literal["tournament"] = "tournament"
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


class Config(_Section):
    experiment: ExperimentSection = ExperimentSection()
    program: ProgramSection
    task: TaskSection
    limits: LimitsSection = LimitsSection()
    budget: BudgetSection = BudgetSection()
    run: RunSection = RunSection()
    ray: RaySection = RaySection()
    proposer: ProposerSection = ProposerSection()
    selection: SelectionSection = SelectionSection()
    sandbox: SandboxSection = SandboxSection()
    promotion: PromotionSection = PromotionSection()
    detectors: DetectorsSection = DetectorsSection()
    constraints: ConstraintsSection = ConstraintsSection()

    @property
    def maximize(self) -> bool:
        return self.task.direction == Direction.MAXIMIZE


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
            secretish = any("key" in str(part).lower() for part in err["loc"])
            if "input" in err and kind not in ("model_type",) and not secretish:
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
        from evoforge.proposers.sites import check_annotations
    except ImportError:  # the parameter convention is optional for custom proposers
        return []
    return list(check_annotations(files))


def seed_files(experiment: Path, config: Config) -> dict[str, str]:
    return {rel: (experiment / rel).read_text(encoding="utf-8") for rel in config.program.files}
