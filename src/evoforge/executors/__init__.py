"""Where candidate jobs run: local worker processes (default) or inline (tests)."""

from evoforge.executors._base import Executor, kill_active
from evoforge.executors.inline import InlineExecutor
from evoforge.executors.local import LocalExecutor

__all__ = ["Executor", "InlineExecutor", "LocalExecutor", "kill_active"]
