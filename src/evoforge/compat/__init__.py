"""Running experiments written for other tools (OpenEvolve), in a recorded compatibility mode."""

from evoforge.compat.openevolve import (
    COMPAT_MODE,
    Imported,
    OpenEvolveError,
    OpenEvolveTask,
    import_openevolve,
)

__all__ = ["COMPAT_MODE", "Imported", "OpenEvolveError", "OpenEvolveTask", "import_openevolve"]
