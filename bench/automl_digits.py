"""Evolved learning algorithm on projected binary digits, against two baselines.

Searches ``SearchConfig.digits``: all 64 operations, programs grown from empty,
10 search tasks over 36 class pairs of scikit-learn's digits (random projection to
16 dimensions, 240 training / 100 validation examples, one pass of training).
The champion is then scored on 18 unseen tasks over the other 9 class pairs,
beside logistic regression and a small neural network trained on the very same
unseen tasks. The champion is emitted as a standalone module, which is run on
the saved unseen tasks to check it reproduces its score.

``--preset nonlinear`` runs the same comparison on regression tasks from random
ReLU teacher networks (``SearchConfig.nonlinear``), against least squares and the
same small network as a regressor; scores are then the interpreter's fitness,
``1 - (2/pi) * arctan(RMSE)``.

``--space demo`` searches the linear demo's space instead (6 operations, fixed
sizes 10/2/8, population 1000): small enough that logistic regression trained by
SGD is within reach (``learn`` sees ``s[1]`` as a probability, so the demo's
update ``w += lr * (label - s1) * x`` is the logistic-loss gradient step).

    .venv/bin/python bench/automl_digits.py --minutes 10
    .venv/bin/python bench/automl_digits.py --preset nonlinear --minutes 10
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from evoforge.domains.automl import (
    DEMO_MUTATIONS,
    SearchConfig,
    SearchSpace,
    baselines,
    make_tasks,
    render_module,
    run_search,
)
from evoforge.domains.automl.search import Progress


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--islands", type=int, default=1, help="> 1: one process each")
    parser.add_argument("--preset", choices=("digits", "nonlinear"), default="digits")
    parser.add_argument("--space", choices=("full", "demo"), default="full")
    parser.add_argument("--cpu", type=int, default=0, help="core to pin to (-1: no pinning)")
    parser.add_argument("--out", type=Path, default=None, help="write the champion module here")
    args = parser.parse_args()
    if args.cpu >= 0 and args.islands == 1:
        os.sched_setaffinity(0, {args.cpu})
    print(f"load_average: {os.getloadavg()[0]:.1f}")
    preset = SearchConfig.digits if args.preset == "digits" else SearchConfig.nonlinear
    config = preset(
        args.seed,
        max_seconds=args.minutes * 60,
        islands=args.islands,
        processes=args.islands > 1,
    )
    if args.space == "demo":
        config = replace(
            config, space=SearchSpace.demo(), mutations=DEMO_MUTATIONS, population=1000,
            refresh_tasks_every=None,
        )  # fmt: skip
    last = [0.0]

    def progress(p: Progress) -> None:
        if p.elapsed_s - last[0] >= 60:
            last[0] = p.elapsed_s
            print(f"elapsed_s: {p.elapsed_s:.0f}  candidates: {p.counts.candidates}  "
                  f"best: {p.best_fitness:.4f}", flush=True)  # fmt: skip

    start_cpu = time.process_time()
    result = run_search(config, on_progress=progress)
    c = result.counts
    print(f"candidates: {c.candidates}  evaluated: {c.evaluated}  cache_hits: {c.cache_hits}  "
          f"hurdle_stops: {c.hurdle_stops}  discarded: {c.discarded}  "
          f"wall_s: {result.elapsed_s:.0f}  driver_cpu_s: {time.process_time() - start_cpu:.0f}")  # fmt: skip
    assert config.unseen_tasks is not None
    unseen = make_tasks(config.unseen_tasks)
    search = make_tasks(config.search_tasks)
    word = "accuracy" if unseen.spec.classify else "fitness"
    print(f"champion_search_{word}: {result.fitness:.4f}")
    print(f"champion_unseen_{word}: {result.unseen_fitness:.4f}")
    for name, score in baselines(search).items():
        print(f"{name}_search_{word}: {score:.4f}")
    for name, score in baselines(unseen).items():
        print(f"{name}_unseen_{word}: {score:.4f}")

    source = render_module(
        result.best,
        memory=config.space.memory,
        n_features=unseen.n_features,
        notes={
            "task": f"{args.preset} ({unseen.n_features} features), {word}",
            "search_space": args.space,
            f"search_{word}": result.fitness,
            f"unseen_{word}": result.unseen_fitness,
            "candidates": c.candidates,
        },
    )
    with tempfile.TemporaryDirectory() as tmp:
        module, tasks = Path(tmp) / "champion.py", Path(tmp) / "unseen.npz"
        module.write_text(source)
        unseen.save(tasks)
        out = subprocess.run([sys.executable, str(module), str(tasks)], capture_output=True,
                             text=True, check=True)  # fmt: skip
    print(f"module_unseen_{out.stdout.strip()}")
    if args.out is not None:
        args.out.write_text(source)
    print(source.split("\n\n\ndef run_task")[0])


if __name__ == "__main__":
    main()
