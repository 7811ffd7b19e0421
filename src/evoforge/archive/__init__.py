"""Storage of candidates. ``open_archive(url)`` picks the backend from a URL."""

from __future__ import annotations

from pathlib import Path

from evoforge.archive._base import (
    SCHEMA_VERSION,
    Approval,
    ApprovalState,
    Archive,
    ChampionMove,
    FinishedCandidateError,
    Rerun,
)
from evoforge.archive._sqlite_schema import SchemaError
from evoforge.archive.memory import MemoryArchive
from evoforge.archive.sqlite import SQLiteArchive


def open_archive(url: str, *, readonly: bool = False) -> Archive:
    """``memory:`` or ``sqlite:///path/to/archive.sqlite`` (a bare path means SQLite)."""
    if url == "memory:":
        return MemoryArchive()
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
    if "://" in path:
        raise ValueError(f"unknown archive URL {url!r} (use memory: or sqlite:///PATH)")
    return SQLiteArchive(Path(path), readonly=readonly)


__all__ = [
    "SCHEMA_VERSION",
    "Approval",
    "ApprovalState",
    "Archive",
    "ChampionMove",
    "FinishedCandidateError",
    "MemoryArchive",
    "Rerun",
    "SQLiteArchive",
    "SchemaError",
    "open_archive",
]
