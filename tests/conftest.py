"""Shared fixtures: small real experiments written into temporary folders."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest


@pytest.fixture
def minimal_experiment(tmp_path: Path) -> Path:
    """A copy of the `minimal` template: a fast real experiment (pure Python candidate).

    With the built-in mutator (the template says ``kind = "auto"``): most tests here are
    about the loop, not the search, and the mutator is the cheapest proposer; tests of
    the portfolio set ``kind = "auto"`` back."""
    src = resources.files("evoforge") / "templates" / "minimal"
    dest = tmp_path / "exp"
    dest.mkdir()
    for item in src.iterdir():
        if item.is_file() and item.name.endswith((".py", ".toml")):
            (dest / item.name).write_bytes(item.read_bytes())
    toml = dest / "evoforge.toml"
    text = toml.read_text()
    assert '\nkind = "auto"\n' in text, "the minimal template's proposer changed"
    toml.write_text(text.replace('\nkind = "auto"\n', '\nkind = "mutate"\n'))
    return dest
