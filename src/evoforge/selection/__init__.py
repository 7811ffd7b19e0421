"""Parent selection strategies."""

from evoforge.selection._base import Selector
from evoforge.selection.policy import PolicySelector
from evoforge.selection.tournament import AgingTournament

__all__ = ["AgingTournament", "PolicySelector", "Selector"]
