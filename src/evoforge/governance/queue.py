"""Enqueued configurations (``evoforge enqueue``, as Optuna's ``enqueue_trial``): values
of declared parameters that a person wants tried. Each waits as one file in the run's
``queue/`` folder; the driver takes the oldest before it asks its proposer for the next
child, writes the values into the seed program, and runs it like any child (gates,
duplicates and budget apply; the audit trail records it). A run that is not running
takes them when it is resumed.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evoforge.archive import SQLiteArchive
from evoforge.config import ConfigError
from evoforge.governance.rundir import RunDir
from evoforge.proposers.params import ParamSpecError
from evoforge.proposers.sites import declared_space, set_values
from evoforge.proposers.values import Value

FOLDER = "queue"


def enqueue(run: RunDir, values: Mapping[str, Value], *, who: str) -> Path:
    """Check ``values`` against the run's seed program and queue them; ConfigError
    (naming the declared parameters) when one is unknown or out of its range."""
    if not values:
        raise ConfigError("enqueue needs NAME=VALUE for at least one declared parameter")
    with SQLiteArchive(run.archive, readonly=True) as archive:
        if archive.size() == 0:
            raise ConfigError(f"{run.path}: the run has no seed program yet")
        seed = archive.get_code(archive.get(1).code_hash)
    check(seed, values)
    folder = run.path / FOLDER
    folder.mkdir(exist_ok=True)
    name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}"
    tmp = folder / f".{name}.tmp"
    body = {"values": {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}}
    tmp.write_text(json.dumps({**body, "who": who, "at": time.time()}))
    return tmp.rename(folder / f"{name}.json")


def check(seed: Mapping[str, str], values: Mapping[str, Any]) -> dict[str, str]:
    """The seed with ``values`` written in, or ConfigError saying why they do not fit."""
    try:
        return set_values(seed, values)
    except KeyError as exc:
        known = ", ".join(declared_space(seed)) or "none"
        raise ConfigError(f"{exc.args[0]} (declared: {known})") from None
    except (ValueError, ParamSpecError) as exc:
        raise ConfigError(str(exc)) from None


def take_next(run_path: Path) -> tuple[Path, dict[str, Any]] | None:
    """The oldest queued entry (the caller removes its file once it is recorded)."""
    folder = run_path / FOLDER
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("*.json")):
        try:
            return path, json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            path.unlink(missing_ok=True)  # half-written or garbage: never a child
    return None


def waiting(run_path: Path) -> int:
    folder = run_path / FOLDER
    return len(list(folder.glob("*.json"))) if folder.is_dir() else 0
