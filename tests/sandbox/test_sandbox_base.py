"""The sandbox contract: the limits a harness sets, the run it asks for, the base class."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from evoforge.candidate import RunResult
from evoforge.config import LimitsSection
from evoforge.sandbox import Limits, OnStart, RunSpec, Sandbox


def test_output_bytes_is_output_kb_in_bytes() -> None:
    assert Limits().output_bytes == 64 * 1024
    assert Limits(output_kb=3).output_bytes == 3072


def test_the_limits_are_the_config_keys_and_their_defaults() -> None:
    keys = set(LimitsSection.model_fields) - {"threads"}
    assert keys == {f.name for f in dataclasses.fields(Limits)}
    assert LimitsSection().limits() == Limits()


def test_limits_cannot_be_changed_once_made() -> None:
    limits = Limits(wall_seconds=5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        limits.wall_seconds = 600  # type: ignore[misc]
    assert dataclasses.replace(limits, memory_mb=None).memory_mb is None
    assert limits.memory_mb == 4096 and limits.cpu_seconds is None


def test_a_run_spec_inherits_no_environment_and_hides_nothing_by_default(tmp_path: Path) -> None:
    first = RunSpec(argv=("python", "x.py"), workdir=tmp_path)
    second = RunSpec(argv=("python", "x.py"), workdir=tmp_path)
    assert first.env == {} and first.env is not second.env
    assert first.hidden_paths == () and first.limits == Limits()
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.argv = ("sh",)  # type: ignore[misc]


def test_a_sandbox_must_implement_run_and_reports_no_layers_by_default() -> None:
    class Incomplete(Sandbox):
        pass

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()  # type: ignore[abstract]

    class Bare(Sandbox):
        def run(self, spec: RunSpec, *, on_start: OnStart | None = None) -> RunResult:
            raise NotImplementedError

    assert Bare().strength() == {}
