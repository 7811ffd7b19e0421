"""sha256 of the trusted files (the task module, its data, the policy file).

The driver hashes them at run start and records the hashes in the archive and
the audit log; a
runner checks them again before each scoring (:func:`changed_files`), and a
resumed run checks them before it continues.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path


def file_hashes(paths: Iterable[Path], root: Path) -> dict[str, str]:
    """sha256 of each file; a folder contributes every file under it (``__pycache__``
    skipped). Keys are paths relative to ``root`` (posix), or absolute for files
    outside it. A missing path raises FileNotFoundError."""
    root = Path(root).resolve()
    hashes: dict[str, str] = {}
    for given in paths:
        path = Path(given)
        if not path.is_absolute():
            path = root / path
        if path.is_dir():
            for file in _files_under(path):
                hashes[_key(file, root)] = _sha256(file)
        elif path.exists():
            hashes[_key(path, root)] = _sha256(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder to hash")
    return dict(sorted(hashes.items()))


def hash_changes(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """What differs between two :func:`file_hashes` results, one line per file."""
    changes: list[str] = []
    for key in sorted(set(before) | set(after)):
        if key not in after:
            changes.append(f"{key}: removed")
        elif key not in before:
            changes.append(f"{key}: added")
        elif before[key] != after[key]:
            changes.append(f"{key}: changed")
    return changes


def changed_files(expected: Mapping[str, str], root: Path) -> list[str]:
    """Which of the trusted files hashed at run start differ now (or are gone)."""
    changed: list[str] = []
    for rel, digest in sorted(expected.items()):
        try:
            now = file_hashes([root / rel], root).get(rel)
        except FileNotFoundError:
            now = None
        if now != digest:
            changed.append(rel)
    return changed


def _files_under(folder: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        found.extend(Path(dirpath) / name for name in sorted(filenames))
    return found


def _key(path: Path, root: Path) -> str:
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(root).as_posix()
    except ValueError:
        return absolute.as_posix()


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
