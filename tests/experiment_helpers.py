"""Helpers shared by the top-level tests (a plain module: conftest names clash across folders)."""

from __future__ import annotations

from pathlib import Path


def set_config(exp: Path, old: str, new: str) -> None:
    """Replace one line of an experiment's config (tests use it to change a setting)."""
    path = exp / "evoforge.toml"
    text = path.read_text()
    assert old in text, f"{old!r} not in config"
    path.write_text(text.replace(old, new))
