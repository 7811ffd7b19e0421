"""Running experiments written for other tools (OpenEvolve), in a recorded compatibility mode."""

from evoforge.compat.openevolve import OpenEvolveTask, import_openevolve
from evoforge.compat.openevolve_config import Imported, OpenEvolveError
from evoforge.compat.openevolve_runner import COMPAT_MODE

__all__ = ["COMPAT_MODE", "Imported", "OpenEvolveError", "OpenEvolveTask", "import_openevolve"]
