"""Proposers write children from parents: the built-in mutator, later LLMs and others.

The contract is in :mod:`evoforge.proposers._base`; the convention for declaring
parameter ranges in code (``# evolve: SPEC``) is in :mod:`evoforge.proposers.params`,
and finding and editing the literals they apply to in :mod:`evoforge.proposers.sites`.
"""

from evoforge.proposers._base import (
    Feedback,
    Parent,
    Proposal,
    ProposalError,
    Proposer,
    ProposerBusy,
    ProposerExhausted,
    ProposerSignal,
)
from evoforge.proposers.mutate import Mutator
from evoforge.proposers.params import ParamSpecError
from evoforge.proposers.sites import check_annotations

__all__ = [
    "Feedback",
    "Mutator",
    "ParamSpecError",
    "Parent",
    "Proposal",
    "ProposalError",
    "Proposer",
    "ProposerBusy",
    "ProposerExhausted",
    "ProposerSignal",
    "check_annotations",
]
