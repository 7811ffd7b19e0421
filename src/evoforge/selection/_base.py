"""The selector contract: pick parents for the next child from the archive.

Selection sees search metrics only, never held-out ones. It returns the island
the child belongs to and one or more parents (best first); an empty list means
there is nothing to select from yet.
"""

from __future__ import annotations

import abc
import random

from evoforge.archive import Archive
from evoforge.candidate import Candidate


class Selector(abc.ABC):
    @abc.abstractmethod
    def pick(
        self, archive: Archive, *, objective: str, maximize: bool, rng: random.Random, n: int
    ) -> tuple[int, list[Candidate]]: ...
