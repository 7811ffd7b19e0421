"""The stream's batches, made by trusted code: a rotating hyperplane.

``batches()`` returns (name, x, y) triples in stream order. `evoforge watch` calls
it at every poll and processes the names it has not seen yet, so a function that
reads from a database or a queue works the same way.
"""

import numpy as np

N_BATCHES = 24
ROWS = 300


def batches() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    out = []
    for i in range(N_BATCHES):
        angle = 0.0 if i < 12 else 2.2  # the concept turns at batch 13
        w = np.array([np.cos(angle), np.sin(angle), 0.3])
        x = rng.normal(size=(ROWS, 3))
        y = (x @ w + 0.1 * rng.normal(size=ROWS) > 0).astype(np.int64)
        out.append((f"batch-{i + 1:03d}", x, y))
    return out
