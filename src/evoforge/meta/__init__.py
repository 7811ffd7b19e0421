"""Self-improvement: the operator bandit, the search policy as a program, ``evoforge meta``.

The policy file (``policies/default.py``) decides parents, operator weights and
step sizes; :mod:`.policy` checks and reads it, :mod:`.protocol` runs it sandboxed,
:mod:`.harness` runs inner searches with it and measures their sample efficiency
on the task suite (:mod:`.suite`), :mod:`.metarun` evolves it with evoforge itself.
"""

from evoforge.meta.adaptive import AdaptiveMutator, PolicySelector
from evoforge.meta.bandit import ArmStats, OperatorBandit
from evoforge.meta.harness import LaneResult, auc, candidates_to_target, efficiency, run_searches
from evoforge.meta.policy import (
    Decider,
    Decision,
    InProcessPolicy,
    Lane,
    PolicyError,
    check_policy,
    default_policy_source,
    load_policy_file,
    read_answer,
)
from evoforge.meta.protocol import SandboxedPolicy

__all__ = [
    "AdaptiveMutator",
    "ArmStats",
    "Decider",
    "Decision",
    "InProcessPolicy",
    "Lane",
    "LaneResult",
    "OperatorBandit",
    "PolicyError",
    "PolicySelector",
    "SandboxedPolicy",
    "auc",
    "candidates_to_target",
    "check_policy",
    "default_policy_source",
    "efficiency",
    "load_policy_file",
    "read_answer",
    "run_searches",
]
