"""Where a stream's batches come from: a folder where files appear, or trusted code.

Both give the batches that have arrived, in order, each once it is complete: a
folder's files in the order of their names, each only when it has not changed
for ``settle_seconds`` (a file still being written is never read half-way);
hidden files and temporary names (``.tmp``, ``.part``, ``~``) are never read. A
Python source is a function of the experiment's trusted code that returns
``(name, x, y)`` triples in order; it is called again at each poll and batches
whose names were seen already are skipped.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from evoforge.config import ConfigError, StreamSection
from evoforge.stream.batches import SUFFIXES, Batch, Malformed, batch_of, read_batch

TEMPORARY = (".tmp", ".part", ".partial", "~", ".crdownload")


@dataclass(frozen=True)
class Arrival:
    """A batch that has arrived: its name and how to read it (Malformed if unusable)."""

    name: str
    read: Callable[[], Batch]


class Source(Protocol):
    def arrived(self, seen: set[str]) -> list[Arrival]:
        """The complete batches not in ``seen``, in stream order."""
        ...

    def describe(self) -> str: ...


@dataclass
class FolderSource:
    folder: Path
    label: str = "label"
    settle_seconds: float = 2.0
    clock: Callable[[], float] = time.time

    def arrived(self, seen: set[str]) -> list[Arrival]:
        if not self.folder.is_dir():
            raise ConfigError(f"[stream] folder: {self.folder} does not exist")
        now = self.clock()
        out: list[Arrival] = []
        for path in sorted(self.folder.iterdir(), key=lambda p: p.name):
            name = path.name
            if name in seen or not path.is_file() or name.startswith("."):
                continue
            if name.endswith(TEMPORARY):
                continue
            if now - path.stat().st_mtime < self.settle_seconds:
                break  # still being written (or just renamed): it and what follows wait
            out.append(Arrival(name, functools.partial(read_batch, path, label=self.label)))
        return out

    def describe(self) -> str:
        return f"folder {self.folder} ({', '.join(SUFFIXES)})"


@dataclass
class PythonSource:
    experiment: Path
    module: str
    object: str = "batches"

    def arrived(self, seen: set[str]) -> list[Arrival]:
        out: list[Arrival] = []
        names: set[str] = set()
        for item in self._function()():
            name, x, y = _triple(item)
            if name in names:
                raise ConfigError(f"{self.describe()}: batch name {name!r} twice")
            names.add(name)
            if name not in seen:
                out.append(Arrival(name, functools.partial(batch_of, name, x, y)))
        return out

    def describe(self) -> str:
        return f"{self.module}:{self.object}"

    def _function(self) -> Callable[[], Iterable[Any]]:
        path = self.experiment / self.module
        spec = importlib.util.spec_from_file_location(f"evoforge_stream_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise ConfigError(f"[stream] module: cannot load {path}")
        mod = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(self.experiment))
        try:
            spec.loader.exec_module(mod)
        except Exception as exc:
            raise ConfigError(
                f"[stream] module: {path} raised {type(exc).__name__}: {exc}"
            ) from exc
        finally:
            sys.path.remove(str(self.experiment))
        fn = getattr(mod, self.object, None)
        if not callable(fn):
            raise ConfigError(f"[stream] object: {path} has no function {self.object!r}")
        return fn  # type: ignore[no-any-return]


def _triple(item: object) -> tuple[str, object, object]:
    if not (isinstance(item, tuple | list) and len(item) == 3 and isinstance(item[0], str)):
        raise ConfigError(
            "[stream] python source: each item must be a (name, x, y) triple with a str name"
        )
    return item[0], item[1], item[2]


def source_for(experiment: Path, stream: StreamSection) -> Source:
    if stream.source == "python":
        return PythonSource(experiment, stream.module, stream.object)
    return FolderSource(
        experiment / stream.folder, label=stream.label, settle_seconds=stream.settle_seconds
    )


__all__ = ["Arrival", "FolderSource", "Malformed", "PythonSource", "Source", "source_for"]
