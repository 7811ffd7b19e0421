"""``evoforge export [RUN] [CAND] --out DIR``: a candidate as a folder to run or load.

The folder holds the candidate's program files exactly as they ran, the task's public
inputs (what ``task.prepare`` writes for every candidate: never the held-out labels),
the artifacts the run kept for it (``[program] artifacts``) under the names the
candidate wrote them, and ``candidate.json``: which run, which candidate, its
parameters, metrics, the run's config and the artifacts' sha256. ``cd DIR`` and the
experiment's ``[program] command`` runs it as evoforge did.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from evoforge.archive import SQLiteArchive
from evoforge.artifacts import manifest
from evoforge.candidate_rows import candidate_rows
from evoforge.config import ConfigError
from evoforge.governance.rundir import RunDir
from evoforge.runner import load_task

NOTE = "candidate.json"


def export_candidate(
    run: RunDir, out: Path, candidate: int | None = None, *, inputs: bool = True
) -> Path:
    """Write the candidate (default: the champion) into ``out`` (new or empty)."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out} exists and is not an empty folder")
    with SQLiteArchive(run.archive, readonly=True) as archive:
        cand = archive.champion() if candidate is None else archive.get(candidate)
        if cand is None:
            raise ConfigError(f"{run.path}: no champion yet")
        files = archive.get_code(cand.code_hash)
        row = next(r for r in candidate_rows(archive) if r.id == cand.id)
        config: dict[str, Any] = archive.get_meta("config", {})
        experiment = Path(str(archive.get_meta("experiment", "")))
        kept = manifest(archive, cand.id)
    out.mkdir(parents=True, exist_ok=True)
    if inputs:  # first, so that a program file of the same name wins
        task = config.get("task", {})
        load_task(experiment, task.get("module", "task.py"), task.get("object", "task")).prepare(
            out, seed=int(config.get("experiment", {}).get("seed", 0))
        )
    for rel, text in files.items():
        dest = _inside(out, rel)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
    artifacts: dict[str, Any] = {}
    for rel, entry in kept.items():
        stored = run.path / "artifacts" / str(entry["sha256"])
        if stored.is_file():
            dest = _inside(out, rel)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(stored, dest)
            artifacts[rel] = {**entry, "kept": True}
        else:  # pruned: the candidate was never champion nor the best
            artifacts[rel] = {**entry, "kept": False}
    note = {
        "run": str(run.path),
        "candidate": cand.id,
        "champion": row.champion,
        "code_hash": cand.code_hash,
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in row.params.items()},
        "metrics": dict(cand.metrics),
        "heldout": dict(cand.heldout),
        "artifacts": artifacts,
        "command": config.get("program", {}).get("command", []),
        "config": config,
    }
    (out / NOTE).write_text(json.dumps(note, indent=1, sort_keys=True) + "\n")
    return out


def _inside(root: Path, rel: str) -> Path:
    """``root / rel``, refusing a name that leaves ``root`` (recorded names are the
    candidate's: never trusted as paths)."""
    dest = (root / rel).resolve()
    if not dest.is_relative_to(root.resolve()) or Path(rel).is_absolute():
        raise ConfigError(f"{rel!r}: not a path inside the export folder")
    return dest
