"""Trusted task: the Hartmann-6 (6 dimensions) function at the point the candidate reports.

The candidate writes point.json, {"x": [x1, ..., x6]}, inside the domain
(LOW[i] <= x_i <= HIGH[i]); the task computes f(x) itself. The global minimum is
f* = -3.32237 at x = (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573);
it also has a local minimum of -3.2032 in another basin. The seed program's point
(0.5, ..., 0.5) scores f = -0.505315.

Metrics: ``neg_value`` = -f(x), the objective (maximize), and ``heldout_neg_value``,
the same number under the held-out name the suite's reports read. The function is
deterministic and has no data, hence no noise and no held-out split: the held-out
figure is not an independent estimate here, only the same value recorded apart.
A point outside the domain, of the wrong length or not numbers, is the candidate's
malformed output.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from evoforge.tasks import OutputError, Task, read_json

LOW = (0.0,) * 6
HIGH = (1.0,) * 6
F_STAR = -3.32237

ALPHA = (1.0, 1.2, 3.0, 3.2)
A = (
    (10.0, 3.0, 17.0, 3.5, 1.7, 8.0),
    (0.05, 10.0, 17.0, 0.1, 8.0, 14.0),
    (3.0, 3.5, 1.7, 10.0, 17.0, 8.0),
    (17.0, 8.0, 0.05, 10.0, 0.1, 14.0),
)
P = (
    (0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886),
    (0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991),
    (0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650),
    (0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381),
)


def function(x: list[float]) -> float:
    """Hartmann-6: -sum_i alpha_i exp(-sum_j A_ij (x_j - P_ij)^2)."""
    return -sum(
        alpha * math.exp(-sum(a * (xj - p) ** 2 for a, xj, p in zip(row, x, prow, strict=True)))
        for alpha, row, prow in zip(ALPHA, A, P, strict=True)
    )


class Hartmann6Task(Task):
    """-f at the reported point; f >= F_STAR everywhere in the domain."""

    bounds: Mapping[str, tuple[float, float]] = {
        "neg_value": (-math.inf, 3.32237 + 1e-5),
        "heldout_neg_value": (-math.inf, 3.32237 + 1e-5),
    }

    def prepare(self, workdir: Path, *, seed: int) -> None:
        """Nothing to hand over: the domain is in the program's declarations."""
        del seed
        workdir.mkdir(parents=True, exist_ok=True)

    def score(self, workdir: Path) -> Mapping[str, float]:
        value = function(read_point(workdir))
        return {"neg_value": -value, "heldout_neg_value": -value}


def read_point(workdir: Path) -> list[float]:
    out = read_json(workdir, "point.json")
    x = out.get("x") if isinstance(out, dict) else None
    if not isinstance(x, list) or len(x) != len(LOW):
        raise OutputError(f"point.json: 'x' must be a list of {len(LOW)} numbers")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in x):
        raise OutputError("point.json: 'x' holds something that is not a number")
    for i, (v, lo, hi) in enumerate(zip(x, LOW, HIGH, strict=True)):
        if not lo <= v <= hi:  # also false for nan
            raise OutputError(f"point.json: x[{i}] = {v} is outside [{lo}, {hi}]")
    return [float(v) for v in x]


task = Hartmann6Task()
