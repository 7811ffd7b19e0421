"""Where candidate jobs run: local worker processes (default) or inline (tests)."""

from evoforge.executors._base import Executor, kill_active
from evoforge.executors.inline import InlineExecutor
from evoforge.executors.local import LocalExecutor
from evoforge.executors.worker import Job, RunContext, evaluate, load_task

__all__ = [
    "Executor",
    "InlineExecutor",
    "Job",
    "LocalExecutor",
    "RunContext",
    "evaluate",
    "kill_active",
    "load_task",
]
