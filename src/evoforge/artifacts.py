"""Files a candidate writes that a run keeps: the champion's trained model.

``[program] artifacts`` names them (paths or glob patterns relative to the candidate's
folder). The trusted worker collects them after a candidate scored, before its scratch
folder goes: only regular files (no links, nothing outside the folder), at most
``artifact_max_mb`` in all per candidate; each is copied into the run's
``artifacts/incoming/<job>/`` under its sha256. The driver then keeps them in the
content-addressed store ``artifacts/<sha256>`` only for candidates that may be or were
champion (the current champion, every former one, pending approvals and the best so
far) and deletes the rest, so a long run keeps a few models, not one per candidate.

The files are the candidate's own output: loading a pickle (joblib, torch.load
without ``weights_only``) runs code the candidate wrote. Prefer data-only formats
(``.npy``, safetensors, ONNX) for what you load.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evoforge.archive import ApprovalState, Archive

INCOMING = "incoming"


@dataclass(frozen=True)
class Collected:
    """What a worker kept of one candidate's files, and what it left out and why."""

    files: Mapping[str, Mapping[str, Any]]
    """relative path -> {"sha256": ..., "size": ...}"""
    skipped: tuple[str, ...] = ()


def collect(scratch: Path, patterns: Iterable[str], dest: Path, *, max_bytes: int) -> Collected:
    """Copy the candidate's artifact files from ``scratch`` into ``dest`` (one file per
    sha256). Never follows a link; a file past the size cap is left out, said in
    ``skipped``."""
    root = scratch.resolve()
    kept: dict[str, dict[str, Any]] = {}
    skipped: list[str] = []
    total = 0
    for rel in _matches(root, patterns):
        path = root / rel
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or not path.resolve().is_relative_to(root):
            skipped.append(f"{rel}: not a regular file in the candidate's folder")
            continue
        if total + info.st_size > max_bytes:
            skipped.append(f"{rel}: {info.st_size} bytes would pass the cap of {max_bytes}")
            continue
        dest.mkdir(parents=True, exist_ok=True)
        digest = _copy_hashed(path, dest)
        total += info.st_size
        kept[rel] = {"sha256": digest, "size": info.st_size}
    return Collected(kept, tuple(skipped))


def _matches(root: Path, patterns: Iterable[str]) -> list[str]:
    """Relative paths the patterns match, folders left out, in pattern then name order."""
    out: dict[str, None] = {}
    for pattern in patterns:
        for path in sorted(root.glob(pattern)):
            if path.is_symlink() or not path.is_dir():
                out.setdefault(str(path.relative_to(root)), None)
    return list(out)


def _copy_hashed(path: Path, dest: Path) -> str:
    """Copy ``path`` (opened without following links) into ``dest`` under its sha256."""
    h = hashlib.sha256()
    tmp = dest / f".tmp-{os.getpid()}-{path.name}"
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as src, open(tmp, "wb") as out:
        while chunk := src.read(1 << 20):
            h.update(chunk)
            out.write(chunk)
    digest = h.hexdigest()
    os.replace(tmp, dest / digest)
    return digest


class ArtifactStore:
    """The run's kept artifacts (driver side): moves a recorded candidate's files in,
    and deletes those of candidates that can no longer become champion."""

    def __init__(self, root: Path, *, objective: str, maximize: bool) -> None:
        self.root = root
        self.objective = objective
        self.maximize = maximize

    def incoming(self, job_key: str) -> Path:
        return self.root / INCOMING / job_key

    def path(self, digest: str) -> Path:
        return self.root / digest

    def accept(self, job_key: str) -> None:
        """Move a worker's collected files into the store."""
        folder = self.incoming(job_key)
        if not folder.is_dir():
            return
        for item in folder.iterdir():
            if len(item.name) == 64:  # a sha256; partial copies start with ".tmp-"
                os.replace(item, self.root / item.name)
        shutil.rmtree(folder, ignore_errors=True)

    def prune(self, archive: Archive) -> None:
        """Delete the files no kept candidate names."""
        if not self.root.is_dir():
            return
        wanted: set[str] = set()
        for cid in self.kept_ids(archive):
            for entry in manifest(archive, cid).values():
                wanted.add(str(entry["sha256"]))
        for item in self.root.iterdir():
            if item.is_file() and len(item.name) == 64 and item.name not in wanted:
                item.unlink(missing_ok=True)

    def kept_ids(self, archive: Archive) -> set[int]:
        ids = {move.candidate_id for move in archive.champion_history()}
        waiting = (ApprovalState.PENDING, ApprovalState.CONFIRMING)
        ids.update(a.candidate_id for a in archive.approvals(states=waiting))
        ids.update(c.id for c in archive.top(self.objective, maximize=self.maximize, limit=1))
        return ids


def manifest(archive: Archive, candidate_id: int) -> Mapping[str, Mapping[str, Any]]:
    """The artifacts recorded for a candidate: path -> {"sha256", "size"}."""
    files = archive.get(candidate_id).extra.get("artifacts", {})
    return files if isinstance(files, Mapping) else {}
