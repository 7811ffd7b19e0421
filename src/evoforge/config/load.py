"""Experiment configuration: ``evoforge.toml`` as one model, and loading with clear errors.

Every limit the harness enforces lives in the driver's config, never in a file a
candidate or proposer can edit. Loading checks everything a run needs before
anything runs: unknown keys, wrong types, missing files, unbalanced evolve
markers, and (with the checks the caller adds) malformed parameter annotations.
Errors name the file, the key and what is wrong.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from evoforge.config._base import CONFIG_NAME, ConfigError, Direction, _Section
from evoforge.config.proposer import ProposerSection
from evoforge.config.sections import (
    BudgetSection,
    ConstraintsSection,
    DetectorsSection,
    ExperimentSection,
    FidelitySection,
    LimitsSection,
    ProgramSection,
    PromotionSection,
    RaySection,
    RunSection,
    SandboxSection,
    SelectionSection,
    TaskSection,
    TrackingSection,
)
from evoforge.config.stream import StreamSection, stream_task_section


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
    tracking: TrackingSection = TrackingSection()
    fidelity: FidelitySection | None = None
    """Set: new candidates run at low fidelity first (successive halving)."""
    stream: StreamSection | None = None
    """Set for a stream experiment (``evoforge watch``); its ``[task]`` is then evoforge's."""

    @property
    def maximize(self) -> bool:
        return self.task.direction == Direction.MAXIMIZE


REMOVED: dict[tuple[str, ...], str] = {
    ("selection", "kind"): "the aging tournament is the only selector ([selection] policy "
    "replaces it with a policy file)",
}
"""Keys a former version had, with what took their place."""


def parse_config(
    data: dict[str, Any], *, source: str = CONFIG_NAME, snapshot: bool = False
) -> Config:
    if not snapshot:
        data = _with_stream_task(data, source)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(source, exc)) from None


def parse_snapshot(data: dict[str, Any], *, source: str) -> Config:
    """A run's stored config: as :func:`parse_config`, less the removed keys an older
    version wrote (they did nothing then either)."""
    kept = {
        name: {k: v for k, v in value.items() if (name, k) not in REMOVED}
        if isinstance(value, dict)
        else value
        for name, value in data.items()
    }
    return parse_config(kept, source=source, snapshot=True)


def _with_stream_task(data: dict[str, Any], source: str) -> dict[str, Any]:
    """A stream experiment's ``[task]``: evoforge's window task, from its ``[stream]``."""
    stream = data.get("stream")
    if not isinstance(stream, dict):
        return data
    if "task" in data:
        raise ConfigError(
            f"{source}: a stream experiment has no [task]: evoforge's stream task scores "
            "the program on the batches ([stream] metric chooses the metric); remove [task]"
        )
    try:
        task = stream_task_section(StreamSection.model_validate(stream))
    except ValidationError:  # reported by the whole model's validation, without a [task] error
        task = stream_task_section(StreamSection())
    return {**data, "task": task}


def _format_errors(source: str, exc: ValidationError) -> str:
    lines = [f"{source}: invalid configuration"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        kind = err["type"]
        removed = REMOVED.get(tuple(str(p) for p in err["loc"]))
        if kind == "extra_forbidden" and removed:
            msg = f"removed: {removed}"
        elif kind == "extra_forbidden":
            msg = "unknown key (check its spelling and section)" + _did_you_mean(err["loc"])
        elif kind == "missing":
            msg = "required key is missing"
        else:
            msg = err["msg"]
            secretish = any("key" in str(part).lower() for part in err["loc"])
            if "input" in err and kind not in ("model_type",) and not secretish:
                msg += f" (got {err['input']!r})"
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def _did_you_mean(loc: tuple[int | str, ...]) -> str:
    """`` (did you mean 'x'?)`` for an unknown key close to a key of its section."""
    model: Any = Config
    for part in loc[:-1]:  # down the sections to the one holding the unknown key
        if isinstance(part, int):  # an item of a list of tables: its model is the list's
            continue
        field = model.model_fields.get(part)
        inner = getattr(field, "annotation", None) if field else None
        inner = next((a for a in getattr(inner, "__args__", ()) if a is not type(None)), inner)
        if not (isinstance(inner, type) and issubclass(inner, BaseModel)):
            return ""
        model = inner
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


FileCheck = Callable[[dict[str, str]], Iterable[str]]
"""A check of the program files: the problems it finds, one line each."""


def load_config(experiment: Path, *, file_checks: Sequence[FileCheck] = ()) -> Config:
    """Load and check ``experiment/evoforge.toml`` and its files, or raise ConfigError.
    ``file_checks`` are more checks of the program files, from the parts above config
    (the proposers' parameter annotations: see ``wiring.load_experiment``)."""
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
    if config.stream is not None:
        problems.extend(_stream_problems(experiment, config.stream))
    elif not task_file.is_file():
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
        for check in file_checks:
            problems.extend(f"  program.files: {e}" for e in check(files))
    if problems:
        raise ConfigError(f"{path}: the experiment cannot run\n" + "\n".join(problems))
    return config


def _stream_problems(experiment: Path, stream: StreamSection) -> list[str]:
    if stream.source == "python" and not (experiment / stream.module).is_file():
        return [f"  stream.module: {stream.module!r} does not exist in {experiment}"]
    return []


def seed_files(experiment: Path, config: Config) -> dict[str, str]:
    return {rel: (experiment / rel).read_text(encoding="utf-8") for rel in config.program.files}
