"""evoforge's search policy: how parents are picked and how children are made.

A policy is a program that only *decides*. It gets a JSON request, one "lane"
per search (the pool of scored candidates, oldest first, with ``score`` where
higher is better; the per-operator stats of that search; how many children to
make; the kind of program, ``params``, ``instructions`` or ``code``; the makers
of children available there with their stats), and answers with, per lane, the
parent indices of each child, the operator weights, the mutation step size, the
maker of each child (the mutator from those parents, or Optuna's TPE or random
sampler over the declared parameters) and the makers' settings. The caller runs
and scores the children: a policy never sees a program, a task or a label, and
cannot score itself. Budgets (children per request, candidates per search) are
the caller's.

Only the evolve block changes when evoforge evolves this file (``evoforge meta``);
the frame below it is compared byte for byte with the shipped default before a
policy file is used. Run as a program: ``python policy.py --decide`` reads
``request.json`` and writes ``decisions.json`` in the current folder;
``python policy.py --check`` answers a made-up request and exits 0.
"""

from __future__ import annotations

import json
import random
import sys
from typing import Any

# EVOLVE-BLOCK-START
POPULATION = 23  # evolve: int[2, 200]
TOURNAMENT = 19  # evolve: int[1, 20]
GREEDY = 0.1741  # evolve: float[0.0, 1.0]
SIGMA = 1.717  # evolve: log[0.05, 4.0]
SIGMA_INSTRUCTIONS = 1.717  # evolve: log[0.05, 4.0]
W_STEP = 3.0  # evolve: float[0.0, 10.0]
W_RESAMPLE = 0.01047  # evolve: float[0.0, 10.0]
W_FLIP = 1.0  # evolve: float[0.0, 10.0]
W_CHOICE = 1.11  # evolve: float[0.0, 10.0]
W_LIST = 0.766  # evolve: float[0.0, 10.0]
W_MULTI = 5.709  # evolve: float[0.0, 10.0]
W_CROSSOVER = 1.204  # evolve: float[0.0, 10.0]
ADAPT = 0.4919  # evolve: float[0.0, 4.0]
M_MUTATE = 1.0  # evolve: float[0.0, 10.0]
M_TPE = 0.0  # evolve: float[0.0, 10.0]
M_RANDOM = 0.0  # evolve: float[0.0, 10.0]
MAKER_ADAPT = 1.0  # evolve: float[0.0, 4.0]
TPE_STARTUP = 10  # evolve: int[1, 64]
# EVOLVE-BLOCK-END

Record = dict[str, Any]


def select(pool: list[Record], rng: random.Random, n: int) -> list[int]:
    """Indices into ``pool`` of ``n`` parents: an aging tournament, sometimes the best."""
    window = list(range(max(0, len(pool) - POPULATION), len(pool)))
    best_ever = max(range(len(pool)), key=lambda i: (pool[i]["score"], -i))
    picked: list[int] = []
    for _ in range(n):
        if rng.random() < GREEDY:
            picked.append(best_ever)
            continue
        entrants = rng.sample(window, min(max(1, TOURNAMENT), len(window)))
        picked.append(max(entrants, key=lambda i: (pool[i]["score"], -i)))
    return picked


def operator_weights(stats: dict[str, Record]) -> dict[str, float]:
    """Each operator's weight: the prior above, times its success rate to the ADAPT power."""
    prior = {
        "step": W_STEP,
        "resample": W_RESAMPLE,
        "flip": W_FLIP,
        "choice": W_CHOICE,
        "list": W_LIST,
        "multi": W_MULTI,
        "crossover": W_CROSSOVER,
    }
    tries = sum(int(s.get("tries", 0)) for s in stats.values())
    wins = sum(int(s.get("wins", 0)) for s in stats.values())
    overall = (wins + 1.0) / (tries + 2.0)
    weights: dict[str, float] = {}
    for op, w in prior.items():
        s = stats.get(op, {})
        rate = (int(s.get("wins", 0)) + 1.0) / (int(s.get("tries", 0)) + 2.0)
        weights[op] = w * (rate / overall) ** ADAPT
    if sum(weights.values()) <= 0:
        weights = {"step": 1.0}
    return weights


def maker_weights(makers: list[str], stats: dict[str, Record]) -> dict[str, float]:
    """Each available maker's weight: its prior times its rate of beating the best,
    relative to all makers', to the MAKER_ADAPT power."""
    prior = {"mutate": M_MUTATE, "tpe": M_TPE, "random": M_RANDOM}
    tries = sum(int(s.get("tries", 0)) for s in stats.values())
    wins = sum(int(s.get("wins", 0)) for s in stats.values())
    overall = (wins + 1.0) / (tries + 2.0)
    weights: dict[str, float] = {}
    for m in makers:
        s = stats.get(m, {})
        rate = (int(s.get("wins", 0)) + 1.0) / (int(s.get("tries", 0)) + 2.0)
        weights[m] = prior.get(m, 0.0) * (rate / overall) ** MAKER_ADAPT
    if sum(weights.values()) <= 0:
        weights = {makers[0] if makers else "mutate": 1.0}
    return weights


def decide(request: Record) -> Record:
    """The answer to one request (see the module docstring)."""
    lanes = []
    for lane in request["lanes"]:
        rng = random.Random(lane["seed"])
        pool = lane["pool"]
        children = int(lane["children"])
        parents = [select(pool, rng, int(lane["arity"])) for _ in range(children)]
        sigma = SIGMA_INSTRUCTIONS if lane.get("kind") == "instructions" else SIGMA
        makers = maker_weights(list(lane.get("makers", ["mutate"])), lane.get("maker_stats", {}))
        names = list(makers)
        chosen = [rng.choices(names, weights=[makers[m] for m in names])[0] for _ in parents]
        answer: Record = {
            "parents": parents,
            "weights": operator_weights(lane["stats"]),
            "sigma": sigma,
            "makers": chosen,
        }
        if "tpe" in names:
            answer["settings"] = {"tpe": {"startup": TPE_STARTUP}}
        lanes.append(answer)
    return {"lanes": lanes}


def main(argv: list[str]) -> int:
    if "--check" in argv:
        pool = [{"id": i, "score": float(i % 3), "operator": "step"} for i in range(4)]
        lane = {
            "seed": 0,
            "children": 2,
            "arity": 2,
            "pool": pool,
            "stats": {},
            "kind": "params",
            "makers": ["mutate", "tpe", "random"],
            "maker_stats": {},
        }
        json.dumps(decide({"lanes": [lane]}))
        return 0
    if "--decide" in argv:
        with open("request.json", encoding="utf-8") as f:
            request = json.load(f)
        answer = json.dumps(decide(request))
        with open("decisions.json", "w", encoding="utf-8") as f:
            f.write(answer)
        return 0
    print("usage: policy.py --check | --decide", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
