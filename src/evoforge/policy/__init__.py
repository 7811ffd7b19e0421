"""The search policy of a run: a program that only decides parents, operator weights and steps.

:mod:`._base` holds the contract (requests, decisions, the answer check),
:mod:`.inprocess` the shipped policy files (``shipped/``), their check and the
in-process decider. ``evoforge meta`` (:mod:`evoforge.meta`) evolves them.
"""

from evoforge.policy._base import (
    KINDS,
    MAKERS,
    MAX_SIGMA,
    POLICY_FILE,
    POOL_CAP,
    SETTINGS,
    Decider,
    Decision,
    Lane,
    PolicyError,
    read_answer,
)
from evoforge.policy.inprocess import (
    InProcessPolicy,
    check_policy,
    default_policy_source,
    load_policy_file,
)

__all__ = [
    "KINDS",
    "MAKERS",
    "MAX_SIGMA",
    "POLICY_FILE",
    "POOL_CAP",
    "SETTINGS",
    "Decider",
    "Decision",
    "InProcessPolicy",
    "Lane",
    "PolicyError",
    "check_policy",
    "default_policy_source",
    "load_policy_file",
    "read_answer",
]
