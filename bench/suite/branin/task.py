"""Trusted task: the Branin-Hoo (2 dimensions) function at the point the candidate reports.

The candidate writes point.json, {"x": [x1, ..., x2]}, inside the domain
(LOW[i] <= x_i <= HIGH[i]); the task computes f(x) itself. The global minimum is
f* = 0.397887 at x = (-pi, 12.275), (pi, 2.275) and (9.42478, 2.475). The seed program's point scores f = 55.602113.

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

LOW = (-5.0, 0.0)
HIGH = (10.0, 15.0)
F_STAR = 0.397887

A, B, C = 1.0, 5.1 / (4.0 * math.pi**2), 5.0 / math.pi
R, S, T = 6.0, 10.0, 1.0 / (8.0 * math.pi)


def function(x: list[float]) -> float:
    """Branin-Hoo: a * (x2 - b x1^2 + c x1 - r)^2 + s (1 - t) cos(x1) + s."""
    x1, x2 = x
    return A * (x2 - B * x1**2 + C * x1 - R) ** 2 + S * (1.0 - T) * math.cos(x1) + S


class BraninTask(Task):
    """-f at the reported point; f >= F_STAR everywhere in the domain."""

    bounds: Mapping[str, tuple[float, float]] = {
        "neg_value": (-math.inf, -0.397887 + 1e-5),
        "heldout_neg_value": (-math.inf, -0.397887 + 1e-5),
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


task = BraninTask()
