"""Loading the trusted task module of an experiment."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from evoforge.config import ConfigError
from evoforge.runner.task_errors import import_error, missing_object
from evoforge.tasks._base import Task


def load_task(experiment: Path, module: str, obj: str) -> Task:
    """Import the trusted task module by path and return its task object; every way
    this fails is a one-line ConfigError naming the task's file (and line)."""
    path = (experiment / module).resolve()
    spec = importlib.util.spec_from_file_location(f"evoforge_task_{abs(hash(path))}", path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{module}: cannot be loaded as a Python module ([task] module)")
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
    except Exception as exc:  # the user's module: any error is theirs to fix, in one line
        raise import_error(module, path, exc) from None
    task = getattr(mod, obj, None)
    if task is None:
        raise missing_object(module, mod, obj)
    if isinstance(task, type) and issubclass(task, Task):
        try:
            task = task()
        except Exception as exc:
            raise import_error(module, path, exc) from None
    if not isinstance(task, Task):
        raise missing_object(module, mod, obj, found=task)
    return task
