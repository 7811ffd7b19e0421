"""Shared fixtures: small real experiments written into temporary folders."""

from __future__ import annotations

import shutil
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


def set_config(exp: Path, old: str, new: str) -> None:
    """Replace one line of an experiment's config (tests use it to change a setting)."""
    path = exp / "evoforge.toml"
    text = path.read_text()
    assert old in text, f"{old!r} not in config"
    path.write_text(text.replace(old, new))


@pytest.fixture
def copy_tree():
    def copy(src: Path, dest: Path) -> Path:
        shutil.copytree(src, dest, ignore=shutil.ignore_patterns("runs", "__pycache__"))
        return dest

    return copy
