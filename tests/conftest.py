"""Shared fixtures: small real experiments written into temporary folders."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest


@pytest.fixture
def minimal_experiment(tmp_path: Path) -> Path:
    """A copy of the `minimal` template: a fast real experiment (pure Python candidate)."""
    src = resources.files("evoforge") / "templates" / "minimal"
    dest = tmp_path / "exp"
    dest.mkdir()
    for item in src.iterdir():
        if item.is_file() and item.name.endswith((".py", ".toml")):
            (dest / item.name).write_bytes(item.read_bytes())
    return dest
