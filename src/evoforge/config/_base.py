"""The config's base: the file name, its error, directions, the frozen section."""

from __future__ import annotations

import enum

from pydantic import (
    BaseModel,
    ConfigDict,
)

CONFIG_NAME = "evoforge.toml"


class ConfigError(ValueError):
    """The experiment cannot run as configured; the message says where and why."""


class Direction(enum.StrEnum):
    """Which way the objective is better; written as its value in ``evoforge.toml``."""

    MAXIMIZE = "maximize"
    MINIMIZE = "minimize"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
