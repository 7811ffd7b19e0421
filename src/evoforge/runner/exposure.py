"""What a candidate must not see, and a check at run start of what it could.

Three sources of files kept out of the sandbox, each by default:

- the task's own ``hidden_paths()``;
- the task's ``files()``: the data it declares is data a candidate has no reason
  to open (a task that wants a candidate to read a file copies it in ``prepare``);
- the labelled data sets bundled with common libraries (scikit-learn's
  ``datasets/data``, statsmodels' and River's data sets): ``load_breast_cancer()``
  inside a candidate would otherwise hand it every label, test set included. A task
  sets ``allow_bundled_data = True`` to let candidates read them.

A hidden path only matters inside a tree the sandbox mounts (the interpreter's
prefixes, the system folders); the experiment folder is never mounted at all.

:func:`exposed_reads` is the run-start check for everything else: it runs the
task's ``prepare`` and ``score`` once in the driver with an audit hook that records
the files they open, then asks the real sandbox which of those a candidate could
read. The driver warns about each one (a file the scorer reads may hold labels).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from evoforge.sandbox._base import Limits, RunSpec, Sandbox
from evoforge.tasks._base import Task

BUNDLED_DATA = (
    ("sklearn", "datasets/data"),
    ("sklearn", "datasets/descr"),  # read by every loader: hidden with the data, no warning
    ("statsmodels", "datasets"),
    ("river", "datasets"),
)
"""(package, folder) pairs where libraries ship labelled data sets as files."""
DATA_SUFFIXES = (
    ".csv", ".gz", ".bz2", ".xz", ".zip", ".npy", ".npz", ".arff", ".data", ".txt", ".rst",
)  # fmt: skip
CODE_SUFFIXES = (".py", ".pyc", ".pyi", ".so", ".pth", ".typed", ".pyx", ".pxd")
"""Files opened by imports, not by the task's own reads."""


@lru_cache(maxsize=1)
def bundled_data_files() -> tuple[Path, ...]:
    """The data files of :data:`BUNDLED_DATA` that are installed here, found without imports.

    Files, not folders: a folder such as ``sklearn/datasets/data`` is also a package
    (it has an ``__init__.py``), and masking it whole would break imports.
    """
    found: list[Path] = []
    for package, folder in BUNDLED_DATA:
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            continue
        if spec is None or not spec.submodule_search_locations:
            continue
        for root in spec.submodule_search_locations:
            base = Path(root) / folder
            if base.is_dir():
                found += sorted(
                    p for p in base.rglob("*") if p.is_file() and p.name.endswith(DATA_SUFFIXES)
                )
    return tuple(found)


def sandbox_hidden(task: Task) -> tuple[Path, ...]:
    """Every path the sandbox must hide for ``task`` (see the module docstring)."""
    paths = [*task.hidden_paths(), *task.files()]
    if not task.allow_bundled_data:
        paths += bundled_data_files()
    return tuple(dict.fromkeys(Path(p) for p in paths))


# -- the run-start check -----------------------------------------------------------------


class _ReadRecorder:
    """Records files opened by one thread while active; installed once per process
    (an audit hook cannot be removed), and cheap while inactive."""

    def __init__(self) -> None:
        self.thread: int | None = None
        self.paths: list[str] = []

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if event != "open" or self.thread != threading.get_ident():
            return
        path, mode = args[0], args[1]
        if isinstance(path, str | bytes | os.PathLike) and (mode is None or "r" in str(mode)):
            self.paths.append(os.fsdecode(path))

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[str]]:
        self.paths = []
        self.thread = threading.get_ident()
        try:
            yield self.paths
        finally:
            self.thread = None


_recorder: _ReadRecorder | None = None


def _read_recorder() -> _ReadRecorder:
    global _recorder  # one hook per process: audit hooks can be added, never removed
    if _recorder is None:
        _recorder = _ReadRecorder()
        sys.addaudithook(_recorder)
    return _recorder


def task_reads(task: Task, *, seed: int = 0) -> list[Path]:
    """Regular files (not code) that ``task.prepare`` and ``task.score`` open.

    Both run once in a throw-away folder; whatever they raise is ignored here (the
    evaluations report a broken task properly), and ``score`` usually stops at the
    missing outputs, after it has loaded its labels.
    """
    with tempfile.TemporaryDirectory(prefix="evoforge-probe-") as tmp:
        workdir = Path(tmp)
        with _read_recorder().recording() as opened:
            for step in (lambda: task.prepare(workdir, seed=seed), lambda: task.score(workdir)):
                try:
                    step()
                except Exception:
                    continue
        scratch = os.path.realpath(tmp)
    out: dict[str, Path] = {}
    for raw in opened:
        real = os.path.realpath(raw)
        if real.startswith(scratch + os.sep) or real.endswith(CODE_SUFFIXES):
            continue
        if "__pycache__" in real or ".dist-info" in real or not os.path.isfile(real):
            continue
        out.setdefault(real, Path(real))
    return list(out.values())


_PROBE = """
import json, sys
readable = []
for path in json.load(open("paths.json")):
    try:
        with open(path, "rb") as fh:
            fh.read(1)
        readable.append(path)
    except OSError:
        pass
with open("readable.json", "w") as fh:
    json.dump(readable, fh)
"""


def readable_in_sandbox(
    paths: Sequence[Path], sandbox: Sandbox, *, hidden: Sequence[Path], limits: Limits
) -> list[Path]:
    """Which of ``paths`` a program in ``sandbox`` can open, tried there for real."""
    if not paths:
        return []
    with tempfile.TemporaryDirectory(prefix="evoforge-probe-") as tmp:
        workdir = Path(tmp)
        (workdir / "probe.py").write_text(_PROBE)
        (workdir / "paths.json").write_text(json.dumps([str(p) for p in paths]))
        spec = RunSpec(
            argv=(sys.executable, "probe.py"),
            workdir=workdir,
            limits=limits,
            env={"PATH": "/usr/bin:/bin", "HOME": str(workdir), "LANG": "C.UTF-8"},
            hidden_paths=tuple(hidden),
        )
        run = sandbox.run(spec)
        try:
            readable = json.loads((workdir / "readable.json").read_text())
        except (OSError, ValueError):
            raise RuntimeError(
                f"the sandbox probe of the task's files did not run: {run.stderr_tail[-300:]}"
            ) from None
    return [Path(p) for p in readable]


def exposed_reads(task: Task, sandbox: Sandbox, *, limits: Limits, seed: int = 0) -> list[Path]:
    """Files the task reads that a candidate could read too: each deserves a warning."""
    return readable_in_sandbox(
        task_reads(task, seed=seed), sandbox, hidden=sandbox_hidden(task), limits=limits
    )
