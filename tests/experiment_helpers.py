"""Helpers shared by the top-level tests (a plain module: conftest names clash across folders)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from evoforge.config import Config, parse_config
from evoforge.tasks import Task


def set_config(exp: Path, old: str, new: str) -> None:
    """Replace one line of an experiment's config (tests use it to change a setting)."""
    path = exp / "evoforge.toml"
    text = path.read_text()
    assert old in text, f"{old!r} not in config"
    path.write_text(text.replace(old, new))


def processes_with(token: str) -> list[int]:
    """Host pids (other than this one) whose command line contains ``token``: tests mark
    candidate processes this way to see whether any is still alive."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if token.encode() in cmdline:
                found.append(int(entry))
    return found


class DataTask(Task):
    """A task with a data file it declares and a folder it hides."""

    def __init__(self, files: list[Path], hidden: list[Path]) -> None:
        self._files, self._hidden = files, hidden

    def prepare(self, workdir: Path, *, seed: int) -> None:
        del workdir, seed

    def score(self, workdir: Path) -> dict[str, float]:
        return {"score": 0.0}

    def files(self) -> list[Path]:
        return self._files

    def hidden_paths(self) -> list[Path]:
        return self._hidden


MINIMAL_CONFIG: dict[str, Any] = {
    "program": {"files": ["p.py"], "command": ["{python}", "p.py"]},
    "task": {"objective": "score"},
}


def config_of(**sections: Any) -> Config:
    """A checked config of a one-file program scored by ``score``, with these sections."""
    task = {**MINIMAL_CONFIG["task"], **sections.pop("task", {})}
    return parse_config({**MINIMAL_CONFIG, "task": task, **sections})
