"""``evoforge meta``: evolve the search policy (:mod:`evoforge.policy`) with evoforge itself.

:mod:`.protocol` runs a candidate policy sandboxed, :mod:`.harness` runs inner
searches with it and measures their sample efficiency on the task suite
(:mod:`.suite`, with :mod:`.automl_tasks`), :mod:`.metatask` is the meta-run's
trusted task and :mod:`.metarun` the command: it evolves the policy and accepts
or refuses the best one on held-out tasks.
"""

from evoforge.meta.harness import LaneResult, auc, candidates_to_target, efficiency, run_searches
from evoforge.meta.protocol import SandboxedPolicy

__all__ = [
    "LaneResult",
    "SandboxedPolicy",
    "auc",
    "candidates_to_target",
    "efficiency",
    "run_searches",
]
