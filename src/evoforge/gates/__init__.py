"""Gates: decisions before a run, after scoring and before promotion."""

from evoforge.gates._base import (
    ALLOW,
    AllowAll,
    Decision,
    PostRunGate,
    PreRunGate,
    Scored,
    check_all,
)
from evoforge.gates.constraints import ConstraintGate, ConstraintPolicy
from evoforge.gates.region import EvolveRegionGate

__all__ = [
    "ALLOW",
    "AllowAll",
    "ConstraintGate",
    "ConstraintPolicy",
    "Decision",
    "EvolveRegionGate",
    "PostRunGate",
    "PreRunGate",
    "Scored",
    "check_all",
]
