"""How noisy is the meta-run's objective? The same policy scored on disjoint seed sets.

The objective of ``evoforge meta`` is a policy's sample efficiency on the training
split, from ``--seeds`` inner searches per task. This scores one policy (the
shipped default unless ``--policy``) on ``--repeats`` disjoint sets of seeds for
each seed count, and prints the standard deviation of the objective across sets:
the luck a meta-run's comparison of two policies has to see through. It also
prints the mean in-run standard error (``efficiency_se``, what each meta
candidate records), to check that estimate against the measured spread.

    .venv/bin/python bench/meta_noise.py --seeds 4,8 --repeats 8
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from evoforge.meta.harness import efficiency, efficiency_se, run_searches
from evoforge.meta.metatask import load_tables
from evoforge.meta.suite import build_tables, split
from evoforge.policy import InProcessPolicy, default_policy_source, load_policy_file


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--policy", type=Path)
    ap.add_argument("--tasks", default="train")
    ap.add_argument("--seeds", default="4,8")
    ap.add_argument("--repeats", type=int, default=8)
    ap.add_argument("--inner", type=int, default=48)
    ap.add_argument("--tables", type=Path, default=Path("/tmp/evoforge-bench-meta-train.json"))
    args = ap.parse_args()
    tasks = split(args.tasks)
    if not args.tables.is_file():
        args.tables.write_text(json.dumps(build_tables(tasks)))
    tables = load_tables(args.tables)
    source = default_policy_source() if args.policy is None else load_policy_file(args.policy)
    print(f"policy: {args.policy or 'shipped default'}; tasks: {args.tasks}; inner {args.inner}")
    print("| seeds per task | repeats | mean objective | sd across seed sets | mean in-run se |")
    print("| --- | --- | --- | --- | --- |")
    for n in (int(x) for x in args.seeds.split(",")):
        values, ses = [], []
        began = time.perf_counter()
        for r in range(args.repeats):
            seeds = [5000 + 100 * n * r + i for i in range(n)]  # disjoint from meta's and bench's
            results = run_searches(
                InProcessPolicy(source), tasks, tables, seeds=seeds, candidates=args.inner
            )
            values.append(efficiency(results))
            ses.append(efficiency_se(results))
        took = time.perf_counter() - began
        print(
            f"| {n} | {args.repeats} | {statistics.mean(values):.4f} | "
            f"{statistics.stdev(values):.4f} | {statistics.mean(ses):.4f} |  ({took:.0f} s)"
        )


if __name__ == "__main__":
    main()
