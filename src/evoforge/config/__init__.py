"""Experiment configuration: the sections of ``evoforge.toml`` and how it is loaded.

- ``sections``: the run's sections, each holding its keys' only defaults;
- ``proposer``: ``[proposer]`` and its tables;
- ``stream``: ``[stream]`` of a stream experiment (``evoforge watch``);
- ``load``: the whole model, and reading it with errors that name file and key.
"""

from evoforge.config._base import CONFIG_NAME, ConfigError, Direction
from evoforge.config.load import (
    REMOVED,
    Config,
    FileCheck,
    load_config,
    parse_config,
    parse_snapshot,
    seed_files,
)
from evoforge.config.proposer import (
    AutoMLSection,
    AutoSection,
    LLMModelSection,
    LLMSection,
    MixMember,
    NASSection,
    OptunaSection,
    ProposerSection,
)
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
from evoforge.config.stream import DetectSection, StreamSection

__all__ = [
    "CONFIG_NAME",
    "REMOVED",
    "AutoMLSection",
    "AutoSection",
    "BudgetSection",
    "Config",
    "ConfigError",
    "ConstraintsSection",
    "DetectSection",
    "DetectorsSection",
    "Direction",
    "ExperimentSection",
    "FidelitySection",
    "FileCheck",
    "LLMModelSection",
    "LLMSection",
    "LimitsSection",
    "MixMember",
    "NASSection",
    "OptunaSection",
    "ProgramSection",
    "PromotionSection",
    "ProposerSection",
    "RaySection",
    "RunSection",
    "SandboxSection",
    "SelectionSection",
    "StreamSection",
    "TaskSection",
    "TrackingSection",
    "load_config",
    "parse_config",
    "parse_snapshot",
    "seed_files",
]
