"""Worker processes that do not depend on the caller's ``__main__``.

Python's "spawn" start method re-imports the parent's main module in every child:
a script without an ``if __name__ == "__main__":`` guard would run again (and start
another run) in each worker, and a heredoc (``python -``) or a ``-c`` string has no
file to import, so every worker dies at start. evoforge's workers need nothing from
the caller's main module: ``spawn_context()`` starts them with a neutral one, so the
Python API works from a script, a notebook and a heredoc alike.
"""

from __future__ import annotations

import sys
import threading
import types
from multiprocessing import popen_spawn_posix
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Any

_NEUTRAL_MAIN = types.ModuleType("__main__", "evoforge: a worker imports no caller's script")
_SWAP = threading.Lock()


class _Popen(popen_spawn_posix.Popen):
    def _launch(self, process_obj: Any) -> None:
        # The preparation data sent to the child names the main module to re-import
        # (by path or by module name); the neutral module has neither, so the child
        # imports nothing of the caller's. Only the launch sees the swap.
        with _SWAP:
            main = sys.modules.get("__main__")
            sys.modules["__main__"] = _NEUTRAL_MAIN
            try:
                super()._launch(process_obj)  # type: ignore[misc]
            finally:
                if main is not None:
                    sys.modules["__main__"] = main


class _Process(SpawnProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> _Popen:  # the name multiprocessing calls
        return _Popen(process_obj)


class _Context(SpawnContext):
    Process = _Process


def spawn_context() -> SpawnContext:
    """A "spawn" multiprocessing context whose children do not re-import ``__main__``."""
    return _Context()
