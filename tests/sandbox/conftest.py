"""Fixtures for the sandbox tests (helpers live in sandbox_support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evoforge.sandbox import LayeredSandbox

from sandbox_support import Hostile, require_full_sandbox


@pytest.fixture(scope="session")
def full_sandbox() -> LayeredSandbox:
    return require_full_sandbox()


@pytest.fixture
def hostile(full_sandbox: LayeredSandbox, tmp_path: Path) -> Iterator[Hostile]:
    runner = Hostile(full_sandbox, tmp_path)
    yield runner
    runner.goes_on()
