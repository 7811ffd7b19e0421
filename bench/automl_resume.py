"""A search resumed from an interrupted search's elites, against a fresh search.

For each seed: a demo search (``SearchConfig.demo``) is interrupted after
``--interrupt`` candidates; its elites start a second search (new random
streams), whose population fills with their mutants, as ``evoforge resume``
does. The fresh search uses the same streams without the elites. Both run to the
target (0.9999, confirmed on select tasks) or to ``--cap`` candidates.

    .venv/bin/python bench/automl_resume.py --seeds 3
"""

from __future__ import annotations

import argparse
import time

from evoforge.domains.automl.config import SearchConfig
from evoforge.domains.automl.search import run_search


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--interrupt", type=int, default=60_000)
    parser.add_argument("--cap", type=int, default=800_000)
    args = parser.parse_args()
    for seed in range(1, args.seeds + 1):
        first = run_search(SearchConfig.demo(seed=seed, max_candidates=args.interrupt))
        elites = tuple(p for p, _ in first.elites)
        for mode, start in (("fresh", ()), ("resumed", elites)):
            t = time.time()
            config = SearchConfig.demo(seed=seed + 100, max_candidates=args.cap, start=start)
            r = run_search(config)
            print(f"seed: {seed}  mode: {mode}  interrupted_best: {first.fitness:.3f}  "
                  f"end: {r.stop_reason}  candidates: {r.counts.candidates}  "
                  f"best: {r.fitness:.4f}  wall_s: {time.time() - t:.0f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
