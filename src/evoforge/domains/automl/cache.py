"""Functional-equivalence caching (FEC, from the AutoML-Zero paper).

Many children compute exactly what an earlier program computed (a mutation of a
dead instruction, a copy, a reordering). Before a full evaluation, the program
runs on a few examples of the first task (``fec_train`` training steps, then
``fec_valid`` validation examples: 1% of the demo's work) and its predictions
become a fingerprint. A program whose fingerprint was seen before gets the
recorded fitness without being evaluated.

Fingerprints keep the top 40 bits of each prediction (sign, exponent and 28
mantissa bits: about 8 significant digits), so programs that differ only in
floating-point rounding mostly share one; NaN and -0.0 are canonicalised. Two programs with equal fingerprints that would diverge later in
training share a fitness: the paper accepts that rare error for the speed.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from numpy.typing import NDArray


def fingerprint(predictions: NDArray[np.float64]) -> bytes:
    """Hashable key of a prediction vector (truncated, NaN and -0.0 canonical)."""
    canonical = predictions + 0.0  # -0.0 becomes 0.0
    canonical[np.isnan(canonical)] = np.nan
    # Bit truncation, not a float32 cast: no overflow warnings on huge values.
    return (canonical.view(np.uint64) >> np.uint64(24)).tobytes()


class FunctionalCache:
    """Fitness by fingerprint, least recently used evicted past ``max_size`` entries."""

    def __init__(self, max_size: int = 100_000) -> None:
        if max_size < 1:
            raise ValueError("cache size must be >= 1")
        self.max_size = max_size
        self._entries: OrderedDict[bytes, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes) -> float | None:
        fitness = self._entries.get(key)
        if fitness is not None:
            self._entries.move_to_end(key)
        return fitness

    def put(self, key: bytes, fitness: float) -> None:
        self._entries[key] = fitness
        self._entries.move_to_end(key)
        if len(self._entries) > self.max_size:
            self._entries.popitem(last=False)
