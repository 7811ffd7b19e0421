"""evoforge: a self-improving AI system that evolves programs under guardrails.

The Python API (:mod:`evoforge.api`): ``evoforge.run``, ``evoforge.resume``,
``evoforge.open_run`` and the ``evoforge.Run`` they return.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from evoforge.api import Run, open_run, resume, run

__all__ = ["Run", "__version__", "open_run", "resume", "run"]


def __getattr__(name: str) -> Any:
    # Imported on first use: worker processes and the CLI import evoforge without it.
    if name in ("Run", "open_run", "resume", "run"):
        from evoforge import api

        return getattr(api, name)
    raise AttributeError(f"module 'evoforge' has no attribute {name!r}")
