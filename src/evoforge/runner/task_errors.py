"""Errors of the trusted task, told as one line that names the task's file and line.

Two kinds. Loading the task module (a syntax error, an exception at import, a
mistyped ``[task] object``) is a configuration error: the run cannot start. An
exception raised by the task's ``prepare`` or ``score`` while a candidate is
evaluated is a *task error*: a problem of the run, never charged to the
candidate (the loop decides what to do with it; see ``Loop``). A candidate's bad
output is neither: the task raises :class:`~evoforge.tasks.OutputError` for it.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from types import ModuleType, TracebackType

from evoforge.candidate import Evaluation, RunResult
from evoforge.config import ConfigError
from evoforge.tasks._base import Task

TASK_ERROR = "task_error"
"""The flag of an evaluation the task itself broke; its failure is the one-line
message, then a newline and the full traceback."""

MAX_TRACEBACK = 20_000


def task_raised(
    task: object, method: str, exc: BaseException, run: RunResult | None = None
) -> Evaluation:
    """The evaluation of a candidate whose scoring broke because the task's ``method``
    ("prepare" or "score") raised ``exc``: ``task.score raised KeyError: 'val_auc'
    (task.py:42)``, the line being the innermost one in the file that defines the
    method; the full traceback follows the first line."""
    code = getattr(getattr(type(task), method, None), "__code__", None)
    frame = _innermost(exc.__traceback__, code.co_filename if code is not None else "")
    message = f"task.{method} raised {_describe(exc)}"
    if frame is not None:
        message += f" ({Path(frame[0]).name}:{frame[1]})"
    tb = "".join(traceback.format_exception(exc))[-MAX_TRACEBACK:]
    return Evaluation(ok=False, failure=f"{message}\n{tb}", run=run, flags=(TASK_ERROR,))


def split_failure(failure: str) -> tuple[str, str]:
    """A task error's (message, traceback)."""
    message, _, tb = failure.partition("\n")
    return message, tb


def import_error(shown: str, path: Path, exc: BaseException) -> ConfigError:
    """The one-line ConfigError for an exception raised while importing the task module
    ``path`` (named ``shown``, as the config names it)."""
    if isinstance(exc, SyntaxError):
        where = _shown(exc.filename or str(path), path, shown)
        return ConfigError(f"{where}:{exc.lineno}: SyntaxError: {exc.msg}")
    frame = _innermost(exc.__traceback__, str(path))
    where = shown if frame is None else f"{_shown(frame[0], path, shown)}:{frame[1]}"
    return ConfigError(f"{where}: {_describe(exc)} (while importing the task module)")


def missing_object(shown: str, mod: ModuleType, obj: str, *, found: object = None) -> ConfigError:
    """The ConfigError for a ``[task] object`` the module lacks (``found`` None) or that
    is not a task; it lists the task objects the module does define."""
    names = task_objects(mod)
    defined = (
        f"task objects it defines: {', '.join(names)}"
        if names
        else "it defines no Task instance or subclass"
    )
    what = (
        f"defines no {obj!r}"
        if found is None
        else f"{obj!r} is not an evoforge.tasks.Task instance or subclass"
    )
    return ConfigError(f"{shown}: {what} (the name in [task] object); {defined}")


def task_objects(mod: ModuleType) -> list[str]:
    """Names the module binds to Task instances or Task subclasses (not Task itself)."""
    return [
        name
        for name, value in vars(mod).items()
        if not name.startswith("_")
        and (
            isinstance(value, Task)
            or (isinstance(value, type) and issubclass(value, Task) and value is not Task)
        )
    ]


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())  # one line: the traceback follows the first newline
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _innermost(tb: TracebackType | None, filename: str) -> tuple[str, int] | None:
    """(file, line) of the innermost frame in ``filename``, else of the innermost frame;
    None without a traceback."""
    frames = traceback.extract_tb(tb)
    if not frames:
        return None
    frame = ([f for f in frames if f.filename == filename] or frames)[-1]
    return frame.filename, frame.lineno or 0


def _shown(filename: str, path: Path, shown: str) -> str:
    """The task module as the config names it; another file by its name."""
    return shown if Path(filename) == path else Path(filename).name
