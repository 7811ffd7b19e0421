"""A deliberately weak stochastic search on a 2-D multimodal function (OpenEvolve format).

Run as ``python initial_program.py --seed N``: prints one JSON line, {"x": [x1, x2]},
the best point found with that seed. The evaluator computes the function itself at
that point; the value this program sees while searching is only its own guide.

The function is the "egg-crate bowl": with u = x1 - 1.3 and v = x2 + 0.7,
f = 0.5 (u^2 + v^2) + 4 (2 - cos(2 pi u) - cos(2 pi v)) + sin(pi u v)^2 on
[-5, 5]^2. Every term is >= 0 and the bowl term is 0 only at u = v = 0, so the
unique global minimum is f = 0 at (1.3, -0.7); a local minimum sits near every
integer offset (u, v) from it.
"""

import argparse
import json
import math
import random

LOW, HIGH = -5.0, 5.0


def f(x1: float, x2: float) -> float:
    u, v = x1 - 1.3, x2 + 0.7
    bowl = 0.5 * (u * u + v * v)
    crate = 4.0 * (2.0 - math.cos(2.0 * math.pi * u) - math.cos(2.0 * math.pi * v))
    return bowl + crate + math.sin(math.pi * u * v) ** 2


def clip(value: float) -> float:
    return min(HIGH, max(LOW, value))


# EVOLVE-BLOCK-START
def search(rng: random.Random) -> tuple[float, float]:
    """Random-walk search with restarts; returns the best point it saw."""
    iterations = 40
    step = 3.0
    restart_prob = 0.3
    cooling = 1.0
    current = (rng.uniform(LOW, HIGH), rng.uniform(LOW, HIGH))
    current_f = f(*current)
    best, best_f = current, current_f
    for _ in range(iterations):
        if rng.random() < restart_prob:
            trial = (rng.uniform(LOW, HIGH), rng.uniform(LOW, HIGH))
        else:
            trial = (
                clip(current[0] + rng.gauss(0.0, step)),
                clip(current[1] + rng.gauss(0.0, step)),
            )
        trial_f = f(*trial)
        if trial_f < current_f:
            current, current_f = trial, trial_f
        if trial_f < best_f:
            best, best_f = trial, trial_f
        step *= cooling
    return best


# EVOLVE-BLOCK-END


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    seed = parser.parse_args().seed
    print(json.dumps({"x": list(search(random.Random(seed)))}))
