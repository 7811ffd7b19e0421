"""Trusted evaluator for initial_program.py (OpenEvolve's ``evaluate(program_path)``).

It runs the program once per fixed seed in a subprocess (``--seed N``), reads the
point it prints ({"x": [x1, x2]} on its last line of output), and computes the
egg-crate bowl function there itself; the program never reports a value that is
trusted. The function's unique global minimum is f* = 0 at (1.3, -0.7).

Metrics: ``combined_score`` = -(mean of f over the seeds), the objective (higher
is better, 0 at best); ``mean_value``, ``worst_value``, ``mean_distance`` (to the
minimiser) and ``solved_fraction`` (the share of seeds with f < 0.01), for reading
only. A program that fails, times out, prints no point, or a point outside
[-5, 5]^2 or not two finite numbers, makes ``evaluate`` raise: the candidate fails.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

SEEDS = (3, 17, 29, 41, 58)
LOW, HIGH = -5.0, 5.0
OPTIMUM = (1.3, -0.7)
F_STAR = 0.0
SOLVED = 0.01
TIMEOUT_S = 10.0


def egg_crate_bowl(x1: float, x2: float) -> float:
    """0.5 (u^2 + v^2) + 4 (2 - cos 2 pi u - cos 2 pi v) + sin^2(pi u v), u, v from OPTIMUM."""
    u, v = x1 - OPTIMUM[0], x2 - OPTIMUM[1]
    bowl = 0.5 * (u * u + v * v)
    crate = 4.0 * (2.0 - math.cos(2.0 * math.pi * u) - math.cos(2.0 * math.pi * v))
    return bowl + crate + math.sin(math.pi * u * v) ** 2


def best_point(program_path: str, seed: int) -> tuple[float, float]:
    """The point the program prints with this seed; ValueError if there is none."""
    done = subprocess.run(
        [sys.executable, program_path, "--seed", str(seed)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise ValueError(f"seed {seed}: exit status {done.returncode}: {done.stderr[-500:]}")
    lines = done.stdout.strip().splitlines()
    try:
        x = json.loads(lines[-1])["x"] if lines else None
    except (ValueError, KeyError, TypeError):
        x = None
    if (
        not isinstance(x, list)
        or len(x) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in x)
    ):
        raise ValueError(f'seed {seed}: the last line is not {{"x": [x1, x2]}}')
    if not all(LOW <= v <= HIGH for v in x):  # also false for nan
        raise ValueError(f"seed {seed}: {x} is outside [{LOW}, {HIGH}]^2")
    return float(x[0]), float(x[1])


def evaluate(program_path: str) -> dict[str, float]:
    values, distances = [], []
    for seed in SEEDS:
        x1, x2 = best_point(program_path, seed)
        values.append(egg_crate_bowl(x1, x2) - F_STAR)
        distances.append(math.hypot(x1 - OPTIMUM[0], x2 - OPTIMUM[1]))
    mean = sum(values) / len(values)
    return {
        "combined_score": -mean,
        "mean_value": mean,
        "worst_value": max(values),
        "mean_distance": sum(distances) / len(distances),
        "solved_fraction": sum(v < SOLVED for v in values) / len(values),
    }


if __name__ == "__main__":
    print(json.dumps(evaluate(sys.argv[1] if len(sys.argv) > 1 else "initial_program.py")))
