"""Trusted task: the Rosenbrock (10 dimensions) function at the point the candidate reports.

The candidate writes point.json, {"x": [x1, ..., x10]}, inside the domain
(LOW[i] <= x_i <= HIGH[i]); the task computes f(x) itself. The global minimum is
f* = 0.0 at x = (1, ..., 1), at the bottom of a long curved valley. The seed program's point scores f = 3636.

Metrics: ``neg_value`` = -f(x), the objective (maximize), and ``heldout_neg_value``,
the same number under the held-out name the suite's reports read. The function is
deterministic and has no data, hence no noise and no held-out split: the held-out
figure is not an independent estimate here, only the same value recorded apart.
A point outside the domain, of the wrong length or not numbers, is the candidate's
malformed output.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from pathlib import Path

from evoforge.tasks import OutputError, Task, read_json

LOW = (-2.048,) * 10
HIGH = (2.048,) * 10
F_STAR = 0.0


def function(x: list[float]) -> float:
    """Rosenbrock: sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2."""
    return sum(100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2 for a, b in itertools.pairwise(x))


class Rosenbrock10Task(Task):
    """-f at the reported point; f >= F_STAR everywhere in the domain."""

    bounds: Mapping[str, tuple[float, float]] = {
        "neg_value": (-math.inf, 1e-9),
        "heldout_neg_value": (-math.inf, 1e-9),
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


task = Rosenbrock10Task()
